/**
 * @module sidecar/ratelimit/rate-limiter
 * A keyed store of token buckets: one per configured key, plus an optional shared fallback bucket
 * for keys without their own limit.
 *
 * - Consumer side: key = target service (`cse.flowcontrol.Consumer.qps.limit.<svc>`), no fallback.
 * - Provider side: key = source service (`...Provider.qps.limit.<src>`); sources without their own
 *   limit share the `global.limit` bucket (as in the original: the most specific limit wins, a
 *   source with its own limit does not also drain the global one).
 *
 * No limit applies unless configured. The store is bounded by the config: buckets exist only for
 * configured keys (plus the one fallback), never per unseen caller. `update()` swaps in a new
 * config; buckets whose spec is unchanged keep their tokens, changed or new ones start full,
 * removed ones are dropped. `enforced: false` is shadow mode: limited calls are counted and let
 * through.
 */
import type { Clock } from '../../shared/clock.ts';
import { type BucketSpec, TAKE_OK, type TakeResult, TokenBucket } from './token-bucket.ts';

export interface RateLimitConfig {
  /** false: no limiting at all (the `qps.enabled` key). */
  readonly enabled: boolean;
  /** false: shadow mode, count but never reject. */
  readonly enforced: boolean;
  /** Per-key limits. */
  readonly limits: Readonly<Record<string, BucketSpec>>;
  /** One bucket shared by every key without its own limit; null = those keys are unlimited. */
  readonly fallback: BucketSpec | null;
}

export const NO_RATE_LIMIT: RateLimitConfig = Object.freeze({
  enabled: true,
  enforced: true,
  limits: Object.freeze({}),
  fallback: null,
});

export interface RateLimiterCounters {
  readonly allowed: number;
  readonly limited: number;
  readonly shadowLimited: number;
  /** Per key (and `*` for the fallback bucket): decisions, tokens left and the limit. */
  readonly buckets: Readonly<
    Record<string, { allowed: number; limited: number; tokens: number; ratePerSec: number; burst: number }>
  >;
}

/** The key under which the fallback bucket appears in counters. */
export const FALLBACK_KEY = '*';

function sameSpec(a: BucketSpec | null | undefined, b: BucketSpec | null | undefined): boolean {
  return !!a && !!b && a.ratePerSec === b.ratePerSec && a.burst === b.burst;
}

export class RateLimiter {
  readonly #clock: Clock;
  #config: RateLimitConfig;
  #buckets = new Map<string, TokenBucket>();
  #fallback: TokenBucket | null = null;
  #allowed = 0;
  #limited = 0;
  #shadowLimited = 0;

  constructor(config: RateLimitConfig, deps: { readonly clock: Clock }) {
    this.#clock = deps.clock;
    this.#config = config;
    this.update(config);
  }

  get config(): RateLimitConfig {
    return this.#config;
  }

  /** Replace the configuration, keeping the state of buckets whose limit did not change. */
  update(config: RateLimitConfig): void {
    const next = new Map<string, TokenBucket>();
    for (const key of Object.keys(config.limits)) {
      const spec = config.limits[key]!;
      const old = this.#buckets.get(key);
      next.set(key, old && sameSpec(old.spec, spec) ? old : new TokenBucket(spec, this.#clock));
    }
    const fb = config.fallback;
    this.#fallback =
      fb === null
        ? null
        : this.#fallback && sameSpec(this.#fallback.spec, fb)
          ? this.#fallback
          : new TokenBucket(fb, this.#clock);
    this.#buckets = next;
    this.#config = config;
  }

  /** Decide one call for `key`. O(1): one Map lookup and one bucket update. */
  tryTake(key: string): TakeResult {
    if (!this.#config.enabled) return TAKE_OK;
    const bucket = this.#buckets.get(key) ?? this.#fallback;
    if (bucket === null) return TAKE_OK;
    const res = bucket.tryTake();
    if (res.ok) {
      this.#allowed++;
      return res;
    }
    if (!this.#config.enforced) {
      this.#shadowLimited++;
      return TAKE_OK;
    }
    this.#limited++;
    return res;
  }

  counters(): RateLimiterCounters {
    const buckets: Record<
      string,
      { allowed: number; limited: number; tokens: number; ratePerSec: number; burst: number }
    > = {};
    const put = (k: string, b: TokenBucket) => {
      buckets[k] = {
        allowed: b.allowed,
        limited: b.limited,
        tokens: b.tokens,
        ratePerSec: b.spec.ratePerSec,
        burst: b.spec.burst,
      };
    };
    for (const [k, b] of this.#buckets) put(k, b);
    if (this.#fallback) put(FALLBACK_KEY, this.#fallback);
    return { allowed: this.#allowed, limited: this.#limited, shadowLimited: this.#shadowLimited, buckets };
  }
}
