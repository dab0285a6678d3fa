import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, flush, outcome, policies } from '../../../test/support/fake-call.ts';
import { ManualClock } from '../../shared/clock.ts';
import { isMeshError } from '../../shared/errors.ts';
import { type FaultConfig, FaultInjector } from '../fault/fault-injector.ts';
import { PerService } from '../policy/index.ts';
import { scriptedRandom } from '../policy/seeded-random.ts';
import { createFault } from './fault.ts';

const PREFIX = 'cse.governance.Consumer.svc.policy.fault.protocols.rest.';

function setup(flat: Record<string, unknown>, random = scriptedRandom([0])) {
  const clock = new ManualClock();
  const injectors = new PerService<FaultConfig, FaultInjector>((_s, c) => new FaultInjector(c, { random }));
  return { clock, step: createFault({ policies: policies(flat), injectors, clock }) };
}

test('abort answers the configured status as FAULT_INJECTED without calling upstream', async () => {
  const { step } = setup({ [`${PREFIX}abort.percent`]: 100, [`${PREFIX}abort.httpStatus`]: 421 });
  let called = false;
  await assert.rejects(
    step(fakeCall(), async () => {
      called = true;
      return outcome(200);
    }),
    (e) => isMeshError(e) && e.code === 'FAULT_INJECTED' && e.status === 421,
  );
  assert.equal(called, false);
  assert.equal((await step(fakeCall({ service: 'other' }), async () => outcome(200))).status, 200);
});

test('delay waits on the injected clock, then calls upstream', async () => {
  const { step, clock } = setup({ [`${PREFIX}delay.percent`]: 100, [`${PREFIX}delay.fixedDelay`]: 300 });
  let called = false;
  const p = step(fakeCall(), async () => {
    called = true;
    return outcome(200);
  });
  clock.advance(299);
  await flush();
  assert.equal(called, false);
  clock.advance(1);
  assert.equal((await p).status, 200);
  assert.equal(called, true);
});

test('percentages draw from the injected random', async () => {
  const { step } = setup(
    { [`${PREFIX}abort.percent`]: 50, [`${PREFIX}abort.httpStatus`]: 503 },
    scriptedRandom([0.49, 0.51]),
  );
  await assert.rejects(step(fakeCall(), async () => outcome(200)));
  assert.equal((await step(fakeCall(), async () => outcome(200))).status, 200);
});

test('a delay longer than the request timeout ends at the timeout with UPSTREAM_TIMEOUT, without calling upstream', async () => {
  const { step, clock } = setup({
    [`${PREFIX}delay.percent`]: 100,
    [`${PREFIX}delay.fixedDelay`]: 5000,
    'servicecomb.timeout.svc.requestMs': 1000,
  });
  let called = false;
  let settled: unknown;
  const call = fakeCall();
  const p = step(call, async () => {
    called = true;
    return outcome(200);
  }).then(
    () => (settled = 'resolved'),
    (e: unknown) => (settled = e),
  );
  assert.equal(call.deadlineMs, clock.now() + 1000, 'the deadline is fixed when the delay starts');
  clock.advance(999);
  await flush();
  assert.equal(settled, undefined, 'still waiting before the timeout');
  clock.advance(1);
  await p;
  const err = settled as unknown;
  assert.ok(isMeshError(err) && err.code === 'UPSTREAM_TIMEOUT', String(err));
  assert.equal(called, false);
});

test('a delay shorter than the timeout uses up part of it: the timeout step sees the same deadline', async () => {
  const { step, clock } = setup({
    [`${PREFIX}delay.percent`]: 100,
    [`${PREFIX}delay.fixedDelay`]: 300,
    'servicecomb.timeout.svc.requestMs': 1000,
  });
  const call = fakeCall();
  let leftAtUpstream = -1;
  const p = step(call, async (c) => {
    leftAtUpstream = (c.deadlineMs ?? 0) - clock.now();
    return outcome(200);
  });
  clock.advance(300);
  assert.equal((await p).status, 200);
  assert.equal(leftAtUpstream, 700);
});
