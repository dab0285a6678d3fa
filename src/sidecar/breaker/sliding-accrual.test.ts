import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { ALLOW, REJECT, TRIAL } from './accrual.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { DEFAULT_FAILURE_ERROR_CODES } from './classifier.ts';
import { SlidingAccrual, type SlidingAccrualSpec } from './sliding-accrual.ts';
import type { BreakerConfig } from './types.ts';

const spec = (over: Partial<SlidingAccrualSpec> = {}): SlidingAccrualSpec => ({
  failureRateThreshold: 50,
  slowCallRateThreshold: 100,
  slowCallDurationThresholdMs: 1000,
  minimumNumberOfCalls: 4,
  slidingWindowType: 'count',
  slidingWindowSize: 4,
  waitDurationInOpenStateMs: 5000,
  permittedNumberOfCallsInHalfOpenState: 2,
  forceOpen: false,
  forceClosed: false,
  ...over,
});

test('count window: opens when the failure rate reaches the threshold over minimumNumberOfCalls', () => {
  const a = new SlidingAccrual(new ManualClock(0), spec());
  a.record('failure', 0);
  a.record('failure', 0);
  a.record('failure', 0);
  assert.equal(a.state, 'closed', 'three calls are fewer than minimumNumberOfCalls');
  a.record('success', 0);
  assert.equal(a.state, 'open', '3 of 4 failed: 75% ≥ 50%');
  assert.equal(a.check(), REJECT);
});

test('count window: old outcomes slide out', () => {
  const a = new SlidingAccrual(new ManualClock(0), spec({ failureRateThreshold: 75 }));
  for (const v of ['failure', 'failure', 'success', 'success'] as const) a.record(v, 0);
  assert.equal(a.state, 'closed', '50% < 75%');
  a.record('success', 0);
  a.record('failure', 0); // the window is now the last four: s, s, s, f
  assert.equal(a.windowRequests, 4);
  assert.equal(a.windowErrors, 1, 'the two oldest failures left the window');
  assert.equal(a.state, 'closed');
});

test('slow calls open the circuit at slowCallRateThreshold', () => {
  const a = new SlidingAccrual(new ManualClock(0), spec({ slowCallRateThreshold: 50 }));
  a.record('success', 0, 999);
  a.record('success', 0, 1000);
  a.record('success', 0, 10);
  assert.equal(a.state, 'closed');
  a.record('success', 0, 4000);
  assert.equal(a.state, 'open', '2 of 4 calls took ≥ 1000 ms');
});

test('time window: only calls of the last slidingWindowSize seconds count', () => {
  const clock = new ManualClock(0);
  const a = new SlidingAccrual(
    clock,
    spec({ slidingWindowType: 'time', slidingWindowSize: 10, minimumNumberOfCalls: 3 }),
  );
  a.record('failure', 0);
  a.record('failure', 0);
  clock.advance(11_000);
  a.record('failure', 0);
  assert.equal(a.windowRequests, 1);
  assert.equal(a.state, 'closed', 'the first two failures are out of the window');
  a.record('success', 0);
  a.record('failure', 0);
  assert.equal(a.state, 'open', '2 of 3 in the window');
});

test('open → half-open after the wait; N trials decide closed or open again', () => {
  const clock = new ManualClock(0);
  const a = new SlidingAccrual(clock, spec());
  for (let i = 0; i < 4; i++) a.record('failure', 0);
  assert.equal(a.state, 'open');
  clock.advance(4999);
  assert.equal(a.check(), REJECT);
  assert.equal(a.retryAfterMs(), 1);
  clock.advance(1);
  assert.equal(a.check(), TRIAL);
  assert.equal(a.state, 'halfOpen');
  const g1 = a.startTrial();
  assert.equal(a.check(), TRIAL, 'two permitted trials');
  const g2 = a.startTrial();
  assert.equal(a.check(), REJECT, 'a third waits for the verdict');
  a.record('failure', g1);
  assert.equal(a.state, 'halfOpen', 'the verdict waits for every trial');
  a.record('success', g2);
  assert.equal(a.state, 'open', '1 of 2 trials failed: 50% ≥ 50%');
  clock.advance(5000);
  assert.equal(a.check(), TRIAL);
  a.record('success', a.startTrial());
  a.record('success', a.startTrial());
  assert.equal(a.state, 'closed');
  assert.equal(a.windowRequests, 0, 'closing resets the window');
  assert.equal(a.stateChanges, 5);
});

test('lost trial permits are given back after a whole wait; stale reports are ignored', () => {
  const clock = new ManualClock(0);
  const a = new SlidingAccrual(clock, spec({ permittedNumberOfCallsInHalfOpenState: 1 }));
  for (let i = 0; i < 4; i++) a.record('failure', 0);
  clock.advance(5000);
  assert.equal(a.check(), TRIAL);
  const lost = a.startTrial();
  assert.equal(a.check(), REJECT);
  clock.advance(5000);
  assert.equal(a.check(), TRIAL, 'presumed lost');
  const g = a.startTrial();
  a.record('failure', lost);
  assert.equal(a.state, 'halfOpen', 'the lost trial reports too late');
  a.record('success', g);
  assert.equal(a.state, 'closed');
});

test('an abandoned trial frees its slot', () => {
  const clock = new ManualClock(0);
  const a = new SlidingAccrual(clock, spec({ permittedNumberOfCallsInHalfOpenState: 1 }));
  for (let i = 0; i < 4; i++) a.record('failure', 0);
  clock.advance(5000);
  a.check();
  a.abandonTrial(a.startTrial());
  assert.equal(a.check(), TRIAL);
});

test('forceOpen rejects and forceClosed admits whatever happens', () => {
  const open = new SlidingAccrual(new ManualClock(0), spec({ forceOpen: true }));
  assert.equal(open.state, 'open');
  assert.equal(open.check(), REJECT);
  const closed = new SlidingAccrual(new ManualClock(0), spec({ forceClosed: true }));
  for (let i = 0; i < 10; i++) closed.record('failure', 0);
  assert.equal(closed.check(), ALLOW);
  assert.equal(closed.state, 'closed');
  assert.throws(() => new SlidingAccrual(new ManualClock(0), spec({ forceOpen: true, forceClosed: true })));
});

test('through the existing gate: recordFailureStatus classifies, durations reach the accrual', () => {
  const clock = new ManualClock(0);
  const config: BreakerConfig = {
    enabled: true,
    enforced: true,
    forceOpen: false,
    forceClosed: false,
    requestVolumeThreshold: 2,
    errorThresholdPercentage: 50,
    sleepWindowMs: 5000,
    rollingWindowMs: 1000,
    rollingBuckets: 1,
    maxConcurrentRequests: 2 ** 31 - 1,
    classifier: { failureStatuses: [502], failureErrorCodes: DEFAULT_FAILURE_ERROR_CODES },
  };
  const b = new CircuitBreaker('m/svc', config, {
    clock,
    accrual: (c) => new SlidingAccrual(c, spec({ minimumNumberOfCalls: 2, slidingWindowSize: 2 })),
  });
  const a1 = b.tryAcquire();
  assert.equal(a1.kind, 'allowed');
  if (a1.kind === 'allowed') a1.release({ status: 500, durationMs: 5 });
  assert.equal(b.state, 'closed');
  const a2 = b.tryAcquire();
  if (a2.kind === 'allowed') a2.release({ status: 500, durationMs: 5 });
  assert.equal(b.state, 'closed', '500 is not in recordFailureStatus');
  const a3 = b.tryAcquire();
  if (a3.kind === 'allowed') a3.release({ status: 502 });
  assert.equal(b.state, 'open', '1 of the last 2 calls answered 502');
  const r = b.tryAcquire();
  assert.equal(r.kind, 'rejected');
  assert.equal(r.kind === 'rejected' && r.reason, 'open');
  assert.equal(b.counters().shortCircuits, 1);
});
