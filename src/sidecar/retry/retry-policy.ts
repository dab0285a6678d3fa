/**
 * @module sidecar/retry/retry-policy
 * Decides, after one attempt, whether the retry step should try again, and where: on the same
 * endpoint or on the next one. Pure and O(1): a method switch, a status table lookup, arithmetic.
 *
 * - Attempts: maxAttempts = (retryOnSame + 1) × (retryOnNext + 1) as in the original; attempt k
 *   (1-based) runs on endpoint number floor((k - 1) / (retryOnSame + 1)).
 * - A connect failure, or a reset before the first response byte, never reached the application,
 *   so it is safe to retry for any method; it always moves to the next endpoint (that instance is
 *   likely gone), using up the remaining same-endpoint tries; on the last endpoint it retries there.
 * - A retry-on status or a per-try timeout is retried only for idempotent methods (GET, HEAD,
 *   OPTIONS, TRACE, PUT, DELETE) unless `retryNonIdempotent`.
 * - A request whose body could not be kept for replay (`replayable: false`) is never retried.
 * - Whether the budget allows the retry and how long to wait are separate questions
 *   (./retry-budget.ts, ./backoff.ts).
 */
import type { RetryConfig } from './types.ts';

/** What the attempt produced, as the retry step sees it. */
export interface AttemptResult {
  /** Upstream status, when a response head arrived. */
  readonly status?: number;
  /** MeshError code when the proxy failed the attempt itself. */
  readonly errorCode?: string;
  /** For UPSTREAM_RESET: did any response byte arrive first? Default false (nothing arrived). */
  readonly afterFirstByte?: boolean;
}

export const STOP = 'stop';
export const RETRY_SAME = 'same';
export const RETRY_NEXT = 'next';
export type RetryDecision = typeof STOP | typeof RETRY_SAME | typeof RETRY_NEXT;

export function isIdempotent(method: string): boolean {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
    case 'TRACE':
    case 'PUT':
    case 'DELETE':
      return true;
    default:
      return false;
  }
}

export class RetryPolicy {
  readonly config: RetryConfig;
  /** Total attempts including the first. */
  readonly maxAttempts: number;
  readonly #perEndpoint: number;
  readonly #statuses = new Uint8Array(600);

  constructor(config: RetryConfig) {
    for (const [name, v] of [
      ['retryOnSame', config.retryOnSame],
      ['retryOnNext', config.retryOnNext],
    ] as const) {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name} must be an integer >= 0 (got ${v})`);
    }
    for (const s of config.retryOnStatuses) {
      if (!Number.isInteger(s) || s < 100 || s > 599)
        throw new RangeError(`retry-on status ${s} is not 100-599`);
      this.#statuses[s] = 1;
    }
    this.config = config;
    this.#perEndpoint = config.retryOnSame + 1;
    this.maxAttempts = config.enabled ? this.#perEndpoint * (config.retryOnNext + 1) : 1;
  }

  /**
   * After attempt number `attempt` (1-based) of a `method` request ended with `result`: stop, or
   * retry on the same or the next endpoint.
   */
  decide(attempt: number, method: string, result: AttemptResult, replayable = true): RetryDecision {
    if (attempt >= this.maxAttempts || !replayable) return STOP;
    const code = result.errorCode;
    if (code === 'UPSTREAM_CONNECT' || (code === 'UPSTREAM_RESET' && result.afterFirstByte !== true)) {
      return this.#nextEndpoint(attempt);
    }
    let retriable: boolean;
    if (code !== undefined) retriable = code === 'UPSTREAM_TIMEOUT';
    else {
      const s = result.status;
      retriable = s !== undefined && s >= 100 && s <= 599 && this.#statuses[s] === 1;
    }
    if (!retriable) return STOP;
    if (!this.config.retryNonIdempotent && !isIdempotent(method)) return STOP;
    return attempt % this.#perEndpoint === 0 ? RETRY_NEXT : RETRY_SAME;
  }

  /**
   * Move to the next endpoint if the policy has one left; on the last endpoint, use one of its
   * remaining same-endpoint tries (the caller checked that attempts remain).
   */
  #nextEndpoint(attempt: number): RetryDecision {
    const endpointIndex = Math.floor((attempt - 1) / this.#perEndpoint);
    return (endpointIndex + 1) * this.#perEndpoint < this.maxAttempts ? RETRY_NEXT : RETRY_SAME;
  }

  /**
   * The attempt number the retry step should use after a decision: RETRY_NEXT skips the
   * remaining same-endpoint attempts so the attempt count stays within maxAttempts.
   */
  nextAttemptNumber(attempt: number, decision: RetryDecision): number {
    if (decision !== RETRY_NEXT) return attempt + 1;
    return (Math.floor((attempt - 1) / this.#perEndpoint) + 1) * this.#perEndpoint + 1;
  }
}
