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
 *    oldest snapshots, and a report that still does not fit is a 400100.
 * A reporter silent for more than `expiryIntervals` × its declared interval is dropped (swept
 * lazily on reads and writes with the injected Clock; no timers).
 */
import { type Clock, systemClock } from '../../shared/clock.ts';
import { RegistryError } from '../errors.ts';
import { type EdgeCounters, edgeKey, type ReporterService, type TopologyReport } from './report.ts';

export interface Snapshot {
  /** Registry clock time the report arrived. */
  readonly t: number;
  readonly epoch: string;
  /** Registry clock time the reporter's counters began (t - uptimeMs). */
  readonly startedAt: number;
  readonly edges: ReadonlyMap<string, EdgeCounters>;
}

export interface Reporter {
  readonly tenant: string;
  readonly id: string;
  service: ReporterService;
  intervalMs: number;
  lastAt: number;
  /** Oldest first. */
  readonly snapshots: Snapshot[];
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
  maxStoredEdges: 500_000,
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
      };
      this.#reporters.set(key, r);
    }
    const edges = new Map<string, EdgeCounters>();
    for (const e of report.edges) edges.set(edgeKey(e), e);
    const snap: Snapshot = { t: now, epoch: report.epoch, startedAt: now - report.uptimeMs, edges };
    // Make room first, so a refused report leaves the reporter as it was (minus trimmed history).
    while (this.#storedEdges + edges.size > this.#maxStoredEdges && r.snapshots.length > 0)
      this.#dropOldest(r);
    if (this.#storedEdges + edges.size > this.#maxStoredEdges) {
      if (r.snapshots.length === 0) this.#reporters.delete(key);
      throw new RegistryError(400100, `topology: more than ${this.#maxStoredEdges} stored edges`);
    }
    r.service = report.service;
    r.intervalMs = report.intervalMs;
    r.lastAt = now;
    r.snapshots.push(snap);
    this.#storedEdges += edges.size;
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
        for (const s of r.snapshots) this.#storedEdges -= s.edges.size;
        this.#reporters.delete(key);
      }
    }
  }

  #dropOldest(r: Reporter): void {
    const s = r.snapshots.shift();
    if (s !== undefined) this.#storedEdges -= s.edges.size;
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
        this.#storedEdges -= mid.edges.size;
      }
    }
    // The oldest is only needed as the base of the longest window.
    while (s.length > 2 && s[1]!.t <= now - this.maxWindowMs) this.#dropOldest(r);
    while (s.length > this.#maxSnapshots) this.#dropOldest(r);
  }
}
