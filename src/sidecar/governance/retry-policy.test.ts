import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RETRY_NEXT, RETRY_SAME, STOP } from '../retry/retry-policy.ts';
import { MAX_WAIT_MS, MarkerRetryPolicy, markerBackoff } from './retry-policy.ts';
import type { RetryMarkerPolicy } from './types.ts';

const policy = (over: Partial<RetryMarkerPolicy> = {}): RetryMarkerPolicy => ({
  name: 'm',
  maxAttempts: 3,
  retryOnSame: 0,
  retryOnResponseStatus: [502, 503],
  waitDurationMs: 1,
  retryStrategy: 'FixedInterval',
  initialIntervalMs: 1000,
  multiplier: 2,
  randomizationFactor: 0.5,
  ...over,
});

test('maxAttempts counts every try; statuses and proxy errors decide whether to retry', () => {
  const p = new MarkerRetryPolicy(policy());
  assert.equal(p.decide(1, 'POST', { status: 503 }), RETRY_NEXT, 'any method: the marker is the opt-in');
  assert.equal(p.decide(2, 'GET', { status: 502 }), RETRY_NEXT);
  assert.equal(p.decide(3, 'GET', { status: 502 }), STOP, 'three tries in all');
  assert.equal(p.decide(1, 'GET', { status: 500 }), STOP, '500 is not listed');
  assert.equal(p.decide(1, 'GET', { errorCode: 'UPSTREAM_TIMEOUT' }), RETRY_NEXT);
  assert.equal(p.decide(1, 'GET', { errorCode: 'UPSTREAM_CONNECT' }), RETRY_NEXT);
  assert.equal(p.decide(1, 'GET', { errorCode: 'UPSTREAM_RESET', afterFirstByte: true }), STOP);
  assert.equal(p.decide(1, 'GET', { errorCode: 'RATE_LIMITED' }), STOP);
  assert.equal(p.decide(1, 'GET', { status: 503 }, false), STOP, 'a body too big to replay');
  assert.equal(new MarkerRetryPolicy(policy({ maxAttempts: 1 })).decide(1, 'GET', { status: 503 }), STOP);
});

test('retryOnSame: the first retries stay on the endpoint, later ones move; connect failures always move', () => {
  const p = new MarkerRetryPolicy(policy({ maxAttempts: 5, retryOnSame: 2 }));
  assert.equal(p.decide(1, 'GET', { status: 503 }), RETRY_SAME);
  assert.equal(p.decide(2, 'GET', { status: 503 }), RETRY_SAME);
  assert.equal(p.decide(3, 'GET', { status: 503 }), RETRY_NEXT);
  assert.equal(p.decide(4, 'GET', { status: 503 }), RETRY_NEXT);
  assert.equal(p.decide(1, 'GET', { errorCode: 'UPSTREAM_CONNECT' }), RETRY_NEXT);
  assert.equal(p.nextAttemptNumber(3, RETRY_NEXT), 4);
});

test('backoff: FixedInterval, RandomBackoff (± randomizationFactor) and ExponentialBackoff, capped', () => {
  const fixed = markerBackoff(policy({ waitDurationMs: 250 }), () => 0.9);
  assert.deepEqual(
    [1, 2, 3].map((n) => fixed.delayMs(n)),
    [250, 250, 250],
  );
  const expo = markerBackoff(
    policy({ retryStrategy: 'ExponentialBackoff', initialIntervalMs: 100 }),
    () => 0,
  );
  assert.deepEqual(
    [1, 2, 3].map((n) => expo.delayMs(n)),
    [100, 200, 400],
  );
  const low = markerBackoff(policy({ retryStrategy: 'RandomBackoff', initialIntervalMs: 100 }), () => 0);
  const high = markerBackoff(policy({ retryStrategy: 'RandomBackoff', initialIntervalMs: 100 }), () => 1);
  assert.deepEqual(
    [1, 2, 3].map((n) => low.delayMs(n)),
    [50, 100, 200],
    '× (1 − 0.5)',
  );
  assert.deepEqual(
    [1, 2, 3].map((n) => high.delayMs(n)),
    [150, 300, 600],
    '× (1 + 0.5)',
  );
  const huge = markerBackoff(policy({ retryStrategy: 'ExponentialBackoff', multiplier: 100 }), () => 0);
  assert.equal(huge.delayMs(50), MAX_WAIT_MS);
});
