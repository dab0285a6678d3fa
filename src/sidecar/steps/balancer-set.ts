/**
 * @module sidecar/steps/balancer-set
 * One `Balancer` per target service, created by strategy name from config (per-service override,
 * else the global strategy) and kept in sync with the directory: a balancer is re-fed endpoints
 * only when the snapshot's `revision` changes, so the hot path compares one string and picks.
 * A new set built for a new config version adopts the old set's balancers whose strategy did not
 * change, so per-endpoint state (load, latency) survives hot reloads.
 */
import type { BalancerView } from '../admin/instances.ts';
import type { Balancer } from '../balancer/types.ts';
import type { LoadBalanceConfig } from '../config/types.ts';
import type { ServiceSnapshot } from '../discovery/types.ts';

/** Creates a balancer by strategy name (src/sidecar/balancer/registry.ts `createBalancer`). */
export type BalancerFactory = (strategy: string) => Balancer;

interface Entry {
  readonly service: string;
  /** The app as passed to `get` (undefined = the caller's own app). */
  readonly app: string | undefined;
  readonly subset: string | undefined;
  readonly strategy: string;
  readonly balancer: Balancer;
  /** The snapshot object last fed in (identity check first, revision as the fallback). */
  snapshot: ServiceSnapshot | undefined;
  revision: string | undefined;
}

export class BalancerSet {
  readonly #config: LoadBalanceConfig;
  readonly #factory: BalancerFactory;
  readonly #entries = new Map<string, Entry>();

  constructor(config: LoadBalanceConfig, factory: BalancerFactory, previous?: BalancerSet) {
    this.#config = config;
    this.#factory = factory;
    if (previous) {
      for (const [key, entry] of previous.#entries) {
        if (this.#strategyFor(entry.service) === entry.strategy) this.#entries.set(key, entry);
      }
    }
  }

  #strategyFor(service: string): string {
    return this.#config.perService[service]?.strategy ?? this.#config.strategy;
  }

  /**
   * The balancer for `service` (in `app`; `subset` names a routed subset of its endpoints, which
   * gets a balancer of its own), fed with `snapshot` if it changed since last time.
   */
  get(service: string, app: string | undefined, snapshot: ServiceSnapshot, subset?: string): Balancer {
    let key = app === undefined ? service : `${service}\u0000${app}`;
    if (subset !== undefined) key = `${key}\u0000${subset}`;
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      const strategy = this.#strategyFor(service);
      entry = {
        service,
        app,
        subset,
        strategy,
        balancer: this.#factory(strategy),
        snapshot: undefined,
        revision: undefined,
      };
      this.#entries.set(key, entry);
    }
    if (entry.snapshot !== snapshot) {
      if (entry.revision !== snapshot.revision) {
        entry.balancer.update(snapshot.endpoints);
        entry.revision = snapshot.revision;
      }
      entry.snapshot = snapshot;
    }
    return entry.balancer;
  }

  /**
   * Every balancer of `service` in `app` (`ownApp` is what an undefined app meant): the default
   * selection's and one per route subset, with their per-endpoint stats. Admin path, not hot.
   */
  describe(service: string, app: string, ownApp: string): BalancerView[] {
    const out: BalancerView[] = [];
    for (const e of this.#entries.values()) {
      if (e.service !== service || (e.app ?? ownApp) !== app) continue;
      out.push({ route: e.subset ?? '*', strategy: e.strategy, endpoints: e.balancer.stats?.() ?? [] });
    }
    return out;
  }

  /** Strategy name per tracked service (admin/debugging). */
  strategies(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, entry] of this.#entries) out[key.replace('\u0000', '@')] = entry.strategy;
    return out;
  }
}
