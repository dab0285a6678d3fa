/**
 * @module sidecar/policy/seeded-random
 * A deterministic `Random` (mulberry32) for tests and reproducible simulations: the same seed
 * gives the same sequence, uniform in [0, 1). Not for anything security-related.
 */
import type { Random } from '../../shared/clock.ts';

export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Random that replays `values` in order (then repeats the last): for exact-branch tests. */
export function scriptedRandom(values: readonly number[]): Random {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)]!;
}
