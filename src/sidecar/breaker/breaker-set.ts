/**
 * @module sidecar/breaker/breaker-set
 * One circuit breaker per target service, created on first use and kept across config reloads
 * that leave its settings unchanged (see ../policy/per-service.ts); a real change replaces the
 * breaker, flushing its circuit as the original did. Bounded: past `maxBreakers` the least
 * recently used idle breaker is dropped.
 */
import type { Clock } from '../../shared/clock.ts';
import { PerService } from '../policy/per-service.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import type { BreakerConfig, BreakerCounters } from './types.ts';

export interface BreakerSetOptions {
  readonly clock: Clock;
  /** Upper bound on tracked services (default 10000). */
  readonly maxBreakers?: number;
}

export class BreakerSet {
  readonly #store: PerService<BreakerConfig, CircuitBreaker>;

  constructor(opts: BreakerSetOptions) {
    this.#store = new PerService(
      (service, config) => new CircuitBreaker(service, config, { clock: opts.clock }),
      {
        max: opts.maxBreakers ?? 10_000,
        isIdle: (b) => b.inFlight === 0,
      },
    );
  }

  get size(): number {
    return this.#store.size;
  }

  /** The breaker for `service` under `config`. O(1) amortised. */
  get(service: string, config: BreakerConfig): CircuitBreaker {
    return this.#store.get(service, config);
  }

  /** Existing breaker without creating one. */
  peek(service: string): CircuitBreaker | undefined {
    return this.#store.peek(service);
  }

  /** Counters of every breaker, for /metrics and the admin API. */
  snapshot(): Record<string, BreakerCounters> {
    const out: Record<string, BreakerCounters> = {};
    for (const [name, b] of this.#store.entries()) out[name] = b.counters();
    return out;
  }
}
