/**
 * @module sidecar/policy/parse-rate-limit
 * The flowcontrol keys (`cse.flowcontrol.*`, or `servicecomb.flowcontrol.*`, which wins):
 *
 *   <side>.qps.enabled              boolean, default true
 *   <side>.qps.enforced             boolean, default true (false = shadow mode; new)
 *   <side>.qps.limit.<name>         requests/s for one target service (Consumer) or source service (Provider)
 *   <side>.qps.burst.<name>         bucket size for that limit (new; default max(1, limit))
 *   <side>.qps.global.limit|burst   one bucket shared by every name without its own limit
 *
 * `<side>` is Consumer or Provider. The original had no consumer-side global limit; mesher accepts
 * one for symmetry. A limit ≥ 2147483647 (the original's "unset") means no limit. Names may contain
 * dots: everything after `limit.` is the name.
 */
import type { RateLimitConfig } from '../ratelimit/rate-limiter.ts';
import { type BucketSpec, defaultBurst } from '../ratelimit/token-bucket.ts';
import { DEFAULT_RATE_LIMIT, deepFreeze, UNLIMITED_QPS } from './defaults.ts';
import type { PolicyIssue } from './types.ts';
import { bool, type Coercer, num } from './values.ts';

export const FLOWCONTROL_PREFIXES: readonly { readonly prefix: string; readonly rank: number }[] = [
  { prefix: 'cse.flowcontrol.', rank: 0 },
  { prefix: 'servicecomb.flowcontrol.', rank: 1 },
];

type Side = 'Consumer' | 'Provider';
interface Slot {
  value: unknown;
  rank: number;
  key: string;
}
interface SideSlots {
  enabled?: Slot;
  enforced?: Slot;
  globalLimit?: Slot;
  globalBurst?: Slot;
  limits: Map<string, Slot>;
  bursts: Map<string, Slot>;
}

const rate = num(0);
const burst = num(1);

/** Collects flowcontrol keys; `finish()` turns them into the two RateLimitConfigs. */
export class RateLimitCollector {
  readonly #sides: Record<Side, SideSlots> = {
    Consumer: { limits: new Map(), bursts: new Map() },
    Provider: { limits: new Map(), bursts: new Map() },
  };
  readonly #issues: PolicyIssue[];

  constructor(issues: PolicyIssue[]) {
    this.#issues = issues;
  }

  /** Returns false when `key` is not a flowcontrol key. */
  offer(key: string, value: unknown): boolean {
    const pre = FLOWCONTROL_PREFIXES.find((p) => key.startsWith(p.prefix));
    if (pre === undefined) return false;
    const rest = key.slice(pre.prefix.length);
    const m = /^(Consumer|Provider)\.qps\.(.+)$/.exec(rest);
    if (!m) {
      this.#issues.push({ key, message: 'unknown flowcontrol key (expected Consumer|Provider.qps.*)' });
      return true;
    }
    const side = this.#sides[m[1] as Side];
    const prop = m[2]!;
    const put = (slotName: 'enabled' | 'enforced' | 'globalLimit' | 'globalBurst', coerce: Coercer) => {
      const c = coerce(value);
      if (!c.ok) this.#issues.push({ key, message: c.message });
      else if (!side[slotName] || side[slotName]!.rank <= pre.rank)
        side[slotName] = { value: c.value, rank: pre.rank, key };
    };
    const putNamed = (map: Map<string, Slot>, name: string, coerce: Coercer) => {
      if (name === '') return this.#issues.push({ key, message: 'is missing the service name' });
      const c = coerce(value);
      if (!c.ok) this.#issues.push({ key, message: c.message });
      else if ((map.get(name)?.rank ?? -1) <= pre.rank)
        map.set(name, { value: c.value, rank: pre.rank, key });
    };
    if (prop === 'enabled') put('enabled', bool);
    else if (prop === 'enforced') put('enforced', bool);
    else if (prop === 'global.limit') put('globalLimit', rate);
    else if (prop === 'global.burst') put('globalBurst', burst);
    else if (prop.startsWith('limit.')) putNamed(side.limits, prop.slice(6), rate);
    else if (prop.startsWith('burst.')) putNamed(side.bursts, prop.slice(6), burst);
    else
      this.#issues.push({
        key,
        message:
          'unknown flowcontrol property (expected enabled, enforced, limit.<name>, burst.<name>, global.limit, global.burst)',
      });
    return true;
  }

  finish(): { consumer: RateLimitConfig; provider: RateLimitConfig } {
    return { consumer: this.#build(this.#sides.Consumer), provider: this.#build(this.#sides.Provider) };
  }

  #build(s: SideSlots): RateLimitConfig {
    const spec = (limit: Slot | undefined, b: Slot | undefined): BucketSpec | null => {
      if (limit === undefined) {
        if (b !== undefined)
          this.#issues.push({ key: b.key, message: 'a burst needs a limit for the same name' });
        return null;
      }
      const r = limit.value as number;
      if (r >= UNLIMITED_QPS) return null;
      return { ratePerSec: r, burst: b === undefined ? defaultBurst(r) : (b.value as number) };
    };
    const limits: Record<string, BucketSpec> = Object.create(null);
    for (const [name, slot] of s.limits) {
      const sp = spec(slot, s.bursts.get(name));
      if (sp) limits[name] = sp;
    }
    for (const [name, slot] of s.bursts) {
      if (!s.limits.has(name)) spec(undefined, slot);
    }
    const fallback = spec(s.globalLimit, s.globalBurst);
    const enabled = (s.enabled?.value as boolean | undefined) ?? DEFAULT_RATE_LIMIT.enabled;
    const enforced = (s.enforced?.value as boolean | undefined) ?? DEFAULT_RATE_LIMIT.enforced;
    if (enabled && enforced && fallback === null && Object.keys(limits).length === 0)
      return DEFAULT_RATE_LIMIT;
    return deepFreeze({ enabled, enforced, limits, fallback });
  }
}
