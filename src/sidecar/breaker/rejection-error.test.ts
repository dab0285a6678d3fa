import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMeshError } from '../../shared/errors.ts';
import { faultAbortError } from '../fault/fault-error.ts';
import { rateLimitedError } from '../ratelimit/rate-limited-error.ts';
import { breakerRejectionError, retryAfterSeconds } from './rejection-error.ts';

test('Retry-After is whole seconds, rounded up, at least 1', () => {
  assert.deepEqual([0, 1, 999, 1000, 1001, 15_000].map(retryAfterSeconds), ['1', '1', '1', '1', '2', '15']);
});

test('rejections map to the catalogue codes and statuses', () => {
  const open = breakerRejectionError('svc', { kind: 'rejected', reason: 'open', retryAfterMs: 14_200 });
  assert.ok(isMeshError(open));
  assert.equal(open.code, 'CIRCUIT_OPEN');
  assert.equal(open.status, 503);
  assert.deepEqual(open.headers, { 'retry-after': '15' });
  const bulk = breakerRejectionError('svc', { kind: 'rejected', reason: 'bulkhead', retryAfterMs: 0 });
  assert.equal(bulk.code, 'BULKHEAD_FULL');
  assert.equal(bulk.status, 503);
  assert.equal(bulk.headers, undefined);
  const rl = rateLimitedError('svc', 300);
  assert.equal(rl.status, 429);
  assert.deepEqual(rl.headers, { 'retry-after': '1' });
  const fault = faultAbortError('svc', 418);
  assert.equal(fault.code, 'FAULT_INJECTED');
  assert.equal(fault.status, 418);
  assert.equal(fault.service, 'svc');
});
