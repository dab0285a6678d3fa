import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeEndpoints, seededRandom } from '../../../test/contract/balancer.ts';
import { ManualClock } from '../../shared/clock.ts';
import { RoundRobinBalancer } from './round-robin.ts';
import type { PickResult } from './types.ts';

const keyOf = (r: PickResult) => (r.kind === 'ok' ? r.endpoint.key : 'unavailable');
const make = (seed: number) =>
  new RoundRobinBalancer({ clock: new ManualClock(), random: seededRandom(seed) });

test('round robin spreads exactly evenly over 3 endpoints, in a fixed cycle', () => {
  const b = make(7);
  const eps = fakeEndpoints(3);
  b.update(eps);
  const counts = new Map<string, number>();
  const order: string[] = [];
  for (let i = 0; i < 300; i++) {
    const key = keyOf(b.pick());
    order.push(key);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.deepEqual([...counts.values()], [100, 100, 100]);
  for (let i = 3; i < order.length; i++) assert.equal(order[i], order[i - 3], `cycle broken at ${i}`);
});

test('the starting position is random per balancer', () => {
  const eps = fakeEndpoints(10);
  const firsts = new Set<string>();
  for (let seed = 1; seed <= 40; seed++) {
    const b = make(seed);
    b.update(eps);
    firsts.add(keyOf(b.pick()));
  }
  assert.ok(firsts.size >= 5, `only ${firsts.size} distinct first picks over 40 balancers`);
});

test('excluded endpoints are skipped without breaking the rotation among the others', () => {
  const b = make(3);
  const eps = fakeEndpoints(4);
  b.update(eps);
  const exclude = new Set([eps[1]!.key]);
  const counts = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const key = keyOf(b.pick({ exclude }));
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.equal(counts.has(eps[1]!.key), false);
  assert.deepEqual([...counts.values()].sort(), [100, 100, 100]);
});

test('the rotation continues across update() and wraps to the new size', () => {
  const b = make(11);
  const eps = fakeEndpoints(5);
  b.update(eps);
  for (let i = 0; i < 7; i++) b.pick();
  b.update(eps.slice(0, 2));
  const seen: string[] = [];
  for (let i = 0; i < 10; i++) seen.push(keyOf(b.pick()));
  assert.equal(new Set(seen).size, 2);
  for (let i = 1; i < seen.length; i++) assert.notEqual(seen[i], seen[i - 1], 'alternates between the two');
});

test('pick() hands out a prebuilt result per endpoint (no allocation per pick)', () => {
  const b = make(1);
  const [only] = fakeEndpoints(1);
  b.update([only!]);
  const first = b.pick();
  assert.equal(b.pick(), first);
  assert.ok(Object.isFrozen(first), 'results are frozen, so sharing them is safe');
  assert.equal(b.pick({ exclude: new Set([only!.key]) }), b.pick({ exclude: new Set([only!.key]) }));
});
