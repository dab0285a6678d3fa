import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, flush, outcome, policies } from '../../../test/support/fake-call.ts';
import { ManualClock } from '../../shared/clock.ts';
import { isMeshError } from '../../shared/errors.ts';
import type { Outcome } from '../chain/types.ts';
import { createPerTryTimeout, createRequestTimeout, runWithTimeout } from './timeout.ts';

test('runWithTimeout: expiry aborts the attempt (child signal only) and throws UPSTREAM_TIMEOUT', async () => {
  const clock = new ManualClock();
  const call = fakeCall();
  const root = call.signal;
  let attemptAborted = false;
  const p = runWithTimeout(
    call,
    (c) => new Promise<Outcome>(() => c.signal.add(() => (attemptAborted = true))),
    100,
    clock,
  );
  clock.advance(99);
  await flush();
  assert.equal(attemptAborted, false);
  clock.advance(1);
  await assert.rejects(p, (e) => isMeshError(e) && e.code === 'UPSTREAM_TIMEOUT' && e.status === 504);
  assert.equal(attemptAborted, true);
  assert.equal(root.aborted, false, 'the call itself goes on');
  assert.equal(call.signal, root, 'the parent signal is restored');
  assert.equal(clock.pending, 0);
});

test('runWithTimeout: an answer in time cancels the timer; a client abort reaches the attempt', async () => {
  const clock = new ManualClock();
  const call = fakeCall();
  const out = await runWithTimeout(call, async () => outcome(200), 100, clock);
  assert.equal(out.status, 200);
  assert.equal(clock.pending, 0);

  let seen = false;
  const call2 = fakeCall();
  const p = runWithTimeout(
    call2,
    (c) =>
      new Promise<Outcome>((_r, reject) =>
        c.signal.add(() => {
          seen = true;
          reject(new Error('gone'));
        }),
      ),
    100,
    clock,
  );
  call2.signal.abort();
  await assert.rejects(p, /gone/);
  assert.equal(seen, true);
});

test('request timeout uses requestMs; per-try uses perTryMs and sets the connect timeout', async () => {
  const clock = new ManualClock();
  const pol = policies({
    'servicecomb.timeout.requestMs': 500,
    'servicecomb.timeout.perTryMs': 200,
    'servicecomb.timeout.connectMs': 50,
  });
  const hang = () => new Promise<Outcome>(() => {});
  const call = fakeCall();
  const req = createRequestTimeout({ policies: pol, clock })(call, hang);
  clock.advance(499);
  await flush();
  let settled = false;
  req.catch(() => {}).finally(() => (settled = true));
  await flush();
  assert.equal(settled, false);
  clock.advance(1);
  await assert.rejects(req, (e) => isMeshError(e) && e.code === 'UPSTREAM_TIMEOUT');

  const call2 = fakeCall();
  const tryP = createPerTryTimeout({ policies: pol, clock })(call2, hang);
  assert.equal(call2.connectTimeoutMs, 50);
  clock.advance(200);
  await assert.rejects(tryP, (e) => isMeshError(e) && e.code === 'UPSTREAM_TIMEOUT');
});

test('per-try timeout is skipped when it cannot be shorter than the request timeout', async () => {
  const clock = new ManualClock();
  const pol = policies({ 'servicecomb.timeout.requestMs': 100, 'servicecomb.timeout.perTryMs': 100 });
  const call = fakeCall();
  const before = call.signal;
  await createPerTryTimeout({ policies: pol, clock })(call, async (c) => {
    assert.equal(c.signal, before, 'no child signal, no timer');
    assert.equal(clock.pending, 0);
    return outcome(200);
  });
});
