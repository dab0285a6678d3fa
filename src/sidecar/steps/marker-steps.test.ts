/**
 * The marker retry / circuitBreaker / bulkhead steps as createGovernance assembles them, in front
 * of the per-service circuit-breaker and retry steps (the outbound chain of src/sidecar/resilience.ts),
 * with ManualClock time and the fake load-balance + transport of test/support/fake-call.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, fakeUpstream, flush, outcome, policies } from '../../../test/support/fake-call.ts';
import { ManualClock } from '../../shared/clock.ts';
import { isMeshError } from '../../shared/errors.ts';
import { CircuitBreaker } from '../breaker/circuit-breaker.ts';
import type { BreakerConfig } from '../breaker/types.ts';
import type { Next, Outcome, Step } from '../chain/types.ts';
import type { SidecarConfig } from '../config/types.ts';
import { createGovernance } from '../governance/index.ts';
import { PerService } from '../policy/index.ts';
import { RetryBudget } from '../retry/retry-budget.ts';
import type { RetryBudgetConfig } from '../retry/types.ts';
import { createCircuitBreaker } from './circuit-breaker.ts';
import { createRetry } from './retry.ts';

const silent = { warn() {}, error() {} } as never;
const cfg = (flat: Record<string, unknown>) =>
  ({ flat, service: { name: 'me', version: '1.0.0' } }) as unknown as SidecarConfig;
const pay = { 'servicecomb.matchGroup.pay': 'matches: [{serviceName: svc, apiPath: {prefix: /pay}}]' };

/** marker step → per-service breaker → per-service retry → next, as resilience.ts orders them. */
function chain(marker: Step, perService: Step[], next: Next): (path: string) => Promise<Outcome> {
  const run = (k: number, call: Parameters<Next>[0]): Promise<Outcome> =>
    k === perService.length ? next(call) : perService[k]!(call, (c) => run(k + 1, c));
  return (path) => marker(fakeCall({ path }), (c) => run(0, c));
}

function perServiceSteps(clock: ManualClock, flat: Record<string, unknown> = {}) {
  const p = policies(flat);
  const breakers = new PerService<BreakerConfig, CircuitBreaker>(
    (s, c) => new CircuitBreaker(s, c, { clock }),
  );
  const budgets = new PerService<RetryBudgetConfig, RetryBudget>((_s, c) => new RetryBudget(c, { clock }));
  return {
    breakers,
    steps: [
      createCircuitBreaker({ policies: p, breakers }),
      createRetry({ policies: p, budgets, clock, random: () => 0 }),
    ],
  };
}

test('retry: maxAttempts and retryOnResponseStatus of the marker, not the per-service retry', async () => {
  const clock = new ManualClock(0);
  const g = createGovernance({ clock, log: silent, random: () => 0 });
  const s = g.steps(
    cfg({ ...pay, 'servicecomb.retry.pay': 'maxAttempts: 4\nretryOnResponseStatus: [500]\nwaitDuration: 0' }),
  );
  assert.ok(s.outbound);
  const up = fakeUpstream(['a', 'b', 'c', 'd', 'e'], () => 500);
  // Per-service: 2 more tries on 500 too; the marker must replace it, not multiply it.
  const per = perServiceSteps(clock, {
    'cse.loadbalance.retryOnNext': 2,
    'servicecomb.retry.svc.onStatuses': '500',
  });
  const call = chain(s.outbound, per.steps, up.next);
  assert.equal((await call('/pay')).status, 500);
  assert.equal(up.attempts.length, 4, 'four tries in all');
  assert.equal(new Set(up.attempts.map((a) => a.key)).size, 4, 'each on another endpoint');
  up.attempts.length = 0;
  assert.equal((await call('/other')).status, 500);
  assert.equal(up.attempts.length, 3, 'no marker matches /other: the per-service retry applies');
  assert.equal(g.snapshot().retry.pay?.calls, 1);
});

test('retry: retryOnSame pins the endpoint, FixedInterval waits on the clock', async () => {
  const clock = new ManualClock(0);
  const g = createGovernance({ clock, log: silent });
  const s = g.steps(
    cfg({ ...pay, 'servicecomb.retry.pay': 'maxAttempts: 3\nretryOnSame: 1\nwaitDuration: 200' }),
  );
  const up = fakeUpstream(['a', 'b'], (_k, n) => (n < 3 ? 503 : 200));
  const pending = s.outbound!(fakeCall({ path: '/pay' }), up.next);
  await flush();
  assert.equal(up.attempts.length, 1);
  clock.advance(199);
  await flush();
  assert.equal(up.attempts.length, 1, 'still waiting the 200 ms');
  clock.advance(1);
  await flush();
  assert.equal(up.attempts.length, 2);
  clock.advance(200);
  assert.equal((await pending).status, 200);
  assert.deepEqual(
    up.attempts.map((a) => a.key),
    ['a', 'a', 'b'],
  );
});

test('circuitBreaker: opens per (marker, service), answers 503 CIRCUIT_OPEN, and the per-service breaker steps aside', async () => {
  const clock = new ManualClock(0);
  const g = createGovernance({ clock, log: silent });
  const s = g.steps(
    cfg({
      ...pay,
      'servicecomb.circuitBreaker.pay':
        'minimumNumberOfCalls: 2\nslidingWindowSize: 2\nfailureRateThreshold: 50\nwaitDurationInOpenState: 10000\npermittedNumberOfCallsInHalfOpenState: 1',
    }),
  );
  let status = 503;
  const up = fakeUpstream(['a'], () => status);
  // A per-service breaker that would open after one failure: it must not see marker calls.
  const per = perServiceSteps(clock, {
    'cse.circuitBreaker.Consumer.svc.requestVolumeThreshold': 1,
    'cse.circuitBreaker.Consumer.svc.errorThresholdPercentage': 1,
  });
  const call = chain(s.outbound!, per.steps.slice(0, 1), up.next);
  assert.equal((await call('/pay')).status, 503);
  assert.equal((await call('/pay')).status, 503);
  await assert.rejects(
    call('/pay'),
    (e) =>
      isMeshError(e) && e.code === 'CIRCUIT_OPEN' && e.status === 503 && e.headers?.['retry-after'] === '10',
  );
  assert.equal(up.attempts.length, 2, 'the open circuit kept the third call from upstream');
  assert.equal(per.breakers.peek('svc'), undefined, 'the per-service breaker never saw a marker call');
  const snap = g.snapshot().circuitBreaker.pay?.svc;
  assert.equal(snap?.state, 'open');
  assert.equal(snap?.shortCircuits, 1);

  clock.advance(10_000);
  status = 200;
  assert.equal((await call('/pay')).status, 200, 'the half-open trial');
  assert.equal(g.snapshot().circuitBreaker.pay?.svc?.state, 'closed');
});

test('circuitBreaker: slow calls count from the clock', async () => {
  const clock = new ManualClock(0);
  const g = createGovernance({ clock, log: silent });
  const s = g.steps(
    cfg({
      ...pay,
      'servicecomb.circuitBreaker.pay':
        'minimumNumberOfCalls: 1\nslidingWindowSize: 1\nslowCallRateThreshold: 100\nslowCallDurationThreshold: 500',
    }),
  );
  const slow: Next = async () => {
    clock.advance(500);
    return outcome(200);
  };
  assert.equal((await s.outbound!(fakeCall({ path: '/pay' }), slow)).status, 200);
  await assert.rejects(
    s.outbound!(fakeCall({ path: '/pay' }), slow),
    (e) => isMeshError(e) && e.code === 'CIRCUIT_OPEN',
  );
  assert.equal(g.snapshot().circuitBreaker.pay?.svc?.windowSlowCalls, 1);
});

test('bulkhead: a bounded wait for a slot, then 503 BULKHEAD_FULL; a reload changes the limit', async () => {
  const clock = new ManualClock(0);
  const g = createGovernance({ clock, log: silent });
  const flat = { ...pay, 'servicecomb.bulkhead.pay': 'maxConcurrentCalls: 1\nmaxWaitDuration: 100' };
  const s = g.steps(cfg(flat));
  const gates: Array<() => void> = [];
  const held: Next = () => new Promise((resolve) => gates.push(() => resolve(outcome(200))));
  const first = s.outbound!(fakeCall({ path: '/pay' }), held);
  const second = s.outbound!(fakeCall({ path: '/pay' }), held);
  await flush();
  assert.equal(gates.length, 1, 'the second call waits for a slot');
  gates[0]!();
  assert.equal((await first).status, 200);
  await flush();
  assert.equal(gates.length, 2, 'it got the freed slot');
  const third = s.outbound!(fakeCall({ path: '/pay' }), held);
  await flush();
  clock.advance(100);
  await assert.rejects(third, (e) => isMeshError(e) && e.code === 'BULKHEAD_FULL' && e.status === 503);
  gates[1]!();
  await second;
  assert.equal(g.snapshot().bulkhead.pay?.svc?.rejected, 1);

  const s2 = g.steps(
    cfg({ ...flat, 'servicecomb.bulkhead.pay': 'maxConcurrentCalls: 2\nmaxWaitDuration: 0' }),
  );
  const a = s2.outbound!(fakeCall({ path: '/pay' }), held);
  const b = s2.outbound!(fakeCall({ path: '/pay' }), held);
  await flush();
  await assert.rejects(
    s2.outbound!(fakeCall({ path: '/pay' }), held),
    (e) => isMeshError(e) && e.code === 'BULKHEAD_FULL',
  );
  gates[2]!();
  gates[3]!();
  await Promise.all([a, b]);
  assert.equal(clock.pending, 0);
});

test('provider side: a rule without serviceName puts the circuit on inbound calls (and never retries them)', async () => {
  const clock = new ManualClock(0);
  const g = createGovernance({ clock, log: silent });
  const s = g.steps(
    cfg({
      'servicecomb.matchGroup.in': 'matches: [{apiPath: {prefix: /in}}]',
      'servicecomb.circuitBreaker.in':
        'minimumNumberOfCalls: 1\nslidingWindowSize: 1\nrecordFailureStatus: [500]',
      'servicecomb.retry.in': 'maxAttempts: 5\nretryOnResponseStatus: [500]',
    }),
  );
  assert.equal(s.outbound, undefined, 'nothing to do on the consumer side');
  let n = 0;
  const failing: Next = async () => {
    n++;
    return outcome(500);
  };
  const inbound = () => fakeCall({ direction: 'inbound', path: '/in', service: 'me' });
  assert.equal((await s.inbound!(inbound(), failing)).status, 500);
  assert.equal(n, 1, 'retry is a consumer policy');
  await assert.rejects(s.inbound!(inbound(), failing), (e) => isMeshError(e) && e.code === 'CIRCUIT_OPEN');
  assert.equal(g.snapshot().circuitBreaker.in?.me?.state, 'open');
});
