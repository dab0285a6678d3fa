/**
 * @module sidecar/balancer/base
 * The part every strategy shares: the endpoint set and its per-endpoint state (kept across
 * `update()` for keys that stay, dropped for keys that go), call accounting (`onStart`/`onFinish`),
 * zone-aware preference and the `unavailable` cases. A strategy only implements `choose()`: pick
 * one index among a candidate list, skipping excluded keys.
 *
 * Hot path: `pick()` allocates nothing in the common case. Each endpoint's `ok` result is prebuilt,
 * zone tiers are cached, and strategies filter excluded keys lazily instead of copying arrays.
 */
import type { Clock, Random } from '../../shared/clock.ts';
import type { Endpoint } from '../discovery/types.ts';
import { EndpointState } from './endpoint-state.ts';
import { type Random30, random30From } from './random-source.ts';
import type { Balancer, CallReport, EndpointStats, PickRequest, PickResult } from './types.ts';
import { ZonePreference } from './zone.ts';

/** What a strategy is built with (resolved by the registry: system clock and Math.random by default). */
export interface BalancerDeps {
  readonly clock: Clock;
  readonly random: Random;
}

export const UNAVAILABLE: PickResult = Object.freeze({ kind: 'unavailable' });

export abstract class EndpointSetBalancer implements Balancer {
  abstract readonly name: string;
  protected readonly clock: Clock;
  /** Random integers in [0, 2^30) (see ./random-source.ts for why not doubles). */
  protected readonly random: Random30;
  /** The current endpoints' state, in the order `update()` gave them (duplicate keys dropped). */
  protected states: EndpointState[] = [];
  protected byKey = new Map<string, EndpointState>();
  readonly #zones = new ZonePreference();

  constructor(deps: BalancerDeps) {
    this.clock = deps.clock;
    this.random = random30From(deps.random);
  }

  update(endpoints: readonly Endpoint[]): void {
    const next: EndpointState[] = [];
    const nextByKey = new Map<string, EndpointState>();
    for (const ep of endpoints) {
      if (ep === null || typeof ep !== 'object' || nextByKey.has(ep.key)) continue;
      let st = this.byKey.get(ep.key);
      if (st === undefined) st = new EndpointState(ep);
      else st.refresh(ep);
      next.push(st);
      nextByKey.set(ep.key, st);
    }
    this.states = next;
    this.byKey = nextByKey;
    this.#zones.reset(next.map((s) => s.endpoint));
    this.endpointsChanged();
  }

  pick(req?: PickRequest): PickResult {
    if (this.states.length === 0) return UNAVAILABLE;
    const ex = req?.exclude;
    const exclude = ex !== undefined && ex.size > 0 ? ex : undefined;
    const zone = req?.zone;
    if (zone !== undefined) {
      const tiers = this.#zones.tiers(zone);
      for (let t = 0; t < tiers.length; t++) {
        const i = this.choose(tiers[t], exclude);
        if (i >= 0) return this.states[i]!.result;
      }
    }
    const i = this.choose(undefined, exclude);
    return i >= 0 ? this.states[i]!.result : UNAVAILABLE;
  }

  onStart(endpoint: Endpoint): void {
    const st = endpoint == null ? undefined : this.byKey.get(endpoint.key);
    if (st !== undefined) st.start();
  }

  onFinish(endpoint: Endpoint, report: CallReport): void {
    const st = endpoint == null ? undefined : this.byKey.get(endpoint.key);
    if (st === undefined) return; // removed (or never known): its state is gone, nothing to account
    st.finish(report ?? { ok: false, latencyMs: 0 }, this.clock.now());
    this.reported(st);
  }

  stats(): readonly EndpointStats[] {
    return this.states.map((s) => s.stats());
  }

  /**
   * Choose among `cands` (indices into `states`; all of them when undefined), never returning an
   * index whose key is in `exclude`. Returns -1 when every candidate is excluded. Never called with
   * an empty `states`, nor with an empty `cands`.
   */
  protected abstract choose(cands: Int32Array | undefined, exclude: ReadonlySet<string> | undefined): number;

  /** Hook: the endpoint set changed (after `states`/`byKey` were replaced). */
  protected endpointsChanged(): void {}

  /** Hook: a call to `st` finished and its state was updated. */
  protected reported(_st: EndpointState): void {}
}
