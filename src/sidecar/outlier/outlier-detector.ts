/**
 * @module sidecar/outlier/outlier-detector
 * Passive health for the endpoints of one service. The transport/retry steps `report(key, ok)`
 * after every attempt; the load-balance step passes `ejectedKeys()` to `picker.pick({ exclude })`.
 *
 * An endpoint is ejected when it fails `consecutiveFailures` times in a row, or when, with at
 * least `failureRateMinRequests` calls in the rolling window, `failureRatePercent` of them failed.
 * The n-th ejection lasts min(maxEjectionMs, baseEjectionMs × n); the count decays to zero once an
 * endpoint has stayed in for maxEjectionMs. Ejected endpoints return by themselves (checked lazily
 * against the clock: no timers) with fresh statistics. At most `maxEjectionPercent` of the
 * service's endpoints are out at once (rounded down, but at least one when there are two or more
 * endpoints and the percentage is above zero), so the detector never empties a service. The
 * endpoint count comes from `setEndpoints`, else from the `endpointCount` source (the sidecar
 * passes discovery's current instance count, read only when an ejection is considered), else the
 * endpoints the detector has seen reports for.
 *
 * Hot path: `report`, `isEjected` and `ejectedKeys` are O(1) amortised (the expiry sweep runs only
 * when the earliest ejection is due) and allocation-free after an endpoint's first report.
 */
import { channel } from 'node:diagnostics_channel';
import type { Clock } from '../../shared/clock.ts';
import { RollingCounter } from '../breaker/rolling-counter.ts';

export interface OutlierConfig {
  readonly enabled: boolean;
  /** Eject after this many failures in a row; 0 disables this trigger. */
  readonly consecutiveFailures: number;
  /** Eject when at least this percent of the window's calls failed; 0 disables this trigger. */
  readonly failureRatePercent: number;
  /** The failure-rate trigger needs at least this many calls in the window. */
  readonly failureRateMinRequests: number;
  /** Failure-rate window, ms (10 buckets). */
  readonly windowMs: number;
  /** First ejection length; the n-th lasts n times as long. */
  readonly baseEjectionMs: number;
  /** Cap on one ejection, and the quiet time after which the multiplier resets. */
  readonly maxEjectionMs: number;
  /** Share of the service's endpoints that may be ejected at once (0-100). */
  readonly maxEjectionPercent: number;
}

/** Which trigger ejected an endpoint. */
export type EjectionReason = 'consecutiveFailures' | 'failureRate';

export interface EndpointHealth {
  readonly key: string;
  readonly ejected: boolean;
  /** Epoch ms when the current ejection ends (0 when not ejected). */
  readonly ejectedUntil: number;
  /** Why the current (or, when back in, the last) ejection happened; absent if never ejected. */
  readonly reason?: EjectionReason;
  /** What the trigger saw: e.g. `5 failures in a row`, `12 of 20 calls failed in the window`. */
  readonly detail?: string;
  readonly timesEjected: number;
  readonly consecutiveFailures: number;
  readonly windowRequests: number;
  readonly windowFailures: number;
}

export interface OutlierSnapshot {
  readonly endpoints: readonly EndpointHealth[];
  readonly ejected: number;
  readonly known: number;
  /** Ejections the max-percent cap prevented. */
  readonly ejectionsSkipped: number;
  readonly ejectionsTotal: number;
}

/** Published on every ejection: `{ service, key, untilMs, timesEjected }`. */
export const OUTLIER_EJECT_CHANNEL = 'mesher:outlier:eject';
const ejectChannel = channel(OUTLIER_EJECT_CHANNEL);

const REQUESTS = 0;
const FAILURES = 1;
const EMPTY: ReadonlySet<string> = new Set();

interface EndpointState {
  consecutive: number;
  readonly window: RollingCounter;
  ejectedUntil: number;
  times: number;
  /** When the last ejection ended (0 = never ejected). */
  returnedAt: number;
  reason: EjectionReason | undefined;
  detail: string | undefined;
}

export function validateOutlierConfig(c: OutlierConfig): void {
  const int = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min)
      throw new RangeError(`${name} must be an integer >= ${min} (got ${v})`);
  };
  int('consecutiveFailures', c.consecutiveFailures, 0);
  int('failureRateMinRequests', c.failureRateMinRequests, 1);
  int('windowMs', c.windowMs, 10);
  int('baseEjectionMs', c.baseEjectionMs, 1);
  int('maxEjectionMs', c.maxEjectionMs, 1);
  if (c.windowMs % 10 !== 0) throw new RangeError('windowMs must be a multiple of 10');
  if (c.maxEjectionMs < c.baseEjectionMs) throw new RangeError('maxEjectionMs must be >= baseEjectionMs');
  for (const [n, v] of [
    ['failureRatePercent', c.failureRatePercent],
    ['maxEjectionPercent', c.maxEjectionPercent],
  ] as const) {
    if (!(v >= 0 && v <= 100)) throw new RangeError(`${n} must be 0-100 (got ${v})`);
  }
}

export class OutlierDetector {
  readonly config: OutlierConfig;
  readonly #clock: Clock;
  readonly #service: string;
  readonly #maxEndpoints: number;
  readonly #endpointCount: (() => number | undefined) | undefined;
  readonly #states = new Map<string, EndpointState>();
  readonly #ejected = new Set<string>();
  /** Endpoint count from the last setEndpoints(); -1 = unknown (use tracked count). */
  #known = -1;
  #nextExpiry = Number.POSITIVE_INFINITY;
  #skipped = 0;
  #total = 0;

  constructor(
    config: OutlierConfig,
    deps: {
      readonly clock: Clock;
      readonly service?: string;
      readonly maxEndpoints?: number;
      /**
       * The service's current endpoint count (discovery), asked only when an ejection is
       * considered and for snapshots; undefined answers fall back to the endpoints seen.
       */
      readonly endpointCount?: () => number | undefined;
    },
  ) {
    validateOutlierConfig(config);
    this.config = config;
    this.#clock = deps.clock;
    this.#service = deps.service ?? '';
    this.#maxEndpoints = deps.maxEndpoints ?? 10_000;
    this.#endpointCount = deps.endpointCount;
  }

  /**
   * Tell the detector the service's current endpoints (from discovery). State of endpoints that
   * left is dropped; the ejection cap is computed from this count.
   */
  setEndpoints(keys: readonly string[]): void {
    const keep = new Set(keys);
    for (const key of this.#states.keys()) {
      if (!keep.has(key)) {
        this.#states.delete(key);
        this.#ejected.delete(key);
      }
    }
    this.#known = keep.size;
  }

  /** Record one attempt's outcome on endpoint `key` (ok = the classifier said success). */
  report(key: string, ok: boolean): void {
    if (!this.config.enabled) return;
    this.#sweepIfDue();
    let st = this.#states.get(key);
    if (st === undefined) {
      if (this.#states.size >= this.#maxEndpoints) return; // bounded: ignore beyond the cap
      st = {
        consecutive: 0,
        window: new RollingCounter(this.#clock, {
          buckets: 10,
          bucketMs: this.config.windowMs / 10,
          fields: 2,
        }),
        ejectedUntil: 0,
        times: 0,
        returnedAt: 0,
        reason: undefined,
        detail: undefined,
      };
      this.#states.set(key, st);
    }
    if (st.ejectedUntil !== 0) return; // late reports of calls started before the ejection
    st.window.add(REQUESTS);
    if (ok) {
      st.consecutive = 0;
      return;
    }
    st.consecutive++;
    st.window.add(FAILURES);
    const c = this.config;
    if (c.consecutiveFailures > 0 && st.consecutive >= c.consecutiveFailures) {
      this.#eject(key, st, 'consecutiveFailures');
    } else if (c.failureRatePercent > 0) {
      const requests = st.window.sum(REQUESTS);
      if (
        requests >= c.failureRateMinRequests &&
        st.window.sum(FAILURES) * 100 >= c.failureRatePercent * requests
      ) {
        this.#eject(key, st, 'failureRate');
      }
    }
  }

  isEjected(key: string): boolean {
    if (this.#ejected.size === 0) return false;
    this.#sweepIfDue();
    return this.#ejected.has(key);
  }

  /**
   * The keys currently ejected. A live view (do not keep it across awaits; copy it if you must):
   * passing it straight to `pick({ exclude })` costs nothing.
   */
  ejectedKeys(): ReadonlySet<string> {
    if (this.#ejected.size === 0) return EMPTY;
    this.#sweepIfDue();
    return this.#ejected;
  }

  snapshot(): OutlierSnapshot {
    this.#sweepIfDue();
    const endpoints: EndpointHealth[] = [];
    for (const [key, st] of this.#states) {
      endpoints.push({
        key,
        ejected: st.ejectedUntil !== 0,
        ejectedUntil: st.ejectedUntil,
        ...(st.reason === undefined ? {} : { reason: st.reason, detail: st.detail }),
        timesEjected: st.times,
        consecutiveFailures: st.consecutive,
        windowRequests: st.window.sum(REQUESTS),
        windowFailures: st.window.sum(FAILURES),
      });
    }
    return {
      endpoints,
      ejected: this.#ejected.size,
      known: this.#knownCount(),
      ejectionsSkipped: this.#skipped,
      ejectionsTotal: this.#total,
    };
  }

  #knownCount(): number {
    if (this.#known >= 0) return this.#known;
    const n = this.#endpointCount?.();
    return n !== undefined && n > 0 ? n : this.#states.size;
  }

  #maxEjectable(): number {
    const known = this.#knownCount();
    const pct = this.config.maxEjectionPercent;
    if (pct <= 0 || known < 2) return 0;
    return Math.max(1, Math.floor((known * pct) / 100));
  }

  #eject(key: string, st: EndpointState, reason: EjectionReason): void {
    if (this.#ejected.size >= this.#maxEjectable()) {
      this.#skipped++;
      return;
    }
    const now = this.#clock.now();
    const c = this.config;
    st.reason = reason;
    st.detail =
      reason === 'consecutiveFailures'
        ? `${st.consecutive} failures in a row`
        : `${st.window.sum(FAILURES)} of ${st.window.sum(REQUESTS)} calls failed in the last ${c.windowMs} ms`;
    if (st.returnedAt !== 0 && now - st.returnedAt >= c.maxEjectionMs) st.times = 0; // behaved long enough
    st.times++;
    const duration = Math.min(c.maxEjectionMs, c.baseEjectionMs * st.times);
    st.ejectedUntil = now + duration;
    this.#ejected.add(key);
    this.#total++;
    if (st.ejectedUntil < this.#nextExpiry) this.#nextExpiry = st.ejectedUntil;
    if (ejectChannel.hasSubscribers) {
      ejectChannel.publish({ service: this.#service, key, untilMs: st.ejectedUntil, timesEjected: st.times });
    }
  }

  #sweepIfDue(): void {
    const now = this.#clock.now();
    if (now < this.#nextExpiry) return;
    let next = Number.POSITIVE_INFINITY;
    for (const key of this.#ejected) {
      const st = this.#states.get(key)!;
      if (st.ejectedUntil <= now) {
        this.#ejected.delete(key);
        st.returnedAt = st.ejectedUntil;
        st.ejectedUntil = 0;
        st.consecutive = 0;
        st.window.reset();
      } else if (st.ejectedUntil < next) next = st.ejectedUntil;
    }
    this.#nextExpiry = next;
  }
}
