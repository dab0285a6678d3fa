/**
 * @module sidecar/breaker/breaker-set
 * One circuit breaker per target service, created on first use. `get(service, config)` returns
 * the existing breaker while its config object is the same one (configs are frozen, so identity
 * means "unchanged"); a new config replaces the breaker, flushing its circuit as the original did
 * on a config change. The set is bounded: past `maxBreakers`, the least recently used idle
 * breaker is dropped (a Map keeps insertion order; `get` re-inserts, so the first entry is oldest).
 */
import type { Clock } from '../../shared/clock.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import type { BreakerConfig, BreakerCounters } from './types.ts';

export interface BreakerSetOptions {
  readonly clock: Clock;
  /** Upper bound on tracked services (default 10000). */
  readonly maxBreakers?: number;
}

export class BreakerSet {
  readonly #clock: Clock;
  readonly #max: number;
  readonly #breakers = new Map<string, CircuitBreaker>();

  constructor(opts: BreakerSetOptions) {
    this.#clock = opts.clock;
    this.#max = opts.maxBreakers ?? 10_000;
  }

  get size(): number {
    return this.#breakers.size;
  }

  /** The breaker for `service` under `config`. O(1) amortised. */
  get(service: string, config: BreakerConfig): CircuitBreaker {
    const existing = this.#breakers.get(service);
    if (existing !== undefined && existing.config === config) {
      // Re-insert to mark it most recently used (Map delete + set: O(1)).
      this.#breakers.delete(service);
      this.#breakers.set(service, existing);
      return existing;
    }
    const breaker = new CircuitBreaker(service, config, { clock: this.#clock });
    this.#breakers.delete(service);
    this.#breakers.set(service, breaker);
    if (this.#breakers.size > this.#max) this.#evictOne();
    return breaker;
  }

  /** Existing breaker without creating one. */
  peek(service: string): CircuitBreaker | undefined {
    return this.#breakers.get(service);
  }

  /** Counters of every breaker, for /metrics and the admin API. */
  snapshot(): Record<string, BreakerCounters> {
    const out: Record<string, BreakerCounters> = {};
    for (const [name, b] of this.#breakers) out[name] = b.counters();
    return out;
  }

  #evictOne(): void {
    for (const [name, b] of this.#breakers) {
      if (b.inFlight === 0) {
        this.#breakers.delete(name);
        return;
      }
    }
    // Everything is busy: drop the oldest anyway; its permits still release into the old object.
    const first = this.#breakers.keys().next();
    if (!first.done) this.#breakers.delete(first.value);
  }
}
