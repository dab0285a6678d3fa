/**
 * @module registry/topology/aggregate
 * Turns the reporters' cumulative snapshots into the graph for one window: per reporter the
 * increase of every counter over the window (Prometheus `increase()` semantics: a counter that
 * went down, or a new counter epoch, is a restart and counts from zero), divided by the span the
 * reporter's snapshots actually cover, then summed over reporters.
 *
 * Which side counts an edge: the caller's sidecar (outbound) when any live reporter reports that
 * source → destination pair outbound; otherwise the callee's sidecar (inbound), which is how
 * callers without a sidecar (source "unknown") and callers whose sidecar does not report still
 * appear. An edge is never counted from both sides.
 *
 * Percentiles are interpolated inside the summed latency buckets (as `histogram_quantile`).
 * Pure functions: no clock, no I/O.
 */
import { LATENCY_BOUNDS_MS, LATENCY_BUCKETS } from './report.ts';
import { type EdgeMeta, type Reporter, type Snapshot, STRIDE } from './store.ts';

/** One counter's increase over the window, and the rate it makes over the reporter's span. */
export interface EdgeIncrease {
  readonly edge: EdgeMeta;
  requests: number;
  errors: number;
  readonly latency: number[];
  rps: number;
}

export interface VersionStats {
  readonly version: string;
  readonly requests: number;
  readonly errors: number;
  readonly rps: number;
}

export interface EdgeStats {
  readonly source: string;
  readonly destination: string;
  /** Requests in the window (summed over reporters). */
  readonly requests: number;
  readonly errors: number;
  readonly rps: number;
  /** errors / requests, 0..1. */
  readonly errorRatio: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** Whose sidecar measured it: the caller's (`source`) or the callee's (`destination`). */
  readonly observedBy: 'source' | 'destination';
  readonly versions: readonly VersionStats[];
  /** Summed latency buckets (for per-service percentiles). */
  readonly latency: readonly number[];
}

/** `v` rounded to `digits` decimals (rates and ratios in the topology answers). */
export const round = (v: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/** Add `cur` minus `prev` (or all of `cur` after a reset) of one edge into `inc`. */
function addDelta(
  inc: EdgeIncrease,
  cur: Float64Array,
  co: number,
  prev: Float64Array | undefined,
  po: number,
) {
  const reset = prev === undefined || cur[co]! < prev[po]! || cur[co + 1]! < prev[po + 1]!;
  for (let k = 0; k < STRIDE; k++) {
    const d = reset ? cur[co + k]! : cur[co + k]! - prev![po + k]!;
    const v = Math.max(0, d);
    if (k === 0) inc.requests += v;
    else if (k === 1) inc.errors += v;
    else inc.latency[k - 2]! += v;
  }
}

/**
 * The increases of one reporter's counters since `cutoff`, with their rates, by edge id.
 * Undefined when its snapshots cover no time yet (a single snapshot from a sidecar that started
 * before the window).
 */
export function reporterIncrease(
  r: Pick<Reporter, 'snapshots' | 'metas'>,
  cutoff: number,
): Map<number, EdgeIncrease> | undefined {
  const snaps = r.snapshots;
  const n = snaps.length;
  if (n === 0) return undefined;
  const newest = snaps[n - 1]!;
  let b = -1;
  for (let i = n - 1; i >= 0; i--) {
    if (snaps[i]!.t <= cutoff) {
      b = i;
      break;
    }
  }
  let prev: Snapshot | undefined;
  let baseT: number;
  let start: number;
  if (b >= 0) {
    prev = snaps[b]!;
    baseT = prev.t;
    start = b + 1;
  } else if (snaps[0]!.startedAt >= cutoff) {
    // The counters began inside the window: they started from zero then.
    prev = undefined;
    baseT = snaps[0]!.startedAt;
    start = 0;
  } else {
    prev = snaps[0]!;
    baseT = prev.t;
    start = 1;
  }
  const spanMs = newest.t - baseT;
  if (!(spanMs > 0)) return undefined;
  const out = new Map<number, EdgeIncrease>();
  for (let i = start; i < n; i++) {
    const cur = snaps[i]!;
    const same = prev !== undefined && prev.epoch === cur.epoch;
    // Both id lists are ascending: walk them together.
    let j = 0;
    for (let c = 0; c < cur.ids.length; c++) {
      const id = cur.ids[c]!;
      let po = -1;
      if (same) {
        while (j < prev!.ids.length && prev!.ids[j]! < id) j++;
        if (j < prev!.ids.length && prev!.ids[j] === id) po = j * STRIDE;
      }
      let inc = out.get(id);
      if (inc === undefined) {
        inc = {
          edge: r.metas[id]!,
          requests: 0,
          errors: 0,
          latency: new Array<number>(LATENCY_BUCKETS).fill(0),
          rps: 0,
        };
        out.set(id, inc);
      }
      addDelta(inc, cur.values, c * STRIDE, po < 0 ? undefined : prev!.values, po);
    }
    prev = cur;
  }
  for (const inc of out.values()) inc.rps = (inc.requests * 1000) / spanMs;
  return out;
}

/** The q-quantile (0..1) of bucket counts, in ms; null when there are none. */
export function quantileMs(latency: readonly number[], q: number): number | null {
  let total = 0;
  for (const c of latency) total += c;
  if (total === 0) return null;
  const rank = q * total;
  let cum = 0;
  for (let i = 0; i < latency.length; i++) {
    const c = latency[i]!;
    if (c > 0 && cum + c >= rank) {
      // The open last bucket has no upper bound: report its lower one, as histogram_quantile does.
      if (i >= LATENCY_BOUNDS_MS.length) return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      const upper = LATENCY_BOUNDS_MS[i]!;
      return round(lower + (upper - lower) * ((rank - cum) / c), 3);
    }
    cum += c;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
}

interface Acc {
  requests: number;
  errors: number;
  rps: number;
  latency: number[];
  versions: Map<string, { requests: number; errors: number; rps: number }>;
}

function accumulate(into: Map<string, Acc>, key: string, inc: EdgeIncrease): void {
  let a = into.get(key);
  if (a === undefined) {
    a = {
      requests: 0,
      errors: 0,
      rps: 0,
      latency: new Array<number>(LATENCY_BUCKETS).fill(0),
      versions: new Map(),
    };
    into.set(key, a);
  }
  a.requests += inc.requests;
  a.errors += inc.errors;
  a.rps += inc.rps;
  for (let k = 0; k < LATENCY_BUCKETS; k++) a.latency[k]! += inc.latency[k]!;
  const v = a.versions.get(inc.edge.version) ?? { requests: 0, errors: 0, rps: 0 };
  v.requests += inc.requests;
  v.errors += inc.errors;
  v.rps += inc.rps;
  a.versions.set(inc.edge.version, v);
}

/** The edges active in the window `[now - windowMs, now]`, sorted by source then destination. */
export function aggregateEdges(reporters: readonly Reporter[], now: number, windowMs: number): EdgeStats[] {
  const cutoff = now - windowMs;
  const outbound = new Map<string, Acc>();
  const inbound = new Map<string, Acc>();
  // Pairs some live sidecar measures as the caller: the callee's view of them is not used.
  const callerSeen = new Set<string>();
  for (const r of reporters) {
    const latest = r.snapshots[r.snapshots.length - 1];
    for (const id of latest?.ids ?? []) {
      const e = r.metas[id]!;
      if (e.direction === 'outbound') callerSeen.add(`${e.source}\u0001${e.destination}`);
    }
    const incs = reporterIncrease(r, cutoff);
    if (incs === undefined) continue;
    for (const inc of incs.values()) {
      if (inc.requests === 0) continue;
      const pair = `${inc.edge.source}\u0001${inc.edge.destination}`;
      accumulate(inc.edge.direction === 'outbound' ? outbound : inbound, pair, inc);
    }
  }
  const edges: EdgeStats[] = [];
  const emit = (pair: string, a: Acc, observedBy: EdgeStats['observedBy']) => {
    const [source, destination] = pair.split('\u0001') as [string, string];
    edges.push({
      source,
      destination,
      requests: a.requests,
      errors: a.errors,
      rps: round(a.rps, 3),
      errorRatio: a.requests === 0 ? 0 : round(a.errors / a.requests, 4),
      p50Ms: quantileMs(a.latency, 0.5),
      p99Ms: quantileMs(a.latency, 0.99),
      observedBy,
      versions: [...a.versions]
        .map(([version, v]) => ({ version, requests: v.requests, errors: v.errors, rps: round(v.rps, 3) }))
        .sort((x, y) => x.version.localeCompare(y.version, undefined, { numeric: true })),
      latency: a.latency,
    });
  };
  for (const [pair, a] of outbound) emit(pair, a, 'source');
  for (const [pair, a] of inbound)
    if (!callerSeen.has(pair) && !outbound.has(pair)) emit(pair, a, 'destination');
  return edges.sort((x, y) => x.source.localeCompare(y.source) || x.destination.localeCompare(y.destination));
}
