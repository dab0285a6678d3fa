/**
 * @module sidecar/balancer/least-loaded
 * LeastLoaded (the default): power of two choices. Draw two distinct allowed endpoints at random
 * and take the one with fewer calls in flight; on a tie, a coin weighted by inverse smoothed
 * latency (so the faster one usually wins, but the slower one is still sampled at least 5% of its
 * ties and can prove it recovered; an endpoint with no report yet wins a tie, so new instances get
 * probed). O(1) per pick, and it
 * avoids a stuck endpoint (its in-flight count only grows) without any timer or global scan.
 * See Mitzenmacher, "The Power of Two Choices in Randomized Load Balancing" (2001).
 */
import { type BalancerDeps, EndpointSetBalancer } from './base.ts';
import { uniformAllowed } from './choose.ts';
import { RANDOM30_RANGE } from './random-source.ts';

/** Least chance the slower of two tied endpoints is chosen (keeps its latency estimate fresh). */
const TIE_FLOOR = 0.05;

export class LeastLoadedBalancer extends EndpointSetBalancer {
  readonly name = 'LeastLoaded';

  protected choose(cands: Int32Array | undefined, exclude: ReadonlySet<string> | undefined): number {
    const a = uniformAllowed(this.states, cands, exclude, this.random);
    if (a < 0) return -1;
    const b = uniformAllowed(this.states, cands, exclude, this.random, a);
    if (b < 0) return a;
    const sa = this.states[a]!;
    const sb = this.states[b]!;
    if (sa.inFlight !== sb.inFlight) return sa.inFlight < sb.inFlight ? a : b;
    // Tie (the common case at low concurrency): an unmeasured endpoint wins, so it gets probed;
    // otherwise a weighted coin favouring the lower latency, never below TIE_FLOOR either way, so
    // the slower endpoint keeps being sampled and its latency can recover.
    const la = sa.ewmaMs;
    const lb = sb.ewmaMs;
    if (la < 0 || lb < 0) return la <= lb ? a : b;
    let pA = (lb + 1) / (la + lb + 2);
    if (pA < TIE_FLOOR) pA = TIE_FLOOR;
    else if (pA > 1 - TIE_FLOOR) pA = 1 - TIE_FLOOR;
    return this.random() < pA * RANDOM30_RANGE ? a : b;
  }
}

export function createLeastLoaded(deps: BalancerDeps): LeastLoadedBalancer {
  return new LeastLoadedBalancer(deps);
}
