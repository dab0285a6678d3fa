/**
 * @module registry/self-preservation
 * Holds back mass instance expiry (service-center §8.3, `instance_event_handler.go`). After an
 * etcd or network outage the heartbeats of a whole fleet can miss their leases together; deleting
 * every instance from discovery at once would turn a control-plane hiccup into a data-plane outage.
 *
 * How it decides, on the injected Clock:
 * - Every DELETE that came from lease expiry waits `windowMs` in a pending set (explicit
 *   deregistrations never get here; the catalog tells them apart by a marker written in the same
 *   transaction, see `deregisterMarkerKey`).
 * - When the window closes: if the pending deletes are at least `threshold` of the instances the
 *   catalog holds, and the catalog holds more than `minInstances`, protection turns ON: those
 *   deletes and every expiry after them are held (the instances keep being served) until
 *   min(2 × the instance's TTL, `maxHoldMs`) after they were held. Otherwise they are applied.
 * - A held instance that is written again (re-registered after its 400017 heartbeat) or whose
 *   service is deleted leaves the hold at once; when nothing is held any more, protection turns OFF.
 *
 * The gate only decides *when* `apply(key)` runs; the catalog owns the data.
 */
import type { Clock, TimerHandle } from '../shared/clock.ts';
import type { Logger } from '../shared/log.ts';

export interface SelfPreservationOptions {
  /** Turn the gate on (default: on with the etcd store, off with the embedded one). */
  enabled: boolean;
  /** How long an expiry waits to be counted with others, ms (default 2000). */
  windowMs: number;
  /** Share of the catalog's instances expiring in one window that turns protection on (default 0.8). */
  threshold: number;
  /** Protection needs more than this many instances in the catalog (default 5). */
  minInstances: number;
  /** Upper bound of a hold, ms (default 600000 = 10 min); each hold is min(2 × TTL, this). */
  maxHoldMs: number;
}

export const DEFAULT_SELF_PRESERVATION: SelfPreservationOptions = {
  enabled: false,
  windowMs: 2000,
  threshold: 0.8,
  minInstances: 5,
  maxHoldMs: 600_000,
};

/** Where explicit deregistrations leave their marker (under the instance's own lease). */
export const DEREGISTER_MARKER_PREFIX = '/cse-sr/inst/dereg/';
const INSTANCE_PREFIX = '/cse-sr/inst/files/';

/**
 * The marker key of an instance key. Deregistration writes it in the same transaction that deletes
 * the instance, before the delete, attached to the instance's lease (so the revoke that follows —
 * or the lease's expiry after a crash — removes it again). The catalog sees the marker's PUT first
 * and treats the DELETE that follows as explicit.
 */
export function deregisterMarkerKey(instanceKey: string): string {
  return DEREGISTER_MARKER_PREFIX + instanceKey.slice(INSTANCE_PREFIX.length);
}

/** The instance key a marker stands for. */
export function instanceKeyOfMarker(markerKey: string): string {
  return INSTANCE_PREFIX + markerKey.slice(DEREGISTER_MARKER_PREFIX.length);
}

export interface SelfPreservationState {
  readonly enabled: boolean;
  readonly active: boolean;
  /** Expiries waiting for their window to close. */
  readonly pending: number;
  /** Expiries held back while protection is on. */
  readonly held: number;
  /** When protection last turned on (epoch ms), if it is on. */
  readonly since?: number;
  /** How many times protection turned on since start. */
  readonly activations: number;
}

export interface PreservationDeps {
  clock: Clock;
  log: Logger;
  /** Instances the catalog holds now (pending and held ones included). */
  total(): number;
  /** Apply a delete the gate let through. */
  apply(key: string): void;
  /** Whether the key's service still exists (a delete of a deleted service is never held). */
  serviceExists(key: string): boolean;
}

export class SelfPreservation {
  readonly #opts: SelfPreservationOptions;
  readonly #deps: PreservationDeps;
  /** key → TTL of the instance, ms. */
  readonly #pending = new Map<string, number>();
  /** key → when the hold ends (epoch ms). */
  readonly #held = new Map<string, number>();
  #window: TimerHandle | null = null;
  #sweep: TimerHandle | null = null;
  #since: number | undefined;
  #activations = 0;

  constructor(opts: SelfPreservationOptions, deps: PreservationDeps) {
    if (!(opts.windowMs > 0)) throw new RangeError('selfPreservation.windowMs must be > 0');
    if (!(opts.threshold > 0 && opts.threshold <= 1))
      throw new RangeError('selfPreservation.threshold must be in (0, 1]');
    if (!(opts.minInstances >= 0)) throw new RangeError('selfPreservation.minInstances must be >= 0');
    if (!(opts.maxHoldMs > 0)) throw new RangeError('selfPreservation.maxHoldMs must be > 0');
    this.#opts = opts;
    this.#deps = deps;
  }

  get enabled(): boolean {
    return this.#opts.enabled;
  }

  /** Whether `key`'s delete is waiting or held (the catalog keeps serving it meanwhile). */
  has(key: string): boolean {
    return this.#pending.has(key) || this.#held.has(key);
  }

  /** A lease expiry deleted `key` (an instance of TTL `ttlMs`): apply it now or later. */
  expire(key: string, ttlMs: number): void {
    if (!this.#opts.enabled || !this.#deps.serviceExists(key)) {
      this.cancel(key);
      this.#deps.apply(key);
      return;
    }
    if (this.#since !== undefined) {
      this.#hold(key, ttlMs);
      return;
    }
    this.#pending.set(key, ttlMs);
    this.#window ??= this.#deps.clock.setTimeout(() => this.#closeWindow(), this.#opts.windowMs);
  }

  /** `key` was written again or deleted explicitly: forget its pending or held delete. */
  cancel(key: string): void {
    this.#pending.delete(key);
    if (this.#held.delete(key)) this.#maybeLeave('every held instance came back or was removed');
  }

  state(): SelfPreservationState {
    return {
      enabled: this.#opts.enabled,
      active: this.#since !== undefined,
      pending: this.#pending.size,
      held: this.#held.size,
      ...(this.#since !== undefined ? { since: this.#since } : {}),
      activations: this.#activations,
    };
  }

  /** Stop the timers; nothing is applied afterwards. */
  close(): void {
    this.#window?.cancel();
    this.#sweep?.cancel();
    this.#window = this.#sweep = null;
    this.#pending.clear();
    this.#held.clear();
  }

  #closeWindow(): void {
    this.#window = null;
    // Deletes of a service's instances by a service delete look like lease ends: not counted.
    const counted = new Map<string, number>();
    for (const [key, ttl] of this.#pending) {
      if (this.#deps.serviceExists(key)) counted.set(key, ttl);
      else this.#deps.apply(key);
    }
    this.#pending.clear();
    if (counted.size === 0) return;
    const total = this.#deps.total();
    if (total > this.#opts.minInstances && counted.size >= this.#opts.threshold * total) {
      this.#since = this.#deps.clock.now();
      this.#activations++;
      for (const [key, ttl] of counted) this.#hold(key, ttl);
      this.#sweep = this.#deps.clock.setInterval(() => this.#sweepHeld(), this.#opts.windowMs);
      this.#deps.log.warn(
        { expiring: counted.size, instances: total, threshold: this.#opts.threshold },
        'self-preservation ON: holding back mass instance expiry',
      );
      return;
    }
    for (const key of counted.keys()) this.#deps.apply(key);
  }

  #hold(key: string, ttlMs: number): void {
    const holdMs = Math.min(2 * Math.max(ttlMs, this.#opts.windowMs), this.#opts.maxHoldMs);
    this.#held.set(key, this.#deps.clock.now() + holdMs);
  }

  #sweepHeld(): void {
    const now = this.#deps.clock.now();
    for (const [key, until] of [...this.#held]) {
      if (until <= now || !this.#deps.serviceExists(key)) {
        this.#held.delete(key);
        this.#deps.apply(key);
      }
    }
    this.#maybeLeave('every hold ended');
  }

  #maybeLeave(why: string): void {
    if (this.#since === undefined || this.#held.size > 0) return;
    const heldMs = this.#deps.clock.now() - this.#since;
    this.#since = undefined;
    this.#sweep?.cancel();
    this.#sweep = null;
    this.#deps.log.info({ heldMs, why }, 'self-preservation OFF');
  }
}

/** TTL of an instance from its stored JSON (interval × (times + 1) s), or the override. */
export function instanceTtlMs(instanceJson: string, overrideSec: number): number {
  if (overrideSec > 0) return overrideSec * 1000;
  try {
    const hc = (JSON.parse(instanceJson) as { healthCheck?: { interval?: number; times?: number } })
      .healthCheck;
    const interval = hc?.interval ?? 30;
    const times = hc?.times ?? 3;
    return interval * (times + 1) * 1000;
  } catch {
    return 120_000;
  }
}
