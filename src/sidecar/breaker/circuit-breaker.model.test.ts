/**
 * Model-based test of the gate: random sequences of acquire / release / time steps, checked
 * against invariants that must hold whatever the order (fast-check shrinks any failure).
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { test } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../shared/clock.ts';
import { DEFAULT_SERVICE_POLICY } from '../policy/defaults.ts';
import { BREAKER_STATE_CHANNEL, CircuitBreaker } from './circuit-breaker.ts';
import type { Permit } from './types.ts';

type Op =
  | { op: 'acquire' }
  | { op: 'release'; index: number; outcome: 'success' | 'failure' | 'ignored' }
  | { op: 'tick'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Op>({ op: 'acquire' }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('release' as const),
      index: fc.nat(),
      outcome: fc.constantFrom('success' as const, 'failure' as const, 'ignored' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 3000 }) }),
  },
);

test('property: one trial at a time, inFlight exact, bulkhead bound, counters add up', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 300 }), fc.boolean(), (ops, enforced) => {
      const clock = new ManualClock(0);
      const b = new CircuitBreaker(
        'svc',
        {
          ...DEFAULT_SERVICE_POLICY.breaker,
          enforced,
          requestVolumeThreshold: 4,
          sleepWindowMs: 1000,
          maxConcurrentRequests: 5,
        },
        { clock },
      );
      const open: Permit[] = [];
      const acquiredAt = new Map<Permit, number>();
      let acquires = 0;
      let rejected = 0;
      for (const o of ops) {
        if (o.op === 'acquire') {
          acquires++;
          const a = b.tryAcquire();
          if (a.kind === 'allowed') {
            open.push(a);
            acquiredAt.set(a, clock.now());
          } else {
            rejected++;
            assert.ok(enforced, 'shadow mode never rejects');
            assert.ok(a.retryAfterMs >= 0);
            if (a.reason === 'open') assert.ok(a.retryAfterMs >= 1);
          }
        } else if (o.op === 'release') {
          if (open.length === 0) continue;
          const [p] = open.splice(o.index % open.length, 1);
          p!.release(o.outcome);
        } else clock.advance(o.ms);
        const c = b.counters();
        assert.equal(c.inFlight, open.length);
        if (enforced) assert.ok(c.inFlight <= 5, 'bulkhead bound');
        // one trial at a time: older trials only linger once presumed lost (a sleep window old)
        const freshTrials = open.filter((p) => p.trial && clock.now() - acquiredAt.get(p)! < 1000).length;
        assert.ok(freshTrials <= 1, `fresh trials ${freshTrials}`);
        assert.equal(c.attempts, acquires);
        assert.equal(c.rejections + c.shortCircuits, rejected);
      }
      for (const p of open) p.release('success');
      assert.equal(b.counters().inFlight, 0);
    }),
    { numRuns: 300, endOnFailure: true },
  );
});

test('property: without time passing, a half-open circuit never has two trials', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom('acquire', 'fail', 'ok'), { maxLength: 200 }), (ops) => {
      const clock = new ManualClock(0);
      const b = new CircuitBreaker(
        'svc',
        { ...DEFAULT_SERVICE_POLICY.breaker, requestVolumeThreshold: 1, sleepWindowMs: 1000 },
        { clock },
      );
      allowedOrThrow(b).release('failure'); // open
      clock.advance(1000);
      const live: Permit[] = [];
      for (const o of ops) {
        if (o === 'acquire') {
          const a = b.tryAcquire();
          if (a.kind === 'allowed') live.push(a);
        } else if (live.length > 0) live.shift()!.release(o === 'ok' ? 'success' : 'failure');
        assert.ok(live.filter((p) => p.trial).length <= 1);
      }
    }),
    { endOnFailure: true },
  );
});

function allowedOrThrow(b: CircuitBreaker): Permit {
  const a = b.tryAcquire();
  if (a.kind !== 'allowed') throw new Error('expected allowed');
  return a;
}

test('the volume threshold reached by a success still opens the circuit at the error threshold', () => {
  const clock = new ManualClock(0);
  const b = new CircuitBreaker('svc', DEFAULT_SERVICE_POLICY.breaker, { clock });
  for (let i = 0; i < 10; i++) allowedOrThrow(b).release('failure');
  for (let i = 0; i < 9; i++) allowedOrThrow(b).release('success');
  assert.equal(b.state, 'closed');
  allowedOrThrow(b).release('success'); // 20 calls, 50% errors
  assert.equal(b.state, 'open');
});

test('a 0% threshold still needs an error', () => {
  const clock = new ManualClock(0);
  const b = new CircuitBreaker(
    'svc',
    { ...DEFAULT_SERVICE_POLICY.breaker, errorThresholdPercentage: 0, requestVolumeThreshold: 2 },
    { clock },
  );
  for (let i = 0; i < 10; i++) allowedOrThrow(b).release('success');
  assert.equal(b.state, 'closed');
  allowedOrThrow(b).release('failure');
  assert.equal(b.state, 'open');
});

test('state changes are published on diagnostics_channel', () => {
  const seen: unknown[] = [];
  const onMessage = (m: unknown) => seen.push(m);
  subscribe(BREAKER_STATE_CHANNEL, onMessage);
  try {
    const b = new CircuitBreaker(
      'server2',
      { ...DEFAULT_SERVICE_POLICY.breaker, requestVolumeThreshold: 1 },
      { clock: new ManualClock(0) },
    );
    allowedOrThrow(b).release({ status: 502 });
  } finally {
    unsubscribe(BREAKER_STATE_CHANNEL, onMessage);
  }
  assert.deepEqual(seen, [{ service: 'server2', from: 'closed', to: 'open' }]);
});
