import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { DEFAULT_SERVICE_POLICY } from '../policy/defaults.ts';
import { BreakerSet } from './breaker-set.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import type { Admission, BreakerConfig, Permit } from './types.ts';

const BASE = DEFAULT_SERVICE_POLICY.breaker;

function make(over: Partial<BreakerConfig> = {}) {
  const clock = new ManualClock(1_000_000);
  const breaker = new CircuitBreaker('svc', { ...BASE, ...over }, { clock });
  return { clock, breaker };
}

function allowed(a: Admission): Permit {
  assert.equal(a.kind, 'allowed', `expected allowed, got ${JSON.stringify(a)}`);
  return a as Permit;
}

/** Run `n` calls that each finish immediately with `status`. */
function run(breaker: CircuitBreaker, n: number, status: number): void {
  for (let i = 0; i < n; i++) allowed(breaker.tryAcquire()).release({ status });
}

test('stays closed below the request volume threshold, even at 100% errors', () => {
  const { breaker } = make();
  run(breaker, 19, 500);
  assert.equal(breaker.state, 'closed');
  assert.equal(breaker.tryAcquire().kind, 'allowed');
});

test('opens at threshold volume and error percentage, rejects with Retry-After, then half-opens', () => {
  const { clock, breaker } = make();
  run(breaker, 10, 200);
  run(breaker, 9, 500);
  assert.equal(breaker.state, 'closed'); // 19 requests
  run(breaker, 1, 500); // 20 requests, 50% errors
  assert.equal(breaker.state, 'open');
  const r = breaker.tryAcquire();
  assert.deepEqual(r, { kind: 'rejected', reason: 'open', retryAfterMs: 15_000 });
  clock.advance(10_000);
  assert.deepEqual(breaker.tryAcquire(), { kind: 'rejected', reason: 'open', retryAfterMs: 5_000 });
  clock.advance(5_000);
  const trial = allowed(breaker.tryAcquire());
  assert.equal(trial.trial, true);
  assert.equal(breaker.state, 'halfOpen');
  // exactly one trial at a time
  const second = breaker.tryAcquire();
  assert.equal(second.kind, 'rejected');
  trial.release({ status: 204 });
  assert.equal(breaker.state, 'closed');
  const c = breaker.counters();
  assert.equal(c.windowRequests, 0, 'closing resets statistics');
  assert.equal(c.shortCircuits, 3);
  assert.equal(c.stateChanges, 3); // closed→open→halfOpen→closed
  assert.equal(allowed(breaker.tryAcquire()).trial, false);
});

test('errors below the percentage keep it closed', () => {
  const { breaker } = make();
  run(breaker, 60, 200);
  run(breaker, 39, 503); // 39/99 = 39%
  assert.equal(breaker.state, 'closed');
});

test('a failed trial re-opens for a fresh sleep window', () => {
  const { clock, breaker } = make({ requestVolumeThreshold: 1, sleepWindowMs: 1000 });
  run(breaker, 1, 500);
  assert.equal(breaker.state, 'open');
  clock.advance(1000);
  allowed(breaker.tryAcquire()).release({ errorCode: 'UPSTREAM_TIMEOUT' });
  assert.equal(breaker.state, 'open');
  clock.advance(999);
  assert.equal(breaker.tryAcquire().kind, 'rejected');
  clock.advance(1);
  assert.equal(allowed(breaker.tryAcquire()).trial, true);
});

test('old statistics roll out of the window', () => {
  const { clock, breaker } = make({ requestVolumeThreshold: 10 });
  run(breaker, 9, 500);
  clock.advance(10_000);
  run(breaker, 1, 500);
  assert.equal(breaker.state, 'closed');
});

test('a trial that never reports is presumed lost after a sleep window; its late report is ignored', () => {
  const { clock, breaker } = make({ requestVolumeThreshold: 1, sleepWindowMs: 1000 });
  run(breaker, 1, 500);
  clock.advance(1000);
  const lost = allowed(breaker.tryAcquire());
  assert.equal(breaker.tryAcquire().kind, 'rejected');
  clock.advance(1000);
  const fresh = allowed(breaker.tryAcquire());
  assert.equal(fresh.trial, true);
  lost.release({ status: 200 }); // stale: must not close the circuit
  assert.equal(breaker.state, 'halfOpen');
  fresh.release({ status: 500 });
  assert.equal(breaker.state, 'open');
});

test("an 'ignored' trial frees the slot without a verdict", () => {
  const { clock, breaker } = make({ requestVolumeThreshold: 1, sleepWindowMs: 1000 });
  run(breaker, 1, 500);
  clock.advance(1000);
  allowed(breaker.tryAcquire()).release('ignored');
  assert.equal(breaker.state, 'halfOpen');
  const next = allowed(breaker.tryAcquire());
  assert.equal(next.trial, true);
  next.release('success');
  assert.equal(breaker.state, 'closed');
  assert.equal(breaker.counters().ignored, 1);
});

test('release is idempotent', () => {
  const { breaker } = make();
  const p = allowed(breaker.tryAcquire());
  p.release({ status: 500 });
  p.release({ status: 500 });
  const c = breaker.counters();
  assert.equal(c.failures, 1);
  assert.equal(c.inFlight, 0);
});

test('forceOpen rejects everything; forceClosed never opens', () => {
  const open = make({ forceOpen: true }).breaker;
  assert.deepEqual(open.tryAcquire(), { kind: 'rejected', reason: 'open', retryAfterMs: 15_000 });
  assert.equal(open.state, 'open');
  const closed = make({ forceClosed: true, requestVolumeThreshold: 1 }).breaker;
  run(closed, 50, 500);
  assert.equal(closed.state, 'closed');
  assert.equal(closed.tryAcquire().kind, 'allowed');
  assert.throws(() => make({ forceOpen: true, forceClosed: true }), /mutually exclusive/);
});

test('bulkhead: rejects beyond maxConcurrentRequests, frees slots on release, counts as errors', () => {
  const { breaker } = make({ maxConcurrentRequests: 2, requestVolumeThreshold: 1000 });
  const a = allowed(breaker.tryAcquire());
  const b = allowed(breaker.tryAcquire());
  const r = breaker.tryAcquire();
  assert.deepEqual(r, { kind: 'rejected', reason: 'bulkhead', retryAfterMs: 0 });
  a.release({ status: 200 });
  const c = allowed(breaker.tryAcquire());
  b.release('success');
  c.release('success');
  const k = breaker.counters();
  assert.equal(k.rejections, 1);
  assert.equal(k.windowErrors, 1, 'a bulkhead rejection is an error in the window (Hystrix)');
  assert.equal(k.inFlight, 0);
});

test('disabled breaker: no circuit, but the bulkhead still applies', () => {
  const { breaker } = make({ enabled: false, maxConcurrentRequests: 1, requestVolumeThreshold: 1 });
  run(breaker, 100, 500);
  assert.equal(breaker.state, 'closed');
  const p = allowed(breaker.tryAcquire());
  assert.equal(breaker.tryAcquire().kind, 'rejected');
  p.release('failure');
  assert.equal(breaker.counters().failures, 101);
});

test('shadow mode: counts what it would reject, lets everything through', () => {
  const { clock, breaker } = make({ enforced: false, requestVolumeThreshold: 1, maxConcurrentRequests: 1 });
  run(breaker, 1, 500);
  assert.equal(breaker.state, 'open');
  const p = allowed(breaker.tryAcquire());
  assert.equal(p.shadowed, true);
  const q = allowed(breaker.tryAcquire()); // open AND bulkhead full: still allowed
  assert.equal(q.shadowed, true);
  p.release({ status: 200 });
  q.release({ status: 200 });
  assert.equal(breaker.state, 'open', 'non-trial results do not close the circuit');
  clock.advance(15_000);
  const trial = allowed(breaker.tryAcquire());
  assert.equal(trial.trial, true);
  assert.equal(trial.shadowed, false);
  trial.release({ status: 200 });
  assert.equal(breaker.state, 'closed');
  const c = breaker.counters();
  assert.equal(c.shadowRejections, 2);
  assert.equal(c.shortCircuits, 0);
  assert.equal(c.rejections, 0);
});

test('onTransition sees every state change', () => {
  const { clock, breaker } = make({ requestVolumeThreshold: 1, sleepWindowMs: 10 });
  const seen: string[] = [];
  breaker.onTransition = (from, to) => seen.push(`${from}->${to}`);
  run(breaker, 1, 500);
  clock.advance(10);
  allowed(breaker.tryAcquire()).release('success');
  assert.deepEqual(seen, ['closed->open', 'open->halfOpen', 'halfOpen->closed']);
  breaker.onTransition = () => {
    throw new Error('observer bug');
  };
  allowed(breaker.tryAcquire()).release('failure');
  assert.equal(breaker.state, 'open', 'a throwing observer does not break the gate');
});

test('config validation names the field', () => {
  assert.throws(() => make({ errorThresholdPercentage: 101 }), /errorThresholdPercentage/);
  assert.throws(() => make({ sleepWindowMs: 0 }), /sleepWindowMs/);
  assert.throws(() => make({ rollingWindowMs: 1000, rollingBuckets: 3 }), /multiple/);
});

test('BreakerSet: same config keeps the circuit, a changed config flushes it, size is bounded', () => {
  const clock = new ManualClock(0);
  const set = new BreakerSet({ clock, maxBreakers: 2 });
  const cfg: BreakerConfig = { ...BASE, requestVolumeThreshold: 1 };
  const a = set.get('a', cfg);
  run(a, 1, 500);
  assert.equal(set.get('a', cfg), a);
  assert.equal(set.get('a', cfg).state, 'open');
  assert.equal(set.get('a', { ...cfg }), a, 'an equal config from a reload keeps the circuit');
  const a2 = set.get('a', { ...cfg, sleepWindowMs: 1234 });
  assert.notEqual(a2, a);
  assert.equal(a2.state, 'closed');
  set.get('b', cfg);
  set.get('c', cfg);
  assert.equal(set.size, 2);
  assert.equal(set.peek('a'), undefined, 'least recently used idle breaker evicted');
  assert.deepEqual(Object.keys(set.snapshot()).sort(), ['b', 'c']);
});

test('hot path: 1e6 acquire/release pairs stay fast', () => {
  const { breaker } = make();
  const t0 = performance.now();
  for (let i = 0; i < 1_000_000; i++) {
    const a = breaker.tryAcquire();
    if (a.kind === 'allowed') a.release(i % 10 === 0 ? { status: 503 } : { status: 200 });
  }
  const perCallNs = ((performance.now() - t0) * 1e6) / 1_000_000;
  assert.equal(breaker.state, 'closed');
  assert.ok(perCallNs < 2_000, `per call ${perCallNs.toFixed(0)} ns`);
});
