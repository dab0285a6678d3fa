/**
 * @module sidecar/breaker/types
 * The circuit breaker's configuration, the gate's admission results and its counters. The
 * circuit-breaker step (src/sidecar/steps) calls `CircuitBreaker.tryAcquire()` before the call and
 * `permit.release(outcome)` exactly once after it; nothing else in the data plane touches a breaker.
 */

/** What the step knows about how a call ended: an upstream status, or the proxy's error code. */
export interface CallSummary {
  /** Upstream HTTP status, when a response head arrived. */
  readonly status?: number;
  /** MeshError code when the proxy failed the call itself (UPSTREAM_TIMEOUT, UPSTREAM_CONNECT...). */
  readonly errorCode?: string;
  /** How long the call took, ms (for slow-call accrual; the classifier ignores it). */
  readonly durationMs?: number;
}

export type Verdict = 'success' | 'failure';

/**
 * How a permit is released: a call summary (classified by the breaker's classifier), an explicit
 * verdict, or 'ignored' (the client went away; the call counts neither way but frees its slot).
 */
export type ReleaseOutcome = CallSummary | Verdict | 'ignored';

export interface ClassifierConfig {
  /** HTTP statuses counted as failures (default: every 5xx). */
  readonly failureStatuses: readonly number[];
  /** Proxy error codes counted as failures (default: timeouts, connect failures, resets, bad responses). */
  readonly failureErrorCodes: readonly string[];
}

export interface BreakerConfig {
  /** Accrue statistics and (when enforced) open the circuit. false = no circuit; the bulkhead still applies. */
  readonly enabled: boolean;
  /** false = shadow mode: count what would have been rejected, but let it through. */
  readonly enforced: boolean;
  readonly forceOpen: boolean;
  readonly forceClosed: boolean;
  /** Minimum requests in the rolling window before the error rate can open the circuit. */
  readonly requestVolumeThreshold: number;
  /** Error rate (0-100, percent) at or above which the circuit opens. */
  readonly errorThresholdPercentage: number;
  /** How long an open circuit rejects before letting one trial request through (ms). */
  readonly sleepWindowMs: number;
  /** Rolling window length (ms) and its bucket count. */
  readonly rollingWindowMs: number;
  readonly rollingBuckets: number;
  /** Bulkhead: concurrent calls through this breaker; excess is rejected. */
  readonly maxConcurrentRequests: number;
  readonly classifier: ClassifierConfig;
}

export type CircuitState = 'closed' | 'open' | 'halfOpen';

/** The result of `tryAcquire()`; exactly one object is allocated per call. */
export type Admission = Permit | Rejection;

export interface Permit {
  readonly kind: 'allowed';
  /** True when this call is the single half-open trial. */
  readonly trial: boolean;
  /** True when the breaker would have rejected this call but is in shadow mode. */
  readonly shadowed: boolean;
  /** Report how the call went. Call exactly once; later calls are ignored. */
  release(outcome: ReleaseOutcome): void;
}

export interface Rejection {
  readonly kind: 'rejected';
  /** 'open' → 503 CIRCUIT_OPEN with Retry-After; 'bulkhead' → 503 BULKHEAD_FULL. */
  readonly reason: 'open' | 'bulkhead';
  /** Suggested client back-off (ms); 0 for bulkhead rejections. Round up to seconds for Retry-After. */
  readonly retryAfterMs: number;
}

/** Monotonic counters plus current gauges, for /metrics and the admin API. */
export interface BreakerCounters {
  readonly state: CircuitState;
  /** Calls that asked the gate (tryAcquire). */
  readonly attempts: number;
  readonly successes: number;
  readonly failures: number;
  /** Calls released as 'ignored'. */
  readonly ignored: number;
  /** Bulkhead rejections. */
  readonly rejections: number;
  /** Rejections because the circuit was open (or forced open). */
  readonly shortCircuits: number;
  /** Calls shadow mode let through that an enforced breaker would have rejected. */
  readonly shadowRejections: number;
  readonly stateChanges: number;
  readonly inFlight: number;
  /** Rolling-window view at the time of the snapshot. */
  readonly windowRequests: number;
  readonly windowErrors: number;
}
