import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeEndpoints, seededRandom } from '../../../test/contract/balancer.ts';
import { ManualClock } from '../../shared/clock.ts';
import { RandomBalancer } from './random.ts';
import type { PickRequest } from './types.ts';

function spread(b: RandomBalancer, n: number, req?: PickRequest): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = b.pick(req);
    assert.equal(r.kind, 'ok');
    if (r.kind === 'ok') counts.set(r.endpoint.key, (counts.get(r.endpoint.key) ?? 0) + 1);
  }
  return counts;
}

/** Pearson's chi-square statistic against a uniform expectation. */
function chiSquare(counts: Iterable<number>, expected: number): number {
  let x = 0;
  for (const c of counts) x += (c - expected) ** 2 / expected;
  return x;
}

test('Random is roughly uniform (chi-square well under the 0.1% critical value)', () => {
  const b = new RandomBalancer({ clock: new ManualClock(), random: seededRandom(99) });
  const eps = fakeEndpoints(3);
  b.update(eps);
  const counts = spread(b, 30_000);
  assert.equal(counts.size, 3);
  for (const c of counts.values()) assert.ok(Math.abs(c - 10_000) < 500, `count ${c} far from 10000`);
  assert.ok(chiSquare(counts.values(), 10_000) < 13.8, 'chi-square, 2 degrees of freedom');
});

test('Random stays uniform over the allowed endpoints when most are excluded (exact fallback)', () => {
  const b = new RandomBalancer({ clock: new ManualClock(), random: seededRandom(5) });
  const eps = fakeEndpoints(20);
  b.update(eps);
  // 17 of 20 excluded: random draws mostly miss, so the count-and-scan fallback does the work.
  const exclude = new Set(eps.slice(3).map((e) => e.key));
  const counts = spread(b, 30_000, { exclude });
  assert.deepEqual(
    [...counts.keys()].sort(),
    eps
      .slice(0, 3)
      .map((e) => e.key)
      .sort(),
  );
  assert.ok(chiSquare(counts.values(), 10_000) < 13.8, [...counts.values()].join(','));
});

test('a random source that misbehaves (returns 1 or NaN) still yields a valid endpoint', () => {
  const eps = fakeEndpoints(3);
  for (const value of [1, Number.NaN, -0.5]) {
    const b = new RandomBalancer({ clock: new ManualClock(), random: () => value });
    b.update(eps);
    const r = b.pick({ exclude: new Set([eps[0]!.key]) });
    assert.equal(r.kind, 'ok');
    if (r.kind === 'ok') assert.notEqual(r.endpoint.key, eps[0]!.key);
  }
});
