/**
 * @module sidecar/balancer/choose
 * Allocation-free selection helpers the strategies share: uniform choice over a candidate list
 * that skips excluded keys (and optionally one index), without copying or filtering arrays.
 */
import type { EndpointState } from './endpoint-state.ts';
import type { Random30 } from './random-source.ts';

/** Random draws tried before falling back to an exact count-and-scan over the allowed candidates. */
const DRAWS_BEFORE_SCAN = 4;

export function excluded(st: EndpointState, exclude: ReadonlySet<string> | undefined): boolean {
  return exclude?.has(st.endpoint.key) === true;
}

/**
 * A uniformly random index among `cands` (indices into `states`; all when undefined) that is not
 * excluded and is not `skip`; -1 when there is none. O(1) while most candidates are allowed, O(n)
 * (with no allocation) when random draws keep hitting excluded ones.
 */
export function uniformAllowed(
  states: readonly EndpointState[],
  cands: Int32Array | undefined,
  exclude: ReadonlySet<string> | undefined,
  random: Random30,
  skip = -1,
): number {
  const count = cands === undefined ? states.length : cands.length;
  if (count === 0) return -1;
  for (let d = 0; d < DRAWS_BEFORE_SCAN; d++) {
    const pos = drawIndex(random, count);
    const i = cands === undefined ? pos : cands[pos]!;
    if (i !== skip && !excluded(states[i]!, exclude)) return i;
  }
  // Exact fallback: count the allowed candidates, draw r, return the r-th allowed one.
  let allowed = 0;
  for (let pos = 0; pos < count; pos++) {
    const i = cands === undefined ? pos : cands[pos]!;
    if (i !== skip && !excluded(states[i]!, exclude)) allowed++;
  }
  if (allowed === 0) return -1;
  let r = drawIndex(random, allowed);
  for (let pos = 0; pos < count; pos++) {
    const i = cands === undefined ? pos : cands[pos]!;
    if (i !== skip && !excluded(states[i]!, exclude) && r-- === 0) return i;
  }
  return -1; // unreachable
}

/** A random position in [0, count); count is at most a few thousand, so the modulo bias is negligible. */
export function drawIndex(random: Random30, count: number): number {
  return random() % count;
}
