/**
 * @module sidecar/balancer/random
 * Random: a uniform choice among the allowed endpoints (exactly uniform even when some are
 * excluded: see `uniformAllowed`).
 */
import { type BalancerDeps, EndpointSetBalancer } from './base.ts';
import { uniformAllowed } from './choose.ts';

export class RandomBalancer extends EndpointSetBalancer {
  readonly name = 'Random';

  protected choose(cands: Int32Array | undefined, exclude: ReadonlySet<string> | undefined): number {
    return uniformAllowed(this.states, cands, exclude, this.random);
  }
}

export function createRandom(deps: BalancerDeps): RandomBalancer {
  return new RandomBalancer(deps);
}
