import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { test } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { DEFAULT_SERVICE_POLICY } from '../policy/defaults.ts';
import { OUTLIER_EJECT_CHANNEL, type OutlierConfig, OutlierDetector } from './outlier-detector.ts';

function make(over: Partial<OutlierConfig> = {}, endpoints = ['a', 'b', 'c', 'd']) {
  const clock = new ManualClock(0);
  const det = new OutlierDetector({ ...DEFAULT_SERVICE_POLICY.outlier, ...over }, { clock });
  det.setEndpoints(endpoints);
  return { clock, det };
}

const fail = (det: OutlierDetector, key: string, n: number) => {
  for (let i = 0; i < n; i++) det.report(key, false);
};

test('5 consecutive failures eject; a success in between resets the count', () => {
  const { det } = make();
  fail(det, 'a', 4);
  det.report('a', true);
  fail(det, 'a', 4);
  assert.equal(det.isEjected('a'), false);
  det.report('a', false);
  assert.equal(det.isEjected('a'), true);
  assert.deepEqual([...det.ejectedKeys()], ['a']);
});

test('ejection grows with each ejection, is capped, and ends by itself', () => {
  const { clock, det } = make({ baseEjectionMs: 1000, maxEjectionMs: 2500, consecutiveFailures: 1 });
  const lengths: number[] = [];
  for (let i = 0; i < 4; i++) {
    det.report('a', false);
    const start = clock.now();
    assert.equal(det.isEjected('a'), true);
    while (det.isEjected('a')) clock.advance(100);
    lengths.push(clock.now() - start);
  }
  assert.deepEqual(lengths, [1000, 2000, 2500, 2500]);
  // staying in for maxEjectionMs resets the multiplier
  clock.advance(2500);
  det.report('a', false);
  assert.equal(det.snapshot().endpoints.find((e) => e.key === 'a')!.timesEjected, 1);
});

test('never more than maxEjectionPercent of the endpoints, but at least one of two', () => {
  const { det } = make({ consecutiveFailures: 1, maxEjectionPercent: 50 }, ['a', 'b', 'c', 'd', 'e']);
  for (const k of ['a', 'b', 'c', 'd', 'e']) det.report(k, false);
  assert.equal(det.ejectedKeys().size, 2, 'floor(5 × 50%) = 2');
  assert.equal(det.snapshot().ejectionsSkipped, 3);

  const two = make({ consecutiveFailures: 1, maxEjectionPercent: 10 }, ['a', 'b']).det;
  two.report('a', false);
  two.report('b', false);
  assert.equal(two.ejectedKeys().size, 1);

  const one = make({ consecutiveFailures: 1 }, ['only']).det;
  one.report('only', false);
  assert.equal(one.isEjected('only'), false, 'the only endpoint is never ejected');
});

test('failure rate over the window ejects even without a streak', () => {
  const { det } = make({ consecutiveFailures: 0, failureRatePercent: 50, failureRateMinRequests: 10 });
  for (let i = 0; i < 9; i++) det.report('a', i % 2 === 0); // 5 ok, 4 fail
  assert.equal(det.isEjected('a'), false);
  det.report('a', false); // 10 requests, 5 failures = 50%
  assert.equal(det.isEjected('a'), true);
});

test('returned endpoints start fresh; late reports during ejection are ignored', () => {
  const { clock, det } = make({ consecutiveFailures: 2, baseEjectionMs: 100 });
  fail(det, 'a', 2);
  fail(det, 'a', 10); // ignored while ejected
  clock.advance(100);
  assert.equal(det.isEjected('a'), false);
  det.report('a', false);
  assert.equal(det.isEjected('a'), false, 'one failure after return is not a streak of 2');
  const snap = det.snapshot().endpoints.find((e) => e.key === 'a')!;
  assert.equal(snap.consecutiveFailures, 1);
  assert.equal(snap.windowRequests, 1);
});

test('endpoints that leave discovery are forgotten; unknown endpoints count toward the cap', () => {
  const { det } = make({ consecutiveFailures: 1 }, ['a', 'b']);
  det.report('a', false);
  assert.equal(det.isEjected('a'), true);
  det.setEndpoints(['b', 'c']);
  assert.equal(det.isEjected('a'), false);
  assert.equal(det.snapshot().known, 2);
});

test('disabled: reports do nothing', () => {
  const { det } = make({ enabled: false, consecutiveFailures: 1 });
  fail(det, 'a', 100);
  assert.equal(det.ejectedKeys().size, 0);
});

test('bounded: endpoints beyond maxEndpoints are not tracked', () => {
  const clock = new ManualClock(0);
  const det = new OutlierDetector(
    { ...DEFAULT_SERVICE_POLICY.outlier, consecutiveFailures: 1 },
    { clock, maxEndpoints: 3 },
  );
  for (let i = 0; i < 10; i++) det.report(`e${i}`, true);
  assert.equal(det.snapshot().endpoints.length, 3);
});

test('validation names the field', () => {
  assert.throws(() => make({ maxEjectionPercent: 120 }), /maxEjectionPercent/);
  assert.throws(() => make({ baseEjectionMs: 10, maxEjectionMs: 5 }), /maxEjectionMs/);
});

test('ejections are published on diagnostics_channel', () => {
  const seen: unknown[] = [];
  const onMessage = (m: unknown) => seen.push(m);
  subscribe(OUTLIER_EJECT_CHANNEL, onMessage);
  try {
    const clock = new ManualClock(0);
    const det = new OutlierDetector(
      { ...DEFAULT_SERVICE_POLICY.outlier, consecutiveFailures: 1 },
      { clock, service: 'server2' },
    );
    det.setEndpoints(['a', 'b']);
    det.report('a', false);
  } finally {
    unsubscribe(OUTLIER_EJECT_CHANNEL, onMessage);
  }
  assert.deepEqual(seen, [{ service: 'server2', key: 'a', untilMs: 30_000, timesEjected: 1 }]);
});

test("the cap counts the service's endpoints from discovery, not only the ones that reported", () => {
  const clock = new ManualClock(0);
  const config = { ...DEFAULT_SERVICE_POLICY.outlier, consecutiveFailures: 1, maxEjectionPercent: 50 };
  let count: number | undefined = 10;
  const det = new OutlierDetector(config, { clock, endpointCount: () => count });
  // Only 3 of the 10 endpoints have failed (and reported at all): 50% of 10 = 5, so all 3 go out.
  for (const k of ['a', 'b', 'c']) det.report(k, false);
  assert.equal(det.ejectedKeys().size, 3);
  assert.equal(det.snapshot().known, 10);
  // Without the count it would have been 50% of the 3 seen = 1.
  const blind = new OutlierDetector(config, { clock });
  for (const k of ['a', 'b', 'c']) blind.report(k, false);
  assert.equal(blind.ejectedKeys().size, 1);
  // An unknown count falls back to the endpoints seen.
  count = undefined;
  const fallback = new OutlierDetector(config, { clock, endpointCount: () => count });
  for (const k of ['a', 'b', 'c']) fallback.report(k, false);
  assert.equal(fallback.ejectedKeys().size, 1);
});

test('the snapshot says why an endpoint was ejected', () => {
  const { det } = make({ consecutiveFailures: 3, failureRatePercent: 50, failureRateMinRequests: 4 });
  fail(det, 'a', 3);
  for (let i = 0; i < 4; i++) {
    det.report('b', true);
    det.report('b', false);
  }
  const byKey = new Map(det.snapshot().endpoints.map((e) => [e.key, e]));
  assert.equal(byKey.get('a')!.reason, 'consecutiveFailures');
  assert.equal(byKey.get('a')!.detail, '3 failures in a row');
  assert.equal(byKey.get('b')!.reason, 'failureRate');
  assert.match(byKey.get('b')!.detail!, /^2 of 4 calls failed/);
});
