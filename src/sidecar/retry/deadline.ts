/**
 * @module sidecar/retry/deadline
 * Time arithmetic the retry step needs between attempts, kept pure so it is tested without sockets:
 * how long the next attempt may take (the per-try timeout, cut short by what is left of the
 * overall request timeout) and whether a backoff still fits before the request deadline. When
 * nothing is left the step answers 504 UPSTREAM_TIMEOUT.
 */
import type { TimeoutPolicy } from '../policy/types.ts';

/**
 * Timeout for the next attempt, in ms, given how long the call has run: min(perTryMs, requestMs −
 * elapsed). 0 means the request deadline has passed (do not start another attempt).
 */
export function attemptTimeoutMs(timeouts: TimeoutPolicy, elapsedMs: number): number {
  const left = timeouts.requestMs - elapsedMs;
  if (left <= 0) return 0;
  return left < timeouts.perTryMs ? left : timeouts.perTryMs;
}

/**
 * Whether waiting `backoffMs` and then making an attempt of at least `minAttemptMs` still fits in
 * the request deadline (a retry that would time out immediately is not worth its budget token).
 */
export function retryFits(
  timeouts: TimeoutPolicy,
  elapsedMs: number,
  backoffMs: number,
  minAttemptMs = 1,
): boolean {
  return timeouts.requestMs - elapsedMs - backoffMs >= minAttemptMs;
}
