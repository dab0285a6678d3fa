/**
 * @module sidecar/policy/defaults
 * The ONE table of resilience defaults (docs/resilience.md repeats it). Where mesher differs from
 * the original, the comment says why.
 */
import { DEFAULT_FAILURE_ERROR_CODES, DEFAULT_FAILURE_STATUSES } from '../breaker/classifier.ts';
import type { RateLimitConfig } from '../ratelimit/rate-limiter.ts';
import type { ServicePolicy } from './types.ts';

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export { deepFreeze };

export const DEFAULT_SERVICE_POLICY: ServicePolicy = deepFreeze({
  timeouts: {
    connectMs: 3_000, // new: the original had no separate connect timeout
    perTryMs: 30_000, // cse.isolation.Consumer.timeoutInMilliseconds: the original's per-attempt transport timeout
    requestMs: 60_000, // new: bounds retries + backoff, which the original never did
  },
  breaker: {
    enabled: true, // original: false. Circuit breaking is a core duty of the sidecar (issue 4)
    enforced: true, // false = shadow mode (new)
    forceOpen: false,
    forceClosed: false,
    requestVolumeThreshold: 20, // Hystrix default
    errorThresholdPercentage: 50, // Hystrix default
    sleepWindowMs: 15_000, // cse.circuitBreaker...sleepWindowInMilliseconds
    rollingWindowMs: 10_000, // Hystrix metrics.rollingStats.timeInMilliseconds
    rollingBuckets: 10, // Hystrix metrics.rollingStats.numBuckets
    maxConcurrentRequests: 1_000, // cse.isolation...maxConcurrentRequests (bulkhead)
    classifier: {
      failureStatuses: DEFAULT_FAILURE_STATUSES, // every 5xx (original: only statuses mapped in transport.failure)
      failureErrorCodes: DEFAULT_FAILURE_ERROR_CODES, // timeouts, connect failures, resets, bad responses
    },
  },
  fallback: {
    enabled: true,
    force: false,
    policy: 'throwexception',
  },
  retry: {
    enabled: true, // original: false. Safe because of the idempotency rule and the budget
    retryOnSame: 0,
    retryOnNext: 2, // 3 attempts on 3 different endpoints
    retryOnStatuses: [500, 502, 503, 504], // idempotent methods only
    retryNonIdempotent: false, // original retried every method
    backoff: {
      kind: 'exponential',
      minMs: 25, // original: 0 (immediate)
      maxMs: 1_000,
      jitter: 'full',
    },
  },
  retryBudget: {
    enabled: true, // new
    percent: 20, // retries add at most 20% to live traffic
    minRetriesPerSec: 3, // floor so low-traffic services can still retry
    windowMs: 10_000,
  },
  outlier: {
    enabled: true, // new: the original had no outlier detection
    consecutiveFailures: 5,
    failureRatePercent: 50,
    failureRateMinRequests: 20,
    windowMs: 10_000,
    baseEjectionMs: 30_000,
    maxEjectionMs: 300_000,
    maxEjectionPercent: 50,
  },
  fault: {
    delayPercent: 0,
    delayFixedMs: 0,
    abortPercent: 0,
    abortHttpStatus: 0, // must be set (200-599) when abort.percent > 0
  },
} satisfies ServicePolicy);

/** No limits unless configured (the original shipped a provider-wide 100 req/s cap). */
export const DEFAULT_RATE_LIMIT: RateLimitConfig = deepFreeze({
  enabled: true,
  enforced: true,
  limits: Object.create(null) as Record<string, never>,
  fallback: null,
});

/** A limit at or above this means "unlimited" (the original's unset value, 2^31 - 1). */
export const UNLIMITED_QPS = 2_147_483_647;
