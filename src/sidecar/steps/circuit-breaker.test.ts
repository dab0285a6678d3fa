import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, outcome, policies } from '../../../test/support/fake-call.ts';
import { ManualClock } from '../../shared/clock.ts';
import { isMeshError, MeshError } from '../../shared/errors.ts';
import { CircuitBreaker } from '../breaker/circuit-breaker.ts';
import type { BreakerConfig } from '../breaker/types.ts';
import type { Outcome } from '../chain/types.ts';
import { PerService } from '../policy/index.ts';
import { createCircuitBreaker, FALLBACK_HEADER } from './circuit-breaker.ts';

const SMALL = {
  'cse.circuitBreaker.Consumer.requestVolumeThreshold': 4,
  'cse.circuitBreaker.Consumer.errorThresholdPercentage': 50,
  'cse.circuitBreaker.Consumer.sleepWindowInMilliseconds': 2000,
};

function setup(flat: Record<string, unknown>) {
  const clock = new ManualClock();
  const breakers = new PerService<BreakerConfig, CircuitBreaker>(
    (s, c) => new CircuitBreaker(s, c, { clock }),
  );
  return { clock, breakers, step: createCircuitBreaker({ policies: policies(flat), breakers }) };
}

const ok = async () => outcome(200);
const fail = async () => outcome(503);

test('failures open the circuit: 503 CIRCUIT_OPEN with Retry-After; after the sleep window a trial closes it', async () => {
  const { step, clock } = setup(SMALL);
  for (let i = 0; i < 4; i++) assert.equal((await step(fakeCall(), fail)).status, 503);
  let calls = 0;
  const counting = async () => {
    calls++;
    return outcome(200);
  };
  await assert.rejects(
    step(fakeCall(), counting),
    (e) => isMeshError(e) && e.code === 'CIRCUIT_OPEN' && e.headers?.['retry-after'] === '2',
  );
  assert.equal(calls, 0);
  clock.advance(2000);
  assert.equal((await step(fakeCall(), counting)).status, 200, 'the trial');
  assert.equal((await step(fakeCall(), counting)).status, 200, 'closed again');
  assert.equal(calls, 2);
});

test('timeouts count as failures; a client that went away counts neither way', async () => {
  const { step, breakers } = setup(SMALL);
  const timeout = async () => {
    throw new MeshError('UPSTREAM_TIMEOUT');
  };
  for (let i = 0; i < 4; i++) await assert.rejects(step(fakeCall(), timeout));
  assert.equal(breakers.peek('svc')!.state, 'open');

  const s2 = setup(SMALL);
  for (let i = 0; i < 10; i++) {
    const call = fakeCall();
    call.signal.abort();
    await s2.step(call, fail);
  }
  const c = s2.breakers.peek('svc')!.counters();
  assert.equal(c.state, 'closed');
  assert.equal(c.ignored, 10);
});

test('returnnull fallback: 200, empty body, x-mesher-fallback; fallback.force skips upstream', async () => {
  const { step } = setup({ ...SMALL, 'cse.fallbackpolicy.Consumer.policy': 'returnnull' });
  for (let i = 0; i < 4; i++) await step(fakeCall(), fail);
  const out = await step(fakeCall(), ok);
  assert.equal(out.status, 200);
  assert.deepEqual(out.headers.slice(0, 2), [FALLBACK_HEADER, 'returnnull']);
  assert.equal((out.body as Buffer).length, 0);

  const forced = setup({
    'cse.fallback.Consumer.svc.force': true,
    'cse.fallbackpolicy.Consumer.policy': 'returnnull',
  });
  let called = false;
  const r = await forced.step(fakeCall(), async () => {
    called = true;
    return outcome(200);
  });
  assert.equal(called, false);
  assert.equal(r.headers[1], 'returnnull');
  // another service is not forced
  assert.equal((await forced.step(fakeCall({ service: 'other' }), ok)).headers.length, 0);
});

test('bulkhead: maxConcurrentRequests in flight, the next is 503 BULKHEAD_FULL', async () => {
  const { step } = setup({ 'cse.isolation.Consumer.maxConcurrentRequests': 2 });
  const release: Array<() => void> = [];
  const held = () => new Promise<Outcome>((r) => release.push(() => r(outcome(200))));
  const a = step(fakeCall(), held);
  const b = step(fakeCall(), held);
  await assert.rejects(
    step(fakeCall(), ok),
    (e) => isMeshError(e) && e.code === 'BULKHEAD_FULL' && e.status === 503,
  );
  for (const r of release) r();
  await Promise.all([a, b]);
  assert.equal((await step(fakeCall(), ok)).status, 200);
});

test('shadow mode never rejects but counts what it would have done', async () => {
  const { step, breakers } = setup({ ...SMALL, 'cse.circuitBreaker.Consumer.enforced': false });
  for (let i = 0; i < 4; i++) await step(fakeCall(), fail);
  assert.equal((await step(fakeCall(), ok)).status, 200);
  assert.equal(breakers.peek('svc')!.counters().shadowRejections, 1);
});
