import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, flush, outcome, policies } from '../../../test/support/fake-call.ts';
import { ManualClock } from '../../shared/clock.ts';
import { isMeshError } from '../../shared/errors.ts';
import type { Outcome } from '../chain/types.ts';
import { createTimeout, runWithTimeout } from './timeout.ts';

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

test('per-try timeout per attempt; the first attempt fixes the call deadline that bounds later ones', async () => {
  const clock = new ManualClock();
  const pol = policies({
    'servicecomb.timeout.requestMs': 500,
    'servicecomb.timeout.perTryMs': 200,
    'servicecomb.timeout.connectMs': 50,
  });
  const step = createTimeout({ policies: pol, clock });
  const hang = () => new Promise<Outcome>(() => {});
  const call = fakeCall();
  const first = step(call, hang);
  assert.equal(call.connectTimeoutMs, 50);
  assert.equal(call.deadlineMs, clock.now() + 500);
  clock.advance(199);
  await flush();
  let settled = false;
  first.catch(() => {}).finally(() => (settled = true));
  await flush();
  assert.equal(settled, false);
  clock.advance(1);
  await assert.rejects(first, (e) => isMeshError(e) && e.code === 'UPSTREAM_TIMEOUT');
  clock.advance(200); // e.g. backoff: 400 ms of the 500 are gone
  const second = step(call, hang);
  clock.advance(100); // only what is left of the deadline, not a full 200 ms try
  await assert.rejects(second, (e) => isMeshError(e) && e.code === 'UPSTREAM_TIMEOUT');
  await assert.rejects(
    step(call, hang),
    (e) => isMeshError(e) && e.code === 'UPSTREAM_TIMEOUT',
    'past the deadline',
  );
  assert.equal(clock.pending, 0);
});

test('a per-try timeout no shorter than the request timeout leaves one timer for the whole call', async () => {
  const clock = new ManualClock();
  const pol = policies({ 'servicecomb.timeout.requestMs': 100, 'servicecomb.timeout.perTryMs': 300 });
  const call = fakeCall();
  const p = createTimeout({ policies: pol, clock })(call, () => new Promise<Outcome>(() => {}));
  clock.advance(100);
  await assert.rejects(p, (e) => isMeshError(e) && e.code === 'UPSTREAM_TIMEOUT');
});
