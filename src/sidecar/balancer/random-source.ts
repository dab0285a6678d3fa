/**
 * @module sidecar/balancer/random-source
 * The balancers draw random integers, not doubles. Calling an injected `Random` (even
 * `Math.random`) through a variable returns a boxed double, i.e. one heap allocation per draw on
 * every pick (measured with V8's sampling heap profiler: all of pick()'s garbage came from it).
 * So strategies take a `Random30`, a source of integers in [0, 2^30) that stay small integers
 * (no boxing): production uses an xorshift32 generator seeded once from the injected source;
 * tests that inject a seeded `Random` get exactly their sequence, scaled.
 */
import { type Random, systemRandom } from '../../shared/clock.ts';

/** An integer in [0, 2^30). */
export type Random30 = () => number;

export const RANDOM30_RANGE = 1 << 30;

export function random30From(random: Random): Random30 {
  if (random === systemRandom || random === Math.random) {
    return xorshift30(Math.floor(Math.random() * 0xffffffff));
  }
  return () => {
    const r = Math.floor(random() * RANDOM30_RANGE);
    return r >= 0 && r < RANDOM30_RANGE ? r : 0; // a misbehaving source (1, NaN, negative) stays in range
  };
}

/** Marsaglia's xorshift32; the state lives in a typed array so updating it never allocates. */
function xorshift30(seed: number): Random30 {
  const s = new Int32Array(1);
  s[0] = seed | 0 || 0x2545f491; // the state must not be zero
  return () => {
    let x = s[0]!;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    s[0] = x;
    return x >>> 2;
  };
}
