import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attemptTimeoutMs, retryFits } from './deadline.ts';

const t = { connectMs: 100, perTryMs: 1000, requestMs: 2500 };

test('attempt timeout is the per-try timeout, cut short by the request deadline', () => {
  assert.equal(attemptTimeoutMs(t, 0), 1000);
  assert.equal(attemptTimeoutMs(t, 1500), 1000);
  assert.equal(attemptTimeoutMs(t, 2000), 500);
  assert.equal(attemptTimeoutMs(t, 2500), 0);
  assert.equal(attemptTimeoutMs(t, 9999), 0);
});

test('a retry fits only if its backoff leaves time for an attempt', () => {
  assert.equal(retryFits(t, 2000, 400), true);
  assert.equal(retryFits(t, 2000, 500), false);
  assert.equal(retryFits(t, 2000, 400, 200), false);
});
