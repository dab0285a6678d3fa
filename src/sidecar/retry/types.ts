/**
 * @module sidecar/retry/types
 * Configuration of the retry policy, its backoff and the retry budget. Produced (frozen) by
 * src/sidecar/policy; read by the retry step through ./retry-policy.ts, ./backoff.ts and
 * ./retry-budget.ts.
 */

export type BackoffKind = 'exponential' | 'constant' | 'zero';
/** 'full': uniform in [0, d]; 'equal': d/2 + uniform in [0, d/2]; 'none': exactly d. */
export type JitterKind = 'full' | 'equal' | 'none';

export interface BackoffConfig {
  readonly kind: BackoffKind;
  /** First delay (exponential) or every delay (constant), ms. */
  readonly minMs: number;
  /** Cap on any delay, ms. */
  readonly maxMs: number;
  /** Jitter for the exponential kind (constant and zero never jitter). */
  readonly jitter: JitterKind;
}

export interface RetryConfig {
  /** false: one attempt only, whatever went wrong. */
  readonly enabled: boolean;
  /** Extra tries on the same endpoint before moving on. */
  readonly retryOnSame: number;
  /** Further endpoints to try. maxAttempts = (retryOnSame + 1) × (retryOnNext + 1). */
  readonly retryOnNext: number;
  /** Upstream statuses worth retrying (idempotent methods only unless retryNonIdempotent). */
  readonly retryOnStatuses: readonly number[];
  /** Also retry POST/PATCH/... after a response or a timeout (connect failures are always safe). */
  readonly retryNonIdempotent: boolean;
  readonly backoff: BackoffConfig;
}

export interface RetryBudgetConfig {
  /** false: retries are limited only by the policy's attempt count. */
  readonly enabled: boolean;
  /** Retries may add at most this share (percent) of the requests seen in the window. */
  readonly percent: number;
  /** Floor: this many retries per second are always allowed, so low traffic can still retry. */
  readonly minRetriesPerSec: number;
  /** Sliding window, ms (10 one-tenth buckets). */
  readonly windowMs: number;
}
