import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeEndpoints, seededRandom } from '../../../test/contract/balancer.ts';
import { ManualClock } from '../../shared/clock.ts';
import { LeastLoadedBalancer } from './least-loaded.ts';
import type { PickResult } from './types.ts';

const make = (seed = 1) => new LeastLoadedBalancer({ clock: new ManualClock(), random: seededRandom(seed) });
const keyOf = (r: PickResult) => (r.kind === 'ok' ? r.endpoint.key : 'unavailable');

test('LeastLoaded prefers the endpoint with fewer calls in flight', () => {
  const b = make();
  const [a, c] = fakeEndpoints(2);
  b.update([a!, c!]);
  for (let i = 0; i < 3; i++) b.onStart(a!);
  for (let i = 0; i < 100; i++) assert.equal(keyOf(b.pick()), c!.key);
  // Once c carries more, a is preferred.
  for (let i = 0; i < 5; i++) b.onStart(c!);
  for (let i = 0; i < 100; i++) assert.equal(keyOf(b.pick()), a!.key);
});

test('LeastLoaded avoids an endpoint whose calls never finish', () => {
  const b = make(2);
  const eps = fakeEndpoints(3);
  const stuck = eps[0]!;
  b.update(eps);
  const counts = new Map<string, number>();
  let open = 0; // concurrent calls to the healthy endpoints, held a little while
  const pending: PickResult[] = [];
  for (let i = 0; i < 3000; i++) {
    const r = b.pick();
    assert.equal(r.kind, 'ok');
    if (r.kind !== 'ok') continue;
    counts.set(r.endpoint.key, (counts.get(r.endpoint.key) ?? 0) + 1);
    b.onStart(r.endpoint);
    if (r.endpoint.key === stuck.key) continue; // never finishes
    pending.push(r);
    open++;
    if (open > 2) {
      const done = pending.shift()!;
      if (done.kind === 'ok') b.onFinish(done.endpoint, { ok: true, latencyMs: 5 });
      open--;
    }
  }
  const stuckCount = counts.get(stuck.key) ?? 0;
  assert.ok(stuckCount <= 5, `stuck endpoint got ${stuckCount} of 3000 calls`);
  assert.ok((counts.get(eps[1]!.key) ?? 0) > 1000 && (counts.get(eps[2]!.key) ?? 0) > 1000, 'the rest share');
});

test('ties on in-flight favour the faster endpoint, but the slower one is still sampled', () => {
  const b = make(3);
  const [fast, slow] = fakeEndpoints(2);
  b.update([fast!, slow!]);
  const counts = new Map<string, number>();
  for (let i = 0; i < 10_000; i++) {
    const r = b.pick();
    if (r.kind !== 'ok') assert.fail('unavailable');
    counts.set(r.endpoint.key, (counts.get(r.endpoint.key) ?? 0) + 1);
    b.onStart(r.endpoint);
    b.onFinish(r.endpoint, { ok: true, latencyMs: r.endpoint === fast ? 10 : 200 });
  }
  const slowShare = (counts.get(slow!.key) ?? 0) / 10_000;
  assert.ok(slowShare > 0.03 && slowShare < 0.15, `slow share ${slowShare}`);
  // After the slow one recovers, its sampled calls pull its latency down and traffic evens out.
  counts.clear();
  for (let i = 0; i < 10_000; i++) {
    const r = b.pick();
    if (r.kind !== 'ok') assert.fail('unavailable');
    counts.set(r.endpoint.key, (counts.get(r.endpoint.key) ?? 0) + 1);
    b.onStart(r.endpoint);
    b.onFinish(r.endpoint, { ok: true, latencyMs: 10 });
  }
  const share = (counts.get(slow!.key) ?? 0) / 10_000;
  assert.ok(share > 0.4, `recovered share ${share}`);
});

test('an endpoint that has never reported wins ties (new instances get probed)', () => {
  const b = make(4);
  const [old, fresh] = fakeEndpoints(2);
  b.update([old!]);
  b.onStart(old!);
  b.onFinish(old!, { ok: true, latencyMs: 1 });
  b.update([old!, fresh!]);
  assert.equal(keyOf(b.pick()), fresh!.key);
});
