/**
 * @module sidecar/retry/retry-budget
 * Keeps retries from multiplying load on a failing dependency: over a sliding window, retries may
 * add at most `percent` of the original requests seen in that window, with a floor of
 * `minRetriesPerSec × window` so a quiet service can still retry at all. The retry step calls
 * `recordRequest()` once per original request and `tryRetry()` before each retry; a refused retry
 * means the caller gets the last attempt's answer.
 *
 * Window arithmetic comes from a RollingCounter (10 buckets): O(1), no allocation.
 */
import type { Clock } from '../../shared/clock.ts';
import { RollingCounter } from '../breaker/rolling-counter.ts';
import type { RetryBudgetConfig } from './types.ts';

const REQUESTS = 0;
const RETRIES = 1;
const BUCKETS = 10;

export interface RetryBudgetCounters {
  /** Original requests recorded, ever. */
  readonly requests: number;
  /** Retries allowed, ever. */
  readonly retries: number;
  /** Retries refused because the budget was spent. */
  readonly exhausted: number;
  /** Current window view. */
  readonly windowRequests: number;
  readonly windowRetries: number;
  /** Retries the window allows right now. */
  readonly windowAllowance: number;
}

export function validateRetryBudgetConfig(c: RetryBudgetConfig): void {
  if (!(c.percent >= 0 && c.percent <= 1000)) throw new RangeError('budget percent must be 0-1000');
  if (!(c.minRetriesPerSec >= 0 && Number.isFinite(c.minRetriesPerSec)))
    throw new RangeError('minRetriesPerSec must be >= 0');
  if (!(Number.isInteger(c.windowMs) && c.windowMs >= BUCKETS && c.windowMs % BUCKETS === 0)) {
    throw new RangeError(`budget windowMs must be a positive multiple of ${BUCKETS}`);
  }
}

export class RetryBudget {
  readonly config: RetryBudgetConfig;
  readonly #window: RollingCounter;
  readonly #floor: number;
  #requests = 0;
  #retries = 0;
  #exhausted = 0;

  constructor(config: RetryBudgetConfig, deps: { readonly clock: Clock }) {
    validateRetryBudgetConfig(config);
    this.config = config;
    this.#window = new RollingCounter(deps.clock, {
      buckets: BUCKETS,
      bucketMs: config.windowMs / BUCKETS,
      fields: 2,
    });
    this.#floor = (config.minRetriesPerSec * config.windowMs) / 1000;
  }

  /** Count one original (non-retry) request. */
  recordRequest(): void {
    this.#requests++;
    this.#window.add(REQUESTS);
  }

  /** May one more retry go now? If yes, it is counted against the budget. */
  tryRetry(): boolean {
    if (!this.config.enabled) {
      this.#retries++;
      return true;
    }
    if (this.#window.sum(RETRIES) + 1 > this.#allowance()) {
      this.#exhausted++;
      return false;
    }
    this.#retries++;
    this.#window.add(RETRIES);
    return true;
  }

  counters(): RetryBudgetCounters {
    return {
      requests: this.#requests,
      retries: this.#retries,
      exhausted: this.#exhausted,
      windowRequests: this.#window.sum(REQUESTS),
      windowRetries: this.#window.sum(RETRIES),
      windowAllowance: this.#allowance(),
    };
  }

  #allowance(): number {
    const share = (this.#window.sum(REQUESTS) * this.config.percent) / 100;
    return Math.max(share, this.#floor);
  }
}
