import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SERVICE_POLICY } from '../policy/defaults.ts';
import { isIdempotent, RETRY_NEXT, RETRY_SAME, RetryPolicy, STOP } from './retry-policy.ts';
import type { RetryConfig } from './types.ts';

const BASE = DEFAULT_SERVICE_POLICY.retry;
const policy = (over: Partial<RetryConfig> = {}) => new RetryPolicy({ ...BASE, ...over });

test('maxAttempts = (retryOnSame + 1) × (retryOnNext + 1); disabled = 1', () => {
  assert.equal(policy({ retryOnSame: 0, retryOnNext: 0 }).maxAttempts, 1);
  assert.equal(policy({ retryOnSame: 1, retryOnNext: 2 }).maxAttempts, 6);
  assert.equal(policy({ retryOnSame: 2, retryOnNext: 0 }).maxAttempts, 3);
  assert.equal(policy().maxAttempts, 3, 'default: 3 attempts on 3 endpoints');
  assert.equal(policy({ enabled: false, retryOnSame: 3, retryOnNext: 3 }).maxAttempts, 1);
});

test('decision table', () => {
  const p = policy({ retryOnSame: 1, retryOnNext: 1 }); // attempts: 1,2 on A; 3,4 on B
  const rows: Array<[number, string, Parameters<RetryPolicy['decide']>[2], string]> = [
    [1, 'GET', { status: 503 }, RETRY_SAME],
    [2, 'GET', { status: 503 }, RETRY_NEXT],
    [3, 'GET', { status: 503 }, RETRY_SAME],
    [4, 'GET', { status: 503 }, STOP], // out of attempts
    [1, 'GET', { status: 200 }, STOP],
    [1, 'GET', { status: 404 }, STOP],
    [1, 'GET', { status: 501 }, STOP], // not in the default list
    [1, 'POST', { status: 503 }, STOP], // not idempotent
    [1, 'PATCH', { errorCode: 'UPSTREAM_TIMEOUT' }, STOP],
    [1, 'PUT', { errorCode: 'UPSTREAM_TIMEOUT' }, RETRY_SAME],
    // connect failures and early resets: any method, straight to the next endpoint
    [1, 'POST', { errorCode: 'UPSTREAM_CONNECT' }, RETRY_NEXT],
    [1, 'POST', { errorCode: 'UPSTREAM_RESET' }, RETRY_NEXT],
    [1, 'POST', { errorCode: 'UPSTREAM_RESET', afterFirstByte: true }, STOP],
    [1, 'GET', { errorCode: 'UPSTREAM_RESET', afterFirstByte: true }, STOP],
    [3, 'POST', { errorCode: 'UPSTREAM_CONNECT' }, RETRY_SAME], // last endpoint: retry there
    [1, 'GET', { errorCode: 'CIRCUIT_OPEN' }, STOP],
    [1, 'GET', { errorCode: 'UPSTREAM_PROTOCOL' }, STOP],
  ];
  for (const [attempt, method, result, expected] of rows) {
    assert.equal(
      p.decide(attempt, method, result),
      expected,
      `${attempt} ${method} ${JSON.stringify(result)}`,
    );
  }
});

test('a body that could not be buffered for replay is never retried', () => {
  assert.equal(policy().decide(1, 'GET', { errorCode: 'UPSTREAM_CONNECT' }, false), STOP);
});

test('retryNonIdempotent and custom statuses', () => {
  const p = policy({ retryNonIdempotent: true, retryOnStatuses: [429] });
  assert.equal(p.decide(1, 'POST', { status: 429 }), RETRY_NEXT);
  assert.equal(p.decide(1, 'POST', { status: 503 }), STOP);
});

test('nextAttemptNumber skips the remaining same-endpoint attempts on RETRY_NEXT', () => {
  const p = policy({ retryOnSame: 2, retryOnNext: 1 }); // 1-3 on A, 4-6 on B
  assert.equal(p.nextAttemptNumber(1, RETRY_SAME), 2);
  assert.equal(p.nextAttemptNumber(1, RETRY_NEXT), 4);
  assert.equal(p.nextAttemptNumber(3, RETRY_NEXT), 4);
  // walking a connect-failure storm never exceeds maxAttempts
  let attempt = 1;
  let tries = 1;
  for (;;) {
    const d = p.decide(attempt, 'POST', { errorCode: 'UPSTREAM_CONNECT' });
    if (d === STOP) break;
    attempt = p.nextAttemptNumber(attempt, d);
    tries++;
  }
  assert.ok(tries <= p.maxAttempts);
  assert.equal(tries, 4); // A once, then B three times
});

test('idempotent methods', () => {
  for (const m of ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']) assert.ok(isIdempotent(m), m);
  for (const m of ['POST', 'PATCH', 'CONNECT', 'get']) assert.ok(!isIdempotent(m), m);
});

test('config validation', () => {
  assert.throws(() => policy({ retryOnSame: -1 }), /retryOnSame/);
  assert.throws(() => policy({ retryOnStatuses: [99] }), /99/);
});
