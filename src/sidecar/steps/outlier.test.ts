import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, fakeUpstream, policies } from '../../../test/support/fake-call.ts';
import { ManualClock } from '../../shared/clock.ts';
import { type OutlierConfig, OutlierDetector } from '../outlier/outlier-detector.ts';
import { PerService } from '../policy/index.ts';
import { createOutlier, type TrackedDetector } from './outlier.ts';

function setup(flat: Record<string, unknown> = {}) {
  const clock = new ManualClock();
  const events: string[] = [];
  const counters = {
    ejection: {
      eject: (_s: string, i: string) => events.push(`eject ${i}`),
      restore: (_s: string, i: string) => events.push(`restore ${i}`),
    },
  } as never;
  const detectors = new PerService<OutlierConfig, TrackedDetector>((service, c) => ({
    detector: new OutlierDetector(c, { clock, service }),
    service,
    published: new Set(),
  }));
  const step = createOutlier({
    policies: policies({
      'servicecomb.outlierDetection.consecutiveFailures': 3,
      'servicecomb.outlierDetection.baseEjectionMs': 1000,
      ...flat,
    }),
    detectors,
    counters,
  });
  return { clock, events, detectors, step };
}

test('consecutive failures eject an endpoint: it is excluded until the ejection ends', async () => {
  const { step, clock, events } = setup();
  const up = fakeUpstream(['bad', 'good'], (key) => (key === 'bad' ? 500 : 200));
  for (let i = 0; i < 6; i++) await step(fakeCall(), up.next); // alternates: 3 failures on bad
  assert.deepEqual(events, ['eject bad']);
  const before = up.attempts.length;
  for (let i = 0; i < 10; i++) {
    const call = fakeCall();
    assert.equal((await step(call, up.next)).status, 200);
    assert.equal(call.exclude, undefined, "the call's own exclusions are restored");
  }
  assert.ok(up.attempts.slice(before).every((a) => a.key === 'good'));
  clock.advance(1000);
  await step(fakeCall(), up.next);
  assert.deepEqual(events, ['eject bad', 'restore bad']);
});

test('connect failures and timeouts are failures; never more than the cap, never an empty service', async () => {
  const { step, detectors } = setup({ 'servicecomb.outlierDetection.maxEjectionPercent': 50 });
  const up = fakeUpstream(['a', 'b'], () => 'connect');
  for (let i = 0; i < 20; i++) await assert.rejects(step(fakeCall(), up.next));
  const snap = detectors.peek('svc')!.detector.snapshot();
  assert.equal(snap.ejected, 1, 'one of two at most');
  assert.ok(snap.ejectionsSkipped > 0);

  // A single-endpoint routed subset that is ejected still gets the call.
  const call = fakeCall();
  const ejected = [...detectors.peek('svc')!.detector.ejectedKeys()][0]!;
  const onlyEjected = fakeUpstream([ejected], () => 200);
  assert.equal((await step(call, onlyEjected.next)).status, 200);
});

test('disabled: no detector is created', async () => {
  const { step, detectors } = setup({ 'servicecomb.outlierDetection.enabled': false });
  const up = fakeUpstream(['a'], () => 500);
  await step(fakeCall(), up.next);
  assert.equal(detectors.size, 0);
});
