/**
 * @module sidecar/breaker/bulkhead
 * A semaphore bulkhead with a bounded wait (resilience4j SemaphoreBulkhead, as the marker
 * `servicecomb.bulkhead` policies use it): at most `maxConcurrentCalls` calls hold a slot; a call
 * that finds none waits up to `maxWaitDurationMs` for one (first come, first served), 0 = rejected
 * at once. The wait queue is bounded too (`maxWaiting`, default 1024): past it a call is rejected
 * without waiting. Time comes from the injected Clock.
 *
 * ```ts
 * const slot = bulkhead.tryAcquire() || (await bulkhead.acquire(call.signal));
 * if (!slot) throw new MeshError('BULKHEAD_FULL', ...);
 * try { return await next(call); } finally { bulkhead.release(); }
 * ```
 *
 * `update()` changes the limits in place (a config reload): calls holding slots keep them; a
 * larger limit admits waiters at once.
 */
import type { Clock, TimerHandle } from '../../shared/clock.ts';

export interface BulkheadSpec {
  readonly maxConcurrentCalls: number;
  /** 0 = never wait. */
  readonly maxWaitDurationMs: number;
}

export interface BulkheadCounters {
  readonly maxConcurrentCalls: number;
  readonly maxWaitDurationMs: number;
  readonly inFlight: number;
  readonly waiting: number;
  /** Calls that got a slot (at once or after waiting). */
  readonly admitted: number;
  /** Calls that waited and then got a slot. */
  readonly waited: number;
  readonly rejected: number;
}

/** What `acquire` listens to for the caller going away (CallSignal has this shape). */
export interface AbortSource {
  readonly aborted: boolean;
  add(fn: () => void): void;
  remove(fn: () => void): void;
}

interface Waiter {
  resolve(ok: boolean): void;
  timer: TimerHandle;
}

export class Bulkhead {
  readonly #clock: Clock;
  readonly #maxWaiting: number;
  #spec: BulkheadSpec;
  #inFlight = 0;
  readonly #waiters: Waiter[] = [];
  #admitted = 0;
  #waited = 0;
  #rejected = 0;

  constructor(spec: BulkheadSpec, deps: { readonly clock: Clock; readonly maxWaiting?: number }) {
    validateBulkheadSpec(spec);
    this.#spec = spec;
    this.#clock = deps.clock;
    this.#maxWaiting = deps.maxWaiting ?? 1024;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get spec(): BulkheadSpec {
    return this.#spec;
  }

  /** New limits, in place. */
  update(spec: BulkheadSpec): void {
    validateBulkheadSpec(spec);
    this.#spec = spec;
    this.#drain();
  }

  /** Take a slot now if one is free. Synchronous, allocation-free. */
  tryAcquire(): boolean {
    if (this.#inFlight < this.#spec.maxConcurrentCalls && this.#waiters.length === 0) {
      this.#inFlight++;
      this.#admitted++;
      return true;
    }
    return false;
  }

  /**
   * Wait up to maxWaitDurationMs for a slot (after `tryAcquire` failed). Resolves true with the
   * slot taken, false when rejected (no wait allowed, queue full, timed out or aborted).
   */
  acquire(signal?: AbortSource): Promise<boolean> {
    if (this.tryAcquire()) return Promise.resolve(true);
    const wait = this.#spec.maxWaitDurationMs;
    if (wait <= 0 || this.#waiters.length >= this.#maxWaiting || signal?.aborted) {
      this.#rejected++;
      return Promise.resolve(false);
    }
    return new Promise<boolean>((resolve) => {
      const onAbort = () => settle(false);
      const waiter: Waiter = {
        resolve: (ok) => settle(ok, true),
        timer: this.#clock.setTimeout(() => settle(false), wait),
      };
      const settle = (ok: boolean, granted = false) => {
        signal?.remove(onAbort);
        if (!granted) {
          waiter.timer.cancel();
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          this.#rejected++;
        }
        resolve(ok);
      };
      this.#waiters.push(waiter);
      signal?.add(onAbort);
    });
  }

  /** Give a slot back (exactly once per admitted call). */
  release(): void {
    if (this.#inFlight > 0) this.#inFlight--;
    this.#drain();
  }

  #drain(): void {
    while (this.#waiters.length > 0 && this.#inFlight < this.#spec.maxConcurrentCalls) {
      const w = this.#waiters.shift()!;
      w.timer.cancel();
      this.#inFlight++;
      this.#admitted++;
      this.#waited++;
      w.resolve(true);
    }
  }

  counters(): BulkheadCounters {
    return {
      maxConcurrentCalls: this.#spec.maxConcurrentCalls,
      maxWaitDurationMs: this.#spec.maxWaitDurationMs,
      inFlight: this.#inFlight,
      waiting: this.#waiters.length,
      admitted: this.#admitted,
      waited: this.#waited,
      rejected: this.#rejected,
    };
  }
}

export function validateBulkheadSpec(s: BulkheadSpec): void {
  if (!Number.isInteger(s.maxConcurrentCalls) || s.maxConcurrentCalls < 1)
    throw new RangeError(`maxConcurrentCalls must be an integer >= 1 (got ${s.maxConcurrentCalls})`);
  if (!(s.maxWaitDurationMs >= 0))
    throw new RangeError(`maxWaitDurationMs must be >= 0 (got ${s.maxWaitDurationMs})`);
}
