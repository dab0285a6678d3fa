/**
 * @module sidecar/ratelimit/marker-limiter
 * Token buckets for ServiceComb's marker-based `servicecomb.rateLimiting.<marker>` policies: one
 * bucket per policy, shared by every call its marker matches (on either side; see
 * src/sidecar/governance/match.ts for which side a match rule belongs to). A call takes a token
 * from the first matching policy only (policies restricted with `services` first, then by name).
 *
 * `rate` permits per `limitRefreshPeriod` (resilience4j's limitForPeriod per refresh period)
 * becomes a bucket refilling continuously at rate / period with a burst of `rate` (at least 1):
 * at most `rate` calls at once after a quiet period, `rate` per period sustained. resilience4j
 * refreshes all permits at each period boundary instead, which lets up to 2 × rate through
 * across a boundary; the bucket never does.
 *
 * `update()` runs once per config version: the per-direction match index is rebuilt, buckets of
 * policies whose rate and period did not change keep their tokens, others start full, removed
 * ones are dropped. The store is bounded by the config (≤ 256 policies), never by traffic.
 */
import type { Clock } from '../../shared/clock.ts';
import type { CallContext, Direction } from '../chain/types.ts';
import { MarkerIndex } from '../governance/match.ts';
import type { GovernanceConfig, RateLimitingPolicy } from '../governance/types.ts';
import { type BucketSpec, TokenBucket } from './token-bucket.ts';

export interface MarkerBucket {
  /** The policy (= marker) name. */
  readonly name: string;
  readonly bucket: TokenBucket;
  /** The 429's message, made once per version. */
  readonly message: string;
}

export interface MarkerLimiterCounters {
  readonly [name: string]: {
    readonly allowed: number;
    readonly limited: number;
    readonly tokens: number;
    readonly rate: number;
    readonly limitRefreshPeriodMs: number;
  };
}

/** The bucket for a policy: `rate` per period sustained, `rate` at once (at least 1). */
export function markerBucketSpec(p: RateLimitingPolicy): BucketSpec {
  return { ratePerSec: (p.rate * 1000) / p.limitRefreshPeriodMs, burst: Math.max(1, p.rate) };
}

export class MarkerRateLimiter {
  readonly #clock: Clock;
  #slots = new Map<string, { policy: RateLimitingPolicy; slot: MarkerBucket }>();
  #index = new MarkerIndex<MarkerBucket>([]);

  constructor(config: GovernanceConfig, deps: { readonly clock: Clock }) {
    this.#clock = deps.clock;
    this.update(config);
  }

  update(config: GovernanceConfig): void {
    const next = new Map<string, { policy: RateLimitingPolicy; slot: MarkerBucket }>();
    const items: { item: MarkerBucket; marker: GovernanceConfig['markers'][string] }[] = [];
    for (const policy of config.rateLimiting) {
      const marker = config.markers[policy.name];
      if (marker === undefined) continue;
      const old = this.#slots.get(policy.name);
      const same =
        old !== undefined &&
        old.policy.rate === policy.rate &&
        old.policy.limitRefreshPeriodMs === policy.limitRefreshPeriodMs;
      const slot: MarkerBucket = same
        ? old.slot
        : {
            name: policy.name,
            bucket: new TokenBucket(markerBucketSpec(policy), this.#clock),
            message: `Rate limit exceeded (rateLimiting policy "${policy.name}": ${policy.rate} per ${policy.limitRefreshPeriodMs} ms)`,
          };
      next.set(policy.name, { policy, slot });
      items.push({ item: slot, marker });
    }
    this.#slots = next;
    this.#index = new MarkerIndex(items);
  }

  /** Whether any policy can match calls in `direction` (leave the step out otherwise). */
  has(direction: Direction): boolean {
    return this.#index.has(direction);
  }

  /** The bucket of the first policy whose marker matches `call`, or undefined. Allocates nothing. */
  match(call: CallContext): MarkerBucket | undefined {
    return this.#index.first(call);
  }

  counters(): MarkerLimiterCounters {
    const out: Record<string, MarkerLimiterCounters[string]> = {};
    for (const [name, { policy, slot }] of this.#slots) {
      out[name] = {
        allowed: slot.bucket.allowed,
        limited: slot.bucket.limited,
        tokens: slot.bucket.tokens,
        rate: policy.rate,
        limitRefreshPeriodMs: policy.limitRefreshPeriodMs,
      };
    }
    return out;
  }
}
