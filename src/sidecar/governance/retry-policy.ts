/**
 * @module sidecar/governance/retry-policy
 * A `servicecomb.retry.<marker>` policy as the retry loop of src/sidecar/steps/retry.ts asks for it
 * (`AttemptPolicy` + `Backoff`), with Java chassis 2.x semantics:
 *
 * - `maxAttempts` counts every try, the first included (resilience4j); 1 = no retry.
 * - Retried: an upstream status in `retryOnResponseStatus`, a timeout (UPSTREAM_TIMEOUT), a
 *   connect failure or a reset before the response (UPSTREAM_CONNECT / UPSTREAM_RESET). As in Java
 *   chassis the method is not checked: the marker (which can name methods) is the opt-in.
 * - Where: retry k (1-based) stays on the same endpoint while k ≤ `retryOnSame`, then every retry
 *   moves to another endpoint. A connect failure or reset always moves on (that instance is
 *   likely gone).
 * - Wait before retry n: FixedInterval → `waitDuration`; RandomBackoff → `initialInterval` ×
 *   `multiplier`^(n-1), uniform within ± `randomizationFactor` of it (resilience4j
 *   ofExponentialRandomBackoff); ExponentialBackoff → the same without randomization. Every wait
 *   is capped at MAX_WAIT_MS, and the retry loop skips a retry whose wait does not fit the call's
 *   deadline.
 *
 * Pure and O(1); built once per policy per config version.
 */
import type { Random } from '../../shared/clock.ts';
import type { Backoff } from '../retry/backoff.ts';
import {
  type AttemptResult,
  RETRY_NEXT,
  RETRY_SAME,
  type RetryDecision,
  STOP,
} from '../retry/retry-policy.ts';
import type { AttemptPolicy } from '../steps/retry.ts';
import type { RetryMarkerPolicy } from './types.ts';

/** No single wait is longer than this, whatever the multiplier (ms). */
export const MAX_WAIT_MS = 60_000;

export class MarkerRetryPolicy implements AttemptPolicy {
  readonly policy: RetryMarkerPolicy;
  readonly maxAttempts: number;
  readonly #statuses = new Uint8Array(600);

  constructor(policy: RetryMarkerPolicy) {
    this.policy = policy;
    this.maxAttempts = policy.maxAttempts;
    for (const s of policy.retryOnResponseStatus) if (s >= 100 && s <= 599) this.#statuses[s] = 1;
  }

  decide(attempt: number, _method: string, result: AttemptResult, replayable = true): RetryDecision {
    if (attempt >= this.maxAttempts || !replayable) return STOP;
    const code = result.errorCode;
    if (code === 'UPSTREAM_CONNECT' || (code === 'UPSTREAM_RESET' && result.afterFirstByte !== true))
      return RETRY_NEXT;
    let retriable: boolean;
    if (code !== undefined) retriable = code === 'UPSTREAM_TIMEOUT';
    else {
      const s = result.status;
      retriable = s !== undefined && s >= 100 && s <= 599 && this.#statuses[s] === 1;
    }
    if (!retriable) return STOP;
    // `attempt` tries done, so the next one is retry number `attempt`.
    return attempt <= this.policy.retryOnSame ? RETRY_SAME : RETRY_NEXT;
  }

  nextAttemptNumber(attempt: number, _decision: RetryDecision): number {
    return attempt + 1;
  }
}

/** The policy's wait before retry n (1 = the first retry), whole ms. */
export function markerBackoff(policy: RetryMarkerPolicy, random: Random): Backoff {
  if (policy.retryStrategy === 'FixedInterval') {
    const d = Math.min(MAX_WAIT_MS, Math.round(policy.waitDurationMs));
    return { delayMs: () => d };
  }
  const factor = policy.retryStrategy === 'RandomBackoff' ? policy.randomizationFactor : 0;
  const { initialIntervalMs, multiplier } = policy;
  return {
    delayMs(retry: number): number {
      const d = Math.min(MAX_WAIT_MS, initialIntervalMs * multiplier ** (Math.max(retry, 1) - 1));
      if (factor === 0) return Math.round(d);
      // uniform in [d × (1 − f), d × (1 + f)], as resilience4j randomizes
      return Math.min(MAX_WAIT_MS, Math.round(d * (1 - factor + 2 * factor * random())));
    },
  };
}
