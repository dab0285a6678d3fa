/**
 * @module sidecar/registry-client/backoff
 * Capped exponential backoff with "equal jitter": attempt n waits a uniformly random time in
 * [d/2, d] where d = min(maxMs, initialMs * factor^n). Never zero (no hot loops), never above the
 * cap, and retries of many sidecars after a registry outage spread out. Randomness is injected.
 */
import { type Random, systemRandom } from '../../shared/clock.ts';

export interface BackoffOptions {
  /** First delay ceiling, ms (default 1000). */
  initialMs?: number;
  /** Delay cap, ms (default 30000). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  random?: Random;
}

export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #factor: number;
  readonly #random: Random;
  #attempt = 0;

  constructor(opts: BackoffOptions = {}) {
    this.#initialMs = opts.initialMs ?? 1000;
    this.#maxMs = opts.maxMs ?? 30_000;
    this.#factor = opts.factor ?? 2;
    this.#random = opts.random ?? systemRandom;
    if (!(this.#initialMs > 0)) throw new RangeError('backoff initialMs must be > 0');
    if (!(this.#maxMs >= this.#initialMs)) throw new RangeError('backoff maxMs must be >= initialMs');
    if (!(this.#factor >= 1)) throw new RangeError('backoff factor must be >= 1');
  }

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    const ceiling = Math.min(this.#maxMs, this.#initialMs * this.#factor ** Math.min(this.#attempt, 64));
    this.#attempt++;
    const r = Math.min(Math.max(this.#random(), 0), 1);
    return Math.max(1, Math.round(ceiling / 2 + (r * ceiling) / 2));
  }

  /** Failures counted since the last reset. */
  get attempts(): number {
    return this.#attempt;
  }

  reset(): void {
    this.#attempt = 0;
  }
}
