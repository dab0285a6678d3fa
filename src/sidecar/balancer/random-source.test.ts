import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../../../test/contract/balancer.ts';
import { systemRandom } from '../../shared/clock.ts';
import { RANDOM30_RANGE, random30From } from './random-source.ts';

test('the system source yields well-spread integers in [0, 2^30)', () => {
  const r = random30From(systemRandom);
  const buckets = new Array<number>(10).fill(0);
  const seen = new Set<number>();
  for (let i = 0; i < 100_000; i++) {
    const x = r();
    assert.ok(Number.isInteger(x) && x >= 0 && x < RANDOM30_RANGE, `out of range: ${x}`);
    seen.add(x);
    buckets[x % 10]!++;
  }
  assert.ok(seen.size > 99_000, `only ${seen.size} distinct values`);
  for (const b of buckets) assert.ok(Math.abs(b - 10_000) < 600, `bucket ${b}`);
  // Two balancers do not share one sequence.
  const a = random30From(systemRandom);
  const b = random30From(systemRandom);
  assert.notDeepEqual([a(), a(), a()], [b(), b(), b()]);
});

test('an injected Random is followed exactly (scaled), and misbehaving values stay in range', () => {
  const r = random30From(seededRandom(3));
  const s = seededRandom(3);
  for (let i = 0; i < 100; i++) assert.equal(r(), Math.floor(s() * RANDOM30_RANGE));
  for (const v of [1, Number.NaN, -0.1, 2]) assert.equal(random30From(() => v)(), 0);
});
