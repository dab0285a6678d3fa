/**
 * @module sidecar/balancer/round-robin
 * RoundRobin: endpoints in turn, starting at a random position per balancer (as the original does,
 * so many sidecars started together do not all hit the first instance first). Excluded endpoints
 * are skipped in place; the cursor survives `update()` and wraps to the new size.
 */
import { type BalancerDeps, EndpointSetBalancer } from './base.ts';
import { drawIndex, excluded } from './choose.ts';

/** Upper bound of the random starting cursor (any value works: it is reduced modulo the size). */
const START_RANGE = 1 << 30;

export class RoundRobinBalancer extends EndpointSetBalancer {
  readonly name: string = 'RoundRobin';
  #cursor: number;

  constructor(deps: BalancerDeps) {
    super(deps);
    this.#cursor = drawIndex(deps.random, START_RANGE);
  }

  protected choose(cands: Int32Array | undefined, exclude: ReadonlySet<string> | undefined): number {
    const count = cands === undefined ? this.states.length : cands.length;
    let pos = this.#cursor % count;
    for (let tries = 0; tries < count; tries++) {
      const i = cands === undefined ? pos : cands[pos]!;
      if (!excluded(this.states[i]!, exclude)) {
        this.#cursor = pos + 1;
        return i;
      }
      pos = pos + 1 === count ? 0 : pos + 1;
    }
    return -1;
  }
}

export function createRoundRobin(deps: BalancerDeps): RoundRobinBalancer {
  return new RoundRobinBalancer(deps);
}
