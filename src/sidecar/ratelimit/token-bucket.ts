/**
 * @module sidecar/ratelimit/token-bucket
 * A non-blocking token bucket on an injected Clock. It starts full, refills continuously at
 * `ratePerSec` up to `burst`, and `tryTake()` either takes one token or says how long until one
 * is available. Refill is computed lazily from the elapsed time, so there is no timer; a decision
 * is O(1) and allocates nothing when it succeeds.
 *
 * Default burst (see `defaultBurst`): one second's worth of tokens, at least 1 — never more
 * than the rate for rates ≥ 1/s. The original used qps/5 (or 10 when that rounded to 0), which
 * let a "2 per second" limit pass 10 requests at once.
 */
import type { Clock } from '../../shared/clock.ts';

export interface BucketSpec {
  /** Sustained rate in tokens (requests) per second; 0 rejects everything. */
  readonly ratePerSec: number;
  /** Bucket capacity: the most requests that can pass back to back after a quiet period (≥ 1). */
  readonly burst: number;
}

export type TakeResult = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

export const TAKE_OK: TakeResult = Object.freeze({ ok: true });

/** One second of traffic, at least one token. */
export function defaultBurst(ratePerSec: number): number {
  return Math.max(1, ratePerSec);
}

export function validateBucketSpec(spec: BucketSpec): void {
  if (!(Number.isFinite(spec.ratePerSec) && spec.ratePerSec >= 0)) {
    throw new RangeError(`ratePerSec must be a finite number >= 0 (got ${spec.ratePerSec})`);
  }
  if (!(Number.isFinite(spec.burst) && spec.burst >= 1)) {
    throw new RangeError(`burst must be a finite number >= 1 (got ${spec.burst})`);
  }
}

export class TokenBucket {
  readonly spec: BucketSpec;
  readonly #clock: Clock;
  #tokens: number;
  #last: number;
  /** Decisions so far (for metrics). */
  allowed = 0;
  limited = 0;

  constructor(spec: BucketSpec, clock: Clock) {
    validateBucketSpec(spec);
    this.spec = spec;
    this.#clock = clock;
    this.#tokens = spec.burst;
    this.#last = clock.now();
  }

  /** Tokens available now (fractional). */
  get tokens(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Take one token if there is one. */
  tryTake(): TakeResult {
    this.#refill();
    // Rate 0 rejects everything, even the first call (a full bucket would let `burst` through).
    if (this.#tokens >= 1 && this.spec.ratePerSec > 0) {
      this.#tokens -= 1;
      this.allowed++;
      return TAKE_OK;
    }
    this.limited++;
    const rate = this.spec.ratePerSec;
    // With rate 0 nothing ever refills; suggest a second so clients do not spin.
    const retryAfterMs = rate > 0 ? Math.max(1, Math.ceil(((1 - this.#tokens) * 1000) / rate)) : 1000;
    return { ok: false, retryAfterMs };
  }

  #refill(): void {
    const now = this.#clock.now();
    const elapsed = now - this.#last;
    this.#last = now;
    if (elapsed <= 0) return; // same instant, or the clock went backwards: no refill
    const t = this.#tokens + (elapsed * this.spec.ratePerSec) / 1000;
    this.#tokens = Math.min(t, this.spec.burst);
  }
}
