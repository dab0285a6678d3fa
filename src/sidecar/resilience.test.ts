import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, fakeUpstream, outcome } from '../../test/support/fake-call.ts';
import { ManualClock } from '../shared/clock.ts';
import { isMeshError } from '../shared/errors.ts';
import { compose } from './chain/compose.ts';
import type { SidecarConfig } from './config/types.ts';
import { seededRandom } from './policy/seeded-random.ts';
import { createResilience } from './resilience.ts';

const cfg = (flat: Record<string, unknown>) =>
  ({ flat: Object.freeze({ ...flat }) }) as unknown as SidecarConfig;
const BREAKER = {
  'cse.circuitBreaker.Consumer.requestVolumeThreshold': 2,
  'cse.circuitBreaker.Consumer.sleepWindowInMilliseconds': 5000,
  'cse.loadbalance.retryEnabled': false,
};

function chain(r: ReturnType<typeof createResilience>, config: SidecarConfig, status: number) {
  return compose(r.steps(config).outbound, async () => outcome(status));
}

test("a reload that leaves a service's settings alone keeps its circuit; a real change replaces it", async () => {
  const clock = new ManualClock();
  const r = createResilience({ clock, random: seededRandom(1) });
  const v1 = cfg(BREAKER);
  const failing = chain(r, v1, 503);
  for (let i = 0; i < 2; i++) await failing(fakeCall());
  const open = chain(r, cfg({ ...BREAKER, 'some.other.key': 1 }), 200);
  await assert.rejects(open(fakeCall()), (e) => isMeshError(e) && e.code === 'CIRCUIT_OPEN');
  const changed = chain(
    r,
    cfg({ ...BREAKER, 'cse.circuitBreaker.Consumer.sleepWindowInMilliseconds': 6000 }),
    200,
  );
  assert.equal((await changed(fakeCall())).status, 200, 'new settings, fresh circuit');
});

test('an invalid change keeps the last good policies and is reported in the snapshot', async () => {
  const clock = new ManualClock();
  const r = createResilience({ clock, random: seededRandom(1) });
  r.steps(cfg({ 'cse.flowcontrol.Consumer.qps.limit.svc': 1 }));
  const bad = cfg({
    'cse.flowcontrol.Consumer.qps.limit.svc': 100,
    'cse.circuitBreaker.Consumer.errorThresholdPercentage': 'lots',
  });
  const run = compose(r.steps(bad).outbound, async () => outcome(200));
  assert.equal((await run(fakeCall())).status, 200);
  await assert.rejects(run(fakeCall()), (e) => isMeshError(e) && e.code === 'RATE_LIMITED', 'still 1/s');
  const snap = r.snapshot();
  assert.equal(snap.lastRejected?.issues[0]?.key, 'cse.circuitBreaker.Consumer.errorThresholdPercentage');
  const reply = await r.adminHandler({
    method: 'GET',
    path: '/v1/mesher/resilience',
    query: new URLSearchParams(),
  });
  assert.equal(reply.status, 200);
  assert.ok(
    (reply.body as { rateLimits: { consumer: { limited: number } } }).rateLimits.consumer.limited >= 1,
  );
  const post = await r.adminHandler({ method: 'POST', path: '/', query: new URLSearchParams() });
  assert.equal(post.status, 405);
});

test('provider side has a step only when a provider limit is configured', () => {
  const r = createResilience({ clock: new ManualClock(), random: seededRandom(1) });
  assert.equal(r.steps(cfg({})).inbound.length, 0);
  assert.equal(r.steps(cfg({ 'cse.flowcontrol.Provider.qps.global.limit': 5 })).inbound.length, 1);
});

test('counters see retries, circuit transitions and faults', async () => {
  const clock = new ManualClock();
  const seen: string[] = [];
  const counters = {
    retry: { inc: (s: string) => seen.push(`retry ${s}`) },
    retryBudgetExhausted: { inc: () => {} },
    rateLimited: { inc: () => {} },
    fault: { inc: (s: string, k: string) => seen.push(`fault ${s} ${k}`) },
    circuit: { set: (s: string, st: string) => seen.push(`circuit ${s} ${st}`) },
    ejection: { eject() {}, restore() {}, forget() {} },
    setRegistryHealth() {},
    setRegistered() {},
  };
  const r = createResilience({ clock, random: seededRandom(1), counters });
  const run = compose(
    r.steps(
      cfg({
        ...BREAKER,
        'cse.loadbalance.retryEnabled': true,
        'cse.loadbalance.backoff.kind': 'zero',
        'cse.governance.Consumer.f.policy.fault.protocols.rest.abort.percent': 100,
        'cse.governance.Consumer.f.policy.fault.protocols.rest.abort.httpStatus': 500,
      }),
    ).outbound,
    async (call) => {
      call.endpoint = { key: `e${call.attempt}` } as never;
      return outcome(503);
    },
  );
  await run(fakeCall());
  await run(fakeCall());
  await assert.rejects(run(fakeCall({ service: 'f' })));
  assert.ok(seen.includes('retry svc'));
  assert.ok(seen.includes('circuit svc open'));
  assert.ok(seen.includes('fault f abort'));
});

test("the outlier cap counts the service's instances from the data plane, and serviceView shows circuit and ejections", async () => {
  const clock = new ManualClock();
  const r = createResilience({ clock, random: seededRandom(1) });
  const flat = {
    'cse.loadbalance.retryEnabled': false,
    'servicecomb.outlierDetection.consecutiveFailures': 1,
  };
  const { outbound, resilience } = r.steps(cfg(flat), {
    endpointCount: (s) => (s === 'svc' ? 10 : undefined),
  });
  const { next } = fakeUpstream(['a', 'b', 'c'], () => 503);
  const run = compose(outbound, next);
  for (let i = 0; i < 3; i++) await run(fakeCall());
  const view = resilience('svc');
  assert.equal(view.outlier?.known, 10);
  assert.equal(view.outlier?.ejected, 3, '50% of 10 instances may go, not 50% of the 3 seen');
  assert.equal(view.circuit?.state, 'closed');
  assert.deepEqual(r.serviceView('unknown'), {});
});
