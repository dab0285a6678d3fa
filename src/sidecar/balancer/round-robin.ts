/**
 * @module sidecar/balancer/round-robin
 * RoundRobin: endpoints in turn, starting at a random position per balancer (as the original does,
 * so many sidecars started together do not all hit the first instance first). Excluded endpoints
 * are skipped in place; the cursor survives `update()` and wraps to the new size.
 */
import { type BalancerDeps, EndpointSetBalancer } from './base.ts';
import { excluded } from './choose.ts';

export class RoundRobinBalancer extends EndpointSetBalancer {
  readonly name: string = 'RoundRobin';
  /** Next position to try; random at first (any value works: it is reduced modulo the size). */
  #cursor: number;

  constructor(deps: BalancerDeps) {
    super(deps);
    this.#cursor = this.random();
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
