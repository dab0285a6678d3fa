/**
 * @module registry/topology/store
 * The registry's in-memory record of topology reports: per reporter (one sidecar process) a short
 * history of cumulative snapshots, enough to compute increases over any window up to
 * `maxWindowMs`. Memory per replica only: several registry replicas each hold the reports sent to
 * them (a sidecar reports to its current registry address).
 *
 * Bounds, every one enforced on `put`:
 *  - reporters (all tenants): `maxReporters`; a new reporter past it is a 400100 (quota);
 *  - snapshots per reporter: spaced at least `maxWindowMs / 30` apart (the newest replaces a
 *    too-close predecessor, except the last snapshot of a counter epoch, kept for reset handling),
 *    only as old as `maxWindowMs` needs, and at most `maxSnapshots`;
 *  - edge entries stored in total: `maxStoredEdges`; past it the reporter being updated loses its
 *    oldest snapshots, and a report that still does not fit is a 400100;
 *  - distinct edges per reporter (interned, so snapshots hold ids and one Float64Array, about
 *    150 bytes per edge): past 4 × REPORT_LIMITS.maxEdges its history starts afresh.
 * A reporter silent for more than `expiryIntervals` × its declared interval is dropped (swept
 * lazily on reads and writes with the injected Clock; no timers).
 */
import { type Clock, systemClock } from '../../shared/clock.ts';
import { RegistryError } from '../errors.ts';
import {
  edgeKey,
  LATENCY_BUCKETS,
  REPORT_LIMITS,
  type ReporterService,
  type TopologyReport,
} from './report.ts';

/** What identifies an edge; interned per reporter, so snapshots hold only small ids. */
export interface EdgeMeta {
  readonly direction: 'outbound' | 'inbound';
  readonly source: string;
  readonly destination: string;
  readonly version: string;
}

/** Numbers per edge in `Snapshot.values`: requests, errors, then the latency buckets. */
export const STRIDE = 2 + LATENCY_BUCKETS;

/**
 * One report, compact (about 150 bytes per edge): edge ids in ascending order, and their
 * counters in one Float64Array, STRIDE numbers per edge in the same order.
 */
export interface Snapshot {
  /** Registry clock time the report arrived. */
  readonly t: number;
  readonly epoch: string;
  /** Registry clock time the reporter's counters began (t - uptimeMs). */
  readonly startedAt: number;
  readonly ids: Uint32Array;
  readonly values: Float64Array;
}

export interface Reporter {
  readonly tenant: string;
  readonly id: string;
  service: ReporterService;
  intervalMs: number;
  lastAt: number;
  /** Oldest first. */
  snapshots: Snapshot[];
  /** Edge id → identity, and the reverse. */
  metas: EdgeMeta[];
  idOf: Map<string, number>;
}

/** A reporter whose distinct edges pass this is started afresh (its keys churn). */
const MAX_INTERNED = 4 * REPORT_LIMITS.maxEdges;

/** Intern the report's edges and pack its counters. Resets the reporter's history on key churn. */
function pack(r: Reporter, report: TopologyReport, t: number): Snapshot {
  let fresh = 0;
  for (const e of report.edges) if (!r.idOf.has(edgeKey(e))) fresh++;
  if (r.idOf.size + fresh > MAX_INTERNED) {
    r.snapshots = [];
    r.metas = [];
    r.idOf = new Map();
  }
  const rows = report.edges.map((e) => {
    const key = edgeKey(e);
    let id = r.idOf.get(key);
    if (id === undefined) {
      id = r.metas.length;
      r.metas.push({
        direction: e.direction,
        source: e.source,
        destination: e.destination,
        version: e.version,
      });
      r.idOf.set(key, id);
    }
    return { id, e };
  });
  rows.sort((a, b) => a.id - b.id);
  const ids = new Uint32Array(rows.length);
  const values = new Float64Array(rows.length * STRIDE);
  rows.forEach(({ id, e }, i) => {
    ids[i] = id;
    const o = i * STRIDE;
    values[o] = e.requests;
    values[o + 1] = e.errors;
    for (let k = 0; k < LATENCY_BUCKETS; k++) values[o + 2 + k] = e.latency[k]!;
  });
  return { t, epoch: report.epoch, startedAt: t - report.uptimeMs, ids, values };
}

export interface TopologyStoreOptions {
  readonly clock?: Clock;
  readonly maxReporters?: number;
  readonly maxSnapshots?: number;
  readonly maxWindowMs?: number;
  readonly maxStoredEdges?: number;
  /** A reporter silent for more than this many of its intervals is dropped (default 3). */
  readonly expiryIntervals?: number;
}

export const STORE_DEFAULTS = {
  maxReporters: 10_000,
  maxSnapshots: 32,
  maxWindowMs: 300_000,
  /** About 150 bytes each: 200k ≈ 30 MB. */
  maxStoredEdges: 200_000,
  expiryIntervals: 3,
} as const;

/** How often, at most, a write sweeps expired reporters (reads always sweep). */
const WRITE_SWEEP_MS = 1000;

export class TopologyStore {
  readonly clock: Clock;
  readonly maxWindowMs: number;
  readonly #maxReporters: number;
  readonly #maxSnapshots: number;
  readonly #maxStoredEdges: number;
  readonly #expiryIntervals: number;
  readonly #spacingMs: number;
  readonly #reporters = new Map<string, Reporter>();
  #storedEdges = 0;
  #lastSweep = Number.NEGATIVE_INFINITY;

  constructor(opts: TopologyStoreOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.#maxReporters = opts.maxReporters ?? STORE_DEFAULTS.maxReporters;
    this.#maxSnapshots = Math.max(2, opts.maxSnapshots ?? STORE_DEFAULTS.maxSnapshots);
    this.maxWindowMs = opts.maxWindowMs ?? STORE_DEFAULTS.maxWindowMs;
    this.#maxStoredEdges = opts.maxStoredEdges ?? STORE_DEFAULTS.maxStoredEdges;
    this.#expiryIntervals = opts.expiryIntervals ?? STORE_DEFAULTS.expiryIntervals;
    this.#spacingMs = this.maxWindowMs / 30;
  }

  /** Live reporters (all tenants). */
  get size(): number {
    return this.#reporters.size;
  }

  /** Edge entries held across every snapshot (the quantity `maxStoredEdges` bounds). */
  get storedEdges(): number {
    return this.#storedEdges;
  }

  /** Record one validated report. Throws RegistryError 400100 when a bound refuses it. */
  put(tenant: string, reporterId: string, report: TopologyReport): void {
    const now = this.clock.now();
    if (now - this.#lastSweep >= WRITE_SWEEP_MS) this.sweep();
    const key = `${tenant}\u0001${reporterId}`;
    let r = this.#reporters.get(key);
    if (r === undefined) {
      if (this.#reporters.size >= this.#maxReporters)
        throw new RegistryError(400100, `topology: more than ${this.#maxReporters} reporters`);
      r = {
        tenant,
        id: reporterId,
        service: report.service,
        intervalMs: report.intervalMs,
        lastAt: now,
        snapshots: [],
        metas: [],
        idOf: new Map(),
      };
      this.#reporters.set(key, r);
    }
    const before = r.snapshots;
    const snap = pack(r, report, now);
    // A reset on key churn dropped the history: account for it.
    if (r.snapshots !== before) for (const s of before) this.#storedEdges -= s.ids.length;
    const size = snap.ids.length;
    // Make room first, so a refused report leaves the reporter as it was (minus trimmed history).
    while (this.#storedEdges + size > this.#maxStoredEdges && r.snapshots.length > 0) this.#dropOldest(r);
    if (this.#storedEdges + size > this.#maxStoredEdges) {
      if (r.snapshots.length === 0) this.#reporters.delete(key);
      throw new RegistryError(400100, `topology: more than ${this.#maxStoredEdges} stored edges`);
    }
    r.service = report.service;
    r.intervalMs = report.intervalMs;
    r.lastAt = now;
    r.snapshots.push(snap);
    this.#storedEdges += size;
    this.#thin(r, now);
  }

  /** Live reporters of one tenant (expired ones are swept first). */
  reporters(tenant: string): Reporter[] {
    this.sweep();
    const out: Reporter[] = [];
    for (const r of this.#reporters.values()) if (r.tenant === tenant) out.push(r);
    return out;
  }

  /** Drop reporters silent for more than `expiryIntervals` of their interval. */
  sweep(): void {
    const now = this.clock.now();
    this.#lastSweep = now;
    for (const [key, r] of this.#reporters) {
      if (now - r.lastAt > this.#expiryIntervals * r.intervalMs) {
        for (const s of r.snapshots) this.#storedEdges -= s.ids.length;
        this.#reporters.delete(key);
      }
    }
  }

  #dropOldest(r: Reporter): void {
    const s = r.snapshots.shift();
    if (s !== undefined) this.#storedEdges -= s.ids.length;
  }

  #thin(r: Reporter, now: number): void {
    const s = r.snapshots;
    const n = s.length;
    // The previous newest sits too close to its predecessor: the new snapshot supersedes it,
    // unless it closes a counter epoch (then its counts are needed across the reset).
    if (n >= 3) {
      const mid = s[n - 2]!;
      if (mid.t - s[n - 3]!.t < this.#spacingMs && mid.epoch === s[n - 1]!.epoch) {
        s.splice(n - 2, 1);
        this.#storedEdges -= mid.ids.length;
      }
    }
    // The oldest is only needed as the base of the longest window.
    while (s.length > 2 && s[1]!.t <= now - this.maxWindowMs) this.#dropOldest(r);
    while (s.length > this.#maxSnapshots) this.#dropOldest(r);
  }
}
