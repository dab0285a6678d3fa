/**
 * @module sidecar/breaker/rolling-counter
 * A Hystrix-style rolling window: `buckets` slots of `bucketMs` each, holding a few numeric
 * fields (requests, failures, retries...). Adding to the current bucket and reading a window sum
 * are both O(1) (running totals are kept; a stale bucket is subtracted as the window rolls over).
 * Storage is one preallocated Float64Array, so recording never allocates.
 *
 * Shared by the circuit breaker, the outlier detector and the retry budget. Time comes from the
 * injected Clock; a clock that jumps backwards is treated as "still the current bucket".
 */
import type { Clock } from '../../shared/clock.ts';

export interface RollingCounterOptions {
  /** Number of buckets in the window (Hystrix default 10). */
  readonly buckets: number;
  /** Width of one bucket in ms (Hystrix default 1000). */
  readonly bucketMs: number;
  /** How many independent numeric fields each bucket holds. */
  readonly fields: number;
}

export class RollingCounter {
  readonly #clock: Clock;
  readonly #buckets: number;
  readonly #bucketMs: number;
  readonly #fields: number;
  readonly #data: Float64Array;
  readonly #totals: Float64Array;
  /** Absolute bucket number (floor(now / bucketMs)) of the newest bucket. */
  #head: number;

  constructor(clock: Clock, opts: RollingCounterOptions) {
    if (!Number.isInteger(opts.buckets) || opts.buckets < 1)
      throw new RangeError('buckets must be an integer >= 1');
    if (!(opts.bucketMs > 0)) throw new RangeError('bucketMs must be > 0');
    if (!Number.isInteger(opts.fields) || opts.fields < 1)
      throw new RangeError('fields must be an integer >= 1');
    this.#clock = clock;
    this.#buckets = opts.buckets;
    this.#bucketMs = opts.bucketMs;
    this.#fields = opts.fields;
    this.#data = new Float64Array(opts.buckets * opts.fields);
    this.#totals = new Float64Array(opts.fields);
    this.#head = Math.floor(clock.now() / opts.bucketMs);
  }

  /** Length of the whole window in ms. */
  get windowMs(): number {
    return this.#buckets * this.#bucketMs;
  }

  /** Add `n` (default 1) to `field` in the current bucket. */
  add(field: number, n = 1): void {
    this.#roll();
    const slot = (this.#head % this.#buckets) * this.#fields + field;
    this.#data[slot]! += n;
    this.#totals[field]! += n;
  }

  /** Sum of `field` over the window ending now. */
  sum(field: number): number {
    this.#roll();
    return this.#totals[field]!;
  }

  /** Forget everything (a circuit that closes starts with fresh statistics). */
  reset(): void {
    this.#data.fill(0);
    this.#totals.fill(0);
    this.#head = Math.floor(this.#clock.now() / this.#bucketMs);
  }

  /** Advance to the bucket of `now`, clearing buckets that fell out of the window. */
  #roll(): void {
    const current = Math.floor(this.#clock.now() / this.#bucketMs);
    const gap = current - this.#head;
    if (gap <= 0) return; // same bucket, or the clock went backwards
    if (gap >= this.#buckets) {
      this.#data.fill(0);
      this.#totals.fill(0);
      this.#head = current;
      return;
    }
    // At most `buckets - 1` iterations: bounded by the configured window, not by traffic.
    for (let b = this.#head + 1; b <= current; b++) {
      const base = (b % this.#buckets) * this.#fields;
      for (let f = 0; f < this.#fields; f++) {
        this.#totals[f]! -= this.#data[base + f]!;
        this.#data[base + f] = 0;
      }
    }
    this.#head = current;
  }
}
