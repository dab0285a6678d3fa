/**
 * @module sidecar/steps/rate-limit
 * Rate limiting (issue 4 item 5) with token buckets from src/sidecar/ratelimit:
 *
 * - consumer side (outbound chain): per target service (`cse.flowcontrol.Consumer.qps.limit.<svc>`,
 *   a consumer `global` bucket for the rest), plus a route's own `rateLimit: {qps, burst}`
 *   (a bucket per route, kept while the route table is);
 * - provider side (inbound chain): per source service (`…Provider.qps.limit.<src>`), callers
 *   without their own limit (or unknown callers) sharing the provider `global` bucket.
 *
 * - marker-based (`servicecomb.matchGroup.<name>` + `servicecomb.rateLimiting.<name>`, the
 *   Java chassis 2.x / go-chassis v2 form): `createMarkerRateLimit`, one per direction, in the
 *   chain only when some marker rule can match that direction's calls.
 *
 * Limited → 429 RATE_LIMITED with `Retry-After` (whole seconds until the next token, ≥ 1). No
 * limit applies unless configured: with nothing configured the step is not in the chain at all.
 */
import type { Clock } from '../../shared/clock.ts';
import type { Step } from '../chain/types.ts';
import type { MarkerRateLimiter } from '../ratelimit/marker-limiter.ts';
import { rateLimitedError } from '../ratelimit/rate-limited-error.ts';
import type { RateLimiter } from '../ratelimit/rate-limiter.ts';
import { TokenBucket } from '../ratelimit/token-bucket.ts';
import type { RouteRateLimit } from '../routing/types.ts';
import type { GovernanceCounters } from '../telemetry/counters.ts';
import { routeDecisionOf } from './route.ts';

export interface RateLimitStepDeps {
  readonly limiter: RateLimiter;
  readonly clock: Clock;
  readonly counters?: GovernanceCounters;
  /** Apply routes' `rateLimit` (consumer side). Default true. */
  readonly routes?: boolean;
}

/** Outbound: limit calls to `call.service` (and per route). */
export function createConsumerRateLimit(deps: RateLimitStepDeps): Step {
  const { limiter, clock, counters } = deps;
  const routeBuckets = new WeakMap<RouteRateLimit, TokenBucket>();
  const useRoutes = deps.routes ?? true;
  return function consumerRateLimit(call, next) {
    const r = limiter.tryTake(call.service);
    if (!r.ok) {
      counters?.rateLimited.inc(call.service, 'outbound');
      return Promise.reject(rateLimitedError(call.service, r.retryAfterMs));
    }
    const spec = useRoutes ? routeDecisionOf(call)?.policy?.rateLimit : undefined;
    if (spec !== undefined) {
      let bucket = routeBuckets.get(spec);
      if (bucket === undefined) {
        bucket = new TokenBucket({ ratePerSec: spec.qps, burst: spec.burst }, clock);
        routeBuckets.set(spec, bucket);
      }
      const rr = bucket.tryTake();
      if (!rr.ok) {
        counters?.rateLimited.inc(call.service, 'outbound');
        return Promise.reject(rateLimitedError(call.service, rr.retryAfterMs));
      }
    }
    return next(call);
  };
}

/** Inbound: limit calls from `call.source.service` (unknown callers use the global bucket). */
export function createProviderRateLimit(deps: RateLimitStepDeps): Step {
  const { limiter, counters } = deps;
  return function providerRateLimit(call, next) {
    const source = call.source.service ?? '';
    const r = limiter.tryTake(source);
    if (!r.ok) {
      counters?.rateLimited.inc(source === '' ? 'unknown' : source, 'inbound');
      return Promise.reject(rateLimitedError(source === '' ? call.service : source, r.retryAfterMs));
    }
    return next(call);
  };
}

export interface MarkerRateLimitStepDeps {
  readonly limiter: MarkerRateLimiter;
  readonly counters?: GovernanceCounters;
}

/**
 * Either direction: calls matching a rateLimiting policy's marker share its bucket. A call no
 * marker matches costs the index lookup and nothing else.
 */
export function createMarkerRateLimit(deps: MarkerRateLimitStepDeps): Step {
  const { limiter, counters } = deps;
  return function markerRateLimit(call, next) {
    const m = limiter.match(call);
    if (m === undefined) return next(call);
    const r = m.bucket.tryTake();
    if (r.ok) return next(call);
    const who = call.direction === 'inbound' ? (call.source.service ?? 'unknown') : call.service;
    counters?.rateLimited.inc(who, call.direction);
    return Promise.reject(rateLimitedError(call.service, r.retryAfterMs, m.message));
  };
}
