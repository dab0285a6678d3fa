/**
 * @module sidecar/policy/per-service
 * A bounded map of per-service engine instances (breakers, retry budgets, outlier detectors,
 * fault injectors...) that follows config versions. `get(service, config)` returns the existing
 * instance while its config is unchanged — by identity (O(1), the common case) or, after a reload
 * produced a new but equal object, by value (checked once, then the new object is adopted) — and
 * builds a fresh instance when the config really changed, so state (circuit statistics, budgets,
 * ejections) survives reloads that do not touch it.
 *
 * Bounded: past `max` entries the least recently used entry is dropped, preferring idle ones when
 * an `isIdle` predicate is given. Recency is tracked by Map re-insertion (O(1)).
 */

interface Entry<C, T> {
  config: C;
  readonly value: T;
}

export interface PerServiceOptions<T> {
  /** Most services tracked (default 10000). */
  readonly max?: number;
  /** Prefer evicting entries for which this is true (e.g. a breaker with nothing in flight). */
  readonly isIdle?: (value: T) => boolean;
}

/** Structural equality of frozen config values (plain objects, arrays, primitives). */
export function sameConfig(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k)) return false;
    if (!sameConfig((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

export class PerService<C, T> {
  readonly #make: (service: string, config: C) => T;
  readonly #max: number;
  readonly #isIdle: ((value: T) => boolean) | undefined;
  readonly #entries = new Map<string, Entry<C, T>>();
  /** The most recently used key: a hit on it needs no delete+set to refresh recency. */
  #last: string | undefined;

  constructor(make: (service: string, config: C) => T, opts: PerServiceOptions<T> = {}) {
    this.#make = make;
    this.#max = opts.max ?? 10_000;
    this.#isIdle = opts.isIdle;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(service: string, config: C): T {
    const e = this.#entries.get(service);
    if (e !== undefined && service === this.#last && e.config === config) return e.value;
    this.#entries.delete(service);
    this.#last = service;
    if (e !== undefined && (e.config === config || sameConfig(e.config, config))) {
      e.config = config; // adopt the new object so the next call is an identity hit
      this.#entries.set(service, e);
      return e.value;
    }
    const value = this.#make(service, config);
    this.#entries.set(service, { config, value });
    if (this.#entries.size > this.#max) this.#evictOne();
    return value;
  }

  peek(service: string): T | undefined {
    return this.#entries.get(service)?.value;
  }

  /** Drop services no longer wanted (e.g. not in the new config and not called recently). */
  delete(service: string): boolean {
    if (service === this.#last) this.#last = undefined;
    return this.#entries.delete(service);
  }

  *entries(): IterableIterator<[string, T]> {
    for (const [k, e] of this.#entries) yield [k, e.value];
  }

  #evictOne(): void {
    if (this.#isIdle) {
      for (const [k, e] of this.#entries) {
        if (this.#isIdle(e.value)) {
          this.#entries.delete(k);
          return;
        }
      }
    }
    const first = this.#entries.keys().next();
    if (!first.done) this.#entries.delete(first.value);
  }
}
