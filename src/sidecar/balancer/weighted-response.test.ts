import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeEndpoints, seededRandom } from '../../../test/contract/balancer.ts';
import { ManualClock } from '../../shared/clock.ts';
import type { Endpoint } from './../discovery/types.ts';
import { isBalancerConfigError } from './errors.ts';
import { WeightedResponseBalancer } from './weighted-response.ts';

/** Run `n` calls, each taking latencyOf(endpoint) ms of ManualClock time; returns per-key counts. */
function drive(
  b: WeightedResponseBalancer,
  clock: ManualClock,
  n: number,
  latencyOf: (ep: Endpoint) => number,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = b.pick();
    if (r.kind !== 'ok') assert.fail('unavailable');
    counts.set(r.endpoint.key, (counts.get(r.endpoint.key) ?? 0) + 1);
    b.onStart(r.endpoint);
    clock.advance(1); // calls overlap: one starts every ms
    b.onFinish(r.endpoint, { ok: true, latencyMs: latencyOf(r.endpoint) });
  }
  return counts;
}

test('WeightedResponse shifts traffic away from a slow endpoint and back after it recovers', () => {
  const clock = new ManualClock();
  const b = new WeightedResponseBalancer({ clock, random: seededRandom(17) });
  const eps = fakeEndpoints(3);
  const slow = eps[2]!;
  b.update(eps);
  // Before any report: equal weights.
  const even = drive(b, clock, 3000, () => 10);
  for (const c of even.values()) assert.ok(c > 800, `uneven start ${[...even.values()]}`);
  // The third endpoint becomes slow (500 ms vs 10 ms).
  drive(b, clock, 1000, (ep) => (ep === slow ? 500 : 10)); // let the averages settle
  const slowPhase = drive(b, clock, 3000, (ep) => (ep === slow ? 500 : 10));
  const slowShare = (slowPhase.get(slow.key) ?? 0) / 3000;
  assert.ok(slowShare < 0.06, `slow endpoint still got ${slowShare}`);
  assert.ok(slowShare > 0, 'but it is still probed');
  // It recovers: the probes report 10 ms and its share returns to about a third.
  drive(b, clock, 2000, () => 10);
  const recovered = drive(b, clock, 3000, () => 10);
  const share = (recovered.get(slow.key) ?? 0) / 3000;
  assert.ok(share > 0.25, `recovered share ${share}`);
});

test('an idle slow endpoint decays back toward the average and gets a fair share again', () => {
  const clock = new ManualClock();
  const b = new WeightedResponseBalancer({ clock, random: seededRandom(23) }, { decayMs: 5_000 });
  const [a, c, slow] = fakeEndpoints(3);
  b.update([a!, c!, slow!]);
  for (let i = 0; i < 20; i++) {
    for (const ep of [a!, c!, slow!]) {
      b.onStart(ep);
      b.onFinish(ep, { ok: true, latencyMs: ep === slow ? 1000 : 20 });
    }
  }
  const w0 = b.weights();
  assert.ok(w0.get(slow!.key)! < w0.get(a!.key)! / 10, 'slow weight is small right after');
  // 60 s pass in which only the fast endpoints report (the slow one got no calls).
  for (let t = 0; t < 60; t++) {
    clock.advance(1_000);
    for (const ep of [a!, c!]) {
      b.onStart(ep);
      b.onFinish(ep, { ok: true, latencyMs: 20 });
    }
  }
  const w1 = b.weights();
  const ratio = w1.get(slow!.key)! / w1.get(a!.key)!;
  // Decayed toward the mean of (20, 20, 1000) ≈ 347 ms: a real share again, not the 5% floor.
  assert.ok(ratio > 0.055, `slow/fast weight ratio ${ratio}`);
  assert.ok(ratio < 1, 'still below a fast endpoint');
});

test('failed calls count as slow, so a fast-failing endpoint does not attract traffic', () => {
  const clock = new ManualClock();
  const b = new WeightedResponseBalancer({ clock, random: seededRandom(29) });
  const [good, broken] = fakeEndpoints(2);
  b.update([good!, broken!]);
  for (let i = 0; i < 30; i++) {
    b.onFinish(good!, { ok: true, latencyMs: 50 });
    b.onFinish(broken!, { ok: false, latencyMs: 1 });
  }
  const w = b.weights();
  assert.ok(w.get(broken!.key)! < w.get(good!.key)! / 5, JSON.stringify([...w]));
});

test('latency state survives update() for endpoints that stay', () => {
  const clock = new ManualClock();
  const b = new WeightedResponseBalancer({ clock, random: seededRandom(31) });
  const [a, slow, extra] = fakeEndpoints(3);
  b.update([a!, slow!]);
  for (let i = 0; i < 10; i++) {
    b.onFinish(a!, { ok: true, latencyMs: 10 });
    b.onFinish(slow!, { ok: true, latencyMs: 400 });
  }
  b.update([a!, slow!, extra!]);
  const w = b.weights();
  assert.ok(w.get(slow!.key)! < w.get(a!.key)! / 5, 'slow endpoint stays penalised');
  // The newcomer is weighted as an average endpoint: between the two.
  assert.ok(w.get(extra!.key)! < w.get(a!.key)! && w.get(extra!.key)! > w.get(slow!.key)!);
});

test('options are validated when the balancer is built', () => {
  const deps = { clock: new ManualClock(), random: seededRandom(1) };
  assert.throws(
    () => new WeightedResponseBalancer(deps, { decayMs: -1, bogus: 1 }),
    (err: unknown) =>
      isBalancerConfigError(err) &&
      err.code === 'INVALID_BALANCER_OPTION' &&
      /decayMs/.test(err.message) &&
      /bogus/.test(err.message),
  );
  assert.doesNotThrow(() => new WeightedResponseBalancer(deps, { decayMs: '2000', minSharePercent: 1 }));
});
