/**
 * @module sidecar/balancer/weighted-response
 * WeightedResponse: latency-aware random choice. Each endpoint's weight is inversely proportional
 * to its smoothed latency (per-endpoint EWMA; failures count as slow), so a slow instance gets
 * proportionally less traffic. Two things bring a recovered instance back, which the original's
 * "70% to the fastest average, re-sorted every 30 s" lacked:
 * - a floor: every endpoint keeps at least `minSharePercent` of the best endpoint's weight, so it is
 *   still probed and fresh (fast) samples pull its average down;
 * - decay: an endpoint's latency relaxes toward the mean of all endpoints as its last report ages
 *   (time constant `decayMs`), so one that got no traffic for a while is retried at a fair share.
 *
 * Weights are rebuilt lazily (on a pick, when the endpoint set changed, after enough reports or
 * after `refreshMs`) into a cumulative table; a pick is then one random draw and a binary search,
 * with rejection sampling for excludes and an exact linear fallback.
 */
import { type BalancerDeps, EndpointSetBalancer } from './base.ts';
import { excluded } from './choose.ts';
import type { EndpointState } from './endpoint-state.ts';
import { parseOptions } from './options.ts';
import { RANDOM30_RANGE } from './random-source.ts';
import type { EndpointStats } from './types.ts';

export const WEIGHTED_RESPONSE_OPTIONS = {
  decayMs: { default: 10_000, min: 1, max: 3_600_000, doc: 'latency decay time constant, ms' },
  minSharePercent: { default: 5, min: 0.1, max: 100, doc: "weight floor as % of the best endpoint's" },
  refreshMs: { default: 250, min: 1, max: 60_000, doc: 'longest time between weight rebuilds, ms' },
} as const;

/** Added to every latency so a 0 ms endpoint does not get an infinite weight. */
const LATENCY_FLOOR_MS = 1;
/** Rebuild after this many reports (or one per endpoint, if more) even before refreshMs. */
const MIN_REPORTS_PER_REBUILD = 16;
/** Without reports, the clock is read (to age latencies) once per this many picks. */
const CLOCK_CHECK_EVERY = 32;
/** Draws tried before the exact scan when excludes are present. */
const DRAWS_BEFORE_SCAN = 4;

interface TierTable {
  gen: number;
  cum: Float64Array;
}

export class WeightedResponseBalancer extends EndpointSetBalancer {
  readonly name = 'WeightedResponse';
  readonly #decayMs: number;
  readonly #minShare: number;
  readonly #refreshMs: number;
  #weights = new Float64Array(0);
  #cum = new Float64Array(0);
  #gen = 0;
  #builtAt = 0;
  #stale = true;
  #reportsSince = 0;
  #picksSinceClock = 0;
  readonly #tierTables = new WeakMap<Int32Array, TierTable>();

  constructor(deps: BalancerDeps, options?: unknown) {
    super(deps);
    const o = parseOptions('WeightedResponse', WEIGHTED_RESPONSE_OPTIONS, options);
    this.#decayMs = o.decayMs;
    this.#minShare = o.minSharePercent / 100;
    this.#refreshMs = o.refreshMs;
  }

  /** Current weight of each endpoint by key (for tests and the admin API; rebuilt first). */
  weights(): ReadonlyMap<string, number> {
    this.#rebuild(this.clock.now());
    const out = new Map<string, number>();
    for (let i = 0; i < this.states.length; i++) out.set(this.states[i]!.endpoint.key, this.#weights[i]!);
    return out;
  }

  /** Per-endpoint stats plus each endpoint's share of the weight, % (admin API; rebuilds first). */
  override stats(): readonly EndpointStats[] {
    this.#rebuild(this.clock.now());
    let total = 0;
    for (let i = 0; i < this.states.length; i++) total += this.#weights[i]!;
    return this.states.map((st, i) => ({
      ...st.stats(),
      weightPercent: total > 0 ? Math.round((this.#weights[i]! / total) * 10_000) / 100 : 0,
    }));
  }

  protected override endpointsChanged(): void {
    this.#stale = true;
  }

  protected override reported(_st: EndpointState): void {
    this.#reportsSince++;
  }

  protected choose(cands: Int32Array | undefined, exclude: ReadonlySet<string> | undefined): number {
    this.#maybeRebuild();
    const cum = cands === undefined ? this.#cum : this.#tierTable(cands);
    const count = cum.length;
    const total = cum[count - 1]!;
    for (let d = 0; d < DRAWS_BEFORE_SCAN; d++) {
      const pos = upperBound(cum, this.random() * (total / RANDOM30_RANGE));
      const i = cands === undefined ? pos : cands[pos]!;
      if (!excluded(this.states[i]!, exclude)) return i;
    }
    // Exact fallback over the allowed candidates (only reached when excludes keep being drawn).
    let allowed = 0;
    for (let pos = 0; pos < count; pos++) {
      const i = cands === undefined ? pos : cands[pos]!;
      if (!excluded(this.states[i]!, exclude)) allowed += this.#weights[i]!;
    }
    if (allowed <= 0) return -1;
    let r = this.random() * (allowed / RANDOM30_RANGE);
    let last = -1;
    for (let pos = 0; pos < count; pos++) {
      const i = cands === undefined ? pos : cands[pos]!;
      if (excluded(this.states[i]!, exclude)) continue;
      last = i;
      r -= this.#weights[i]!;
      if (r < 0) return i;
    }
    return last; // rounding left r at ~0: the last allowed one
  }

  #maybeRebuild(): void {
    if (this.#stale || this.#reportsSince >= Math.max(MIN_REPORTS_PER_REBUILD, this.states.length)) {
      this.#rebuild(this.clock.now());
      return;
    }
    // Reading the clock returns a boxed double (an allocation), so only every CLOCK_CHECK_EVERY picks.
    if (++this.#picksSinceClock < CLOCK_CHECK_EVERY) return;
    this.#picksSinceClock = 0;
    const now = this.clock.now();
    // Also rebuild when the clock went backwards.
    if (now - this.#builtAt >= this.#refreshMs || now < this.#builtAt) this.#rebuild(now);
  }

  #rebuild(now: number): void {
    const states = this.states;
    const n = states.length;
    if (this.#weights.length !== n) {
      this.#weights = new Float64Array(n);
      this.#cum = new Float64Array(n);
    }
    let sum = 0;
    let measured = 0;
    for (const st of states) {
      if (st.ewmaMs >= 0) {
        sum += st.ewmaMs;
        measured++;
      }
    }
    const mean = measured > 0 ? sum / measured : 0;
    let best = 0;
    for (let i = 0; i < n; i++) {
      const st = states[i]!;
      let latency = mean;
      if (st.ewmaMs >= 0) {
        const age = Math.max(0, now - st.lastReportMs);
        latency = mean + (st.ewmaMs - mean) * Math.exp(-age / this.#decayMs);
      }
      const w = 1 / (latency + LATENCY_FLOOR_MS);
      this.#weights[i] = w;
      if (w > best) best = w;
    }
    const floor = best * this.#minShare;
    let acc = 0;
    for (let i = 0; i < n; i++) {
      const w = Math.max(this.#weights[i]!, floor);
      this.#weights[i] = w;
      acc += w;
      this.#cum[i] = acc;
    }
    this.#gen++;
    this.#builtAt = now;
    this.#stale = false;
    this.#reportsSince = 0;
  }

  /** The cumulative weight table of a zone tier, rebuilt when the weights changed. */
  #tierTable(cands: Int32Array): Float64Array {
    let t = this.#tierTables.get(cands);
    if (t === undefined) {
      t = { gen: -1, cum: new Float64Array(cands.length) };
      this.#tierTables.set(cands, t);
    }
    if (t.gen !== this.#gen) {
      let acc = 0;
      for (let pos = 0; pos < cands.length; pos++) {
        acc += this.#weights[cands[pos]!]!;
        t.cum[pos] = acc;
      }
      t.gen = this.#gen;
    }
    return t.cum;
  }
}

/** First position whose cumulative weight exceeds `r` (clamped to the last position). */
function upperBound(cum: Float64Array, r: number): number {
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cum[mid]! > r) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function createWeightedResponse(deps: BalancerDeps, options?: unknown): WeightedResponseBalancer {
  return new WeightedResponseBalancer(deps, options);
}
