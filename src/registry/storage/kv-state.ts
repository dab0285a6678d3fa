/**
 * @module registry/storage/kv-state
 * The storage state machine: keys, revisions, leases and watch fan-out, all in memory and all
 * synchronous. It knows nothing about files; the embedded store persists the `LogRecord` each
 * mutation returns and replays them through `replay` on start-up. Keeping the state machine pure
 * makes recovery exact: replaying the log runs the very same code that produced it.
 */
import type { Compare, KeyValue, Op, TxnRequest, WatchEvent, WatchListener } from './types.ts';
import { StoreError } from './types.ts';

/** One durable change. `o` holds resolved ops: [0, key, value, lease] puts and [1, key] deletes. */
export type LogRecord =
  | { t: 'x'; r: number; o: Array<[0, string, string, number] | [1, string]>; v?: number[] }
  | { t: 'g'; id: number; ttl: number };

export interface LeaseState {
  id: number;
  ttlMs: number;
  expiresAt: number;
  /**
   * Attached keys: none, one as a plain string (an instance's lease holds just its record), or
   * several as an array. 100k one-element arrays cost ~5.6 MB (a JSArray and its backing store
   * each); 100k Sets cost more.
   */
  keys: string | string[] | undefined;
}

/** The keys attached to a lease, as a list. */
export function leaseKeys(lease: LeaseState): readonly string[] {
  const k = lease.keys;
  return k === undefined ? [] : typeof k === 'string' ? [k] : k;
}

function attach(lease: LeaseState | undefined, key: string): void {
  if (!lease) return;
  const k = lease.keys;
  if (k === undefined) lease.keys = key;
  else if (typeof k === 'string') {
    if (k !== key) lease.keys = [k, key];
  } else if (!k.includes(key)) k.push(key);
}

function detach(lease: LeaseState | undefined, key: string): void {
  if (!lease) return;
  const k = lease.keys;
  if (k === key) lease.keys = undefined;
  else if (Array.isArray(k)) {
    const i = k.indexOf(key);
    if (i >= 0) k.splice(i, 1);
    if (k.length <= 1) lease.keys = k[0];
  }
}

export interface SnapshotData {
  rev: number;
  nextLeaseId: number;
  leases: Array<[number, number]>;
  kvs: Array<[string, string, number, number, number, number]>;
}

/** What `capture` hands the WAL: the same content as SnapshotData, as live (immutable) objects. */
export interface SnapshotSource {
  rev: number;
  nextLeaseId: number;
  leases: ReadonlyArray<{ readonly id: number; readonly ttlMs: number }>;
  kvs: readonly KeyValue[];
}

interface Watcher {
  prefix: string;
  listener: WatchListener;
}

/**
 * Bounds of the watch history kept for `watch(prefix, fn, fromRevision)`. Events hold their
 * KeyValue, and a key rewritten often (a consumer's dependency rule grows by one provider per
 * find, so 1,000 providers make 1,000 versions of up to 100 KB) would otherwise keep every old
 * value alive: at 10k instances that alone was ~55 MB of heap after the benchmark's find phase.
 */
export interface HistoryLimits {
  /** Events kept (default 10,000). */
  maxEvents: number;
  /** Key + value characters of the kept events (default 4 MiB; shared with live keys or not). */
  maxBytes: number;
}

export const DEFAULT_HISTORY_LIMITS: HistoryLimits = { maxEvents: 10_000, maxBytes: 4 * 1024 * 1024 };

export class KvState {
  readonly kvs = new Map<string, KeyValue>();
  readonly leases = new Map<number, LeaseState>();
  rev = 0;
  nextLeaseId = 1;
  readonly #watchers = new Set<Watcher>();
  /** Watch history; `#history[#head]` is the oldest event still kept. */
  #history: WatchEvent[] = [];
  #head = 0;
  #historyBytes = 0;
  readonly #limits: HistoryLimits;
  /** Applied but not yet durable: held back from watchers until `deliver`. */
  readonly #undelivered: WatchEvent[][] = [];

  constructor(
    private readonly now: () => number,
    /** Told when a watch listener throws; the write itself must still be persisted. */
    private readonly onListenerError: (err: unknown) => void = () => {},
    limits: Partial<HistoryLimits> = {},
  ) {
    this.#limits = { ...DEFAULT_HISTORY_LIMITS, ...limits };
  }

  // === reads ===

  range(prefix: string): KeyValue[] {
    const out: KeyValue[] = [];
    for (const kv of this.kvs.values()) if (kv.key.startsWith(prefix)) out.push(kv);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  // === writes ===

  /** Evaluate and apply a transaction. Returns the record to persist, or null if nothing changed. */
  txn(req: TxnRequest): { succeeded: boolean; record: LogRecord | null } {
    const succeeded = (req.compare ?? []).every((c) => this.#compare(c));
    const ops = succeeded ? req.success : (req.failure ?? []);
    const resolved: Array<[0, string, string, number] | [1, string]> = [];
    for (const op of ops) this.#resolve(op, resolved);
    if (resolved.length === 0) return { succeeded, record: null };
    const record: LogRecord = { t: 'x', r: this.rev + 1, o: resolved };
    this.#applyTxn(record);
    return { succeeded, record };
  }

  grantLease(ttlMs: number): LogRecord & { t: 'g' } {
    const record = { t: 'g' as const, id: this.nextLeaseId, ttl: Math.max(1, Math.round(ttlMs)) };
    this.#applyGrant(record);
    return record;
  }

  keepAlive(id: number): boolean {
    const lease = this.leases.get(id);
    if (!lease) return false;
    lease.expiresAt = this.now() + lease.ttlMs;
    return true;
  }

  /** Revoke leases (explicitly or on expiry): deletes their keys in one revision. */
  revokeLeases(ids: number[]): LogRecord | null {
    const live = ids.filter((id) => this.leases.has(id));
    if (live.length === 0) return null;
    const o: Array<[1, string]> = [];
    for (const id of live) for (const key of leaseKeys(this.leases.get(id)!)) o.push([1, key]);
    const record: LogRecord = { t: 'x', r: o.length > 0 ? this.rev + 1 : this.rev, o, v: live };
    this.#applyTxn(record);
    return record;
  }

  /** Ids of leases whose time ran out at `now`. */
  expired(now: number): number[] {
    const out: number[] = [];
    for (const lease of this.leases.values()) if (lease.expiresAt <= now) out.push(lease.id);
    return out;
  }

  // === persistence ===

  replay(record: LogRecord): void {
    if (record.t === 'g') this.#applyGrant(record);
    else if (record.r > this.rev || (record.o.length === 0 && record.v)) this.#applyTxn(record, false);
  }

  /**
   * The state at this instant, by reference: KeyValue objects are never mutated (a put makes a
   * new one) and a lease's id and TTL never change, so the WAL can serialise these arrays in
   * chunks across ticks while writes go on, without a 100k-tuple copy or one 50 MB string.
   */
  capture(): SnapshotSource {
    return {
      rev: this.rev,
      nextLeaseId: this.nextLeaseId,
      leases: [...this.leases.values()],
      kvs: [...this.kvs.values()],
    };
  }

  /** Load a snapshot; every lease restarts with a full TTL (the restart grace). */
  load(snap: SnapshotData): void {
    this.rev = snap.rev;
    this.nextLeaseId = snap.nextLeaseId;
    const now = this.now();
    for (const [id, ttlMs] of snap.leases)
      this.leases.set(id, { id, ttlMs, expiresAt: now + ttlMs, keys: undefined });
    for (const [key, value, createRevision, modRevision, version, lease] of snap.kvs) {
      this.kvs.set(key, { key, value, createRevision, modRevision, version, lease });
      if (lease) attach(this.leases.get(lease), key);
    }
  }

  // === watch ===

  watch(prefix: string, listener: WatchListener, fromRevision?: number): () => void {
    if (fromRevision !== undefined && fromRevision <= this.rev) {
      const oldest = this.#history[this.#head]?.revision ?? this.rev + 1;
      if (fromRevision < oldest)
        throw new StoreError('COMPACTED', `revision ${fromRevision} has been compacted (oldest ${oldest})`);
      const past: WatchEvent[] = [];
      for (let i = this.#head; i < this.#history.length; i++) {
        const e = this.#history[i]!;
        if (e.revision >= fromRevision && e.kv.key.startsWith(prefix)) past.push(e);
      }
      if (past.length > 0) listener(past);
    }
    const w: Watcher = { prefix, listener };
    this.#watchers.add(w);
    return () => this.#watchers.delete(w);
  }

  // === internals ===

  #compare(c: Compare): boolean {
    const kv = this.kvs.get(c.key);
    const actual: number | string =
      c.target === 'version'
        ? (kv?.version ?? 0)
        : c.target === 'modRevision'
          ? (kv?.modRevision ?? 0)
          : (kv?.value ?? '');
    if (c.target === 'value' && !kv) return false;
    switch (c.op) {
      case '=':
        return actual === c.value;
      case '!=':
        return actual !== c.value;
      case '>':
        return actual > c.value;
      case '<':
        return actual < c.value;
    }
  }

  #resolve(op: Op, out: Array<[0, string, string, number] | [1, string]>): void {
    if (op.type === 'put') {
      const lease = op.lease ?? 0;
      if (lease && !this.leases.has(lease))
        throw new StoreError('LEASE_NOT_FOUND', `lease ${lease} not found`);
      out.push([0, op.key, op.value, lease]);
    } else if (op.type === 'delete') {
      if (this.kvs.has(op.key)) out.push([1, op.key]);
    } else {
      for (const key of this.kvs.keys()) if (key.startsWith(op.prefix)) out.push([1, key]);
    }
  }

  #applyGrant(record: { id: number; ttl: number }): void {
    this.leases.set(record.id, {
      id: record.id,
      ttlMs: record.ttl,
      expiresAt: this.now() + record.ttl,
      keys: undefined,
    });
    if (record.id >= this.nextLeaseId) this.nextLeaseId = record.id + 1;
  }

  #applyTxn(record: LogRecord & { t: 'x' }, notify = true): void {
    const rev = record.r;
    const events: WatchEvent[] = [];
    for (const op of record.o) {
      const prev = this.kvs.get(op[1]);
      if (op[0] === 0) {
        const [, key, value, lease] = op;
        if (prev?.lease && prev.lease !== lease) detach(this.leases.get(prev.lease), key);
        const kv: KeyValue = {
          key,
          value,
          createRevision: prev ? prev.createRevision : rev,
          modRevision: rev,
          version: prev ? prev.version + 1 : 1,
          lease,
        };
        this.kvs.set(key, kv);
        if (lease) attach(this.leases.get(lease), key);
        events.push({ type: 'PUT', kv, revision: rev });
      } else if (prev) {
        this.kvs.delete(prev.key);
        if (prev.lease) detach(this.leases.get(prev.lease), prev.key);
        events.push({ type: 'DELETE', kv: prev, revision: rev });
      }
    }
    for (const id of record.v ?? []) this.leases.delete(id);
    if (rev > this.rev) this.rev = rev;
    if (events.length === 0) return;
    this.#remember(events);
    if (notify) this.#undelivered.push(events);
  }

  /** Append to the watch history, then drop whole revisions from its front past the bounds. */
  #remember(events: WatchEvent[]): void {
    for (const e of events) {
      this.#history.push(e);
      this.#historyBytes += e.kv.key.length + e.kv.value.length;
    }
    const h = this.#history;
    const { maxEvents, maxBytes } = this.#limits;
    while (h.length - this.#head > maxEvents || this.#historyBytes > maxBytes) {
      // Never split a revision: `watch(from)` replays whole transactions or refuses (COMPACTED).
      const rev = h[this.#head]!.revision;
      while (this.#head < h.length && h[this.#head]!.revision === rev) {
        const e = h[this.#head]!;
        this.#historyBytes -= e.kv.key.length + e.kv.value.length;
        h[this.#head++] = undefined as unknown as WatchEvent; // release the value now
      }
    }
    // Compact the array once the dropped prefix is large (amortised O(1) per event).
    if (this.#head > 1024 && this.#head * 2 > h.length) {
      this.#history = h.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Events and key+value characters held in the watch history (for tests and metrics). */
  historySize(): { events: number; bytes: number } {
    return { events: this.#history.length - this.#head, bytes: this.#historyBytes };
  }

  /**
   * Deliver the watch events of every applied change up to `revision`, in order. The embedded
   * store calls this once the change is durable, so watchers (and the catalog, hence every read)
   * never see a change a crash could still take back.
   */
  deliver(revision: number): void {
    while (this.#undelivered.length > 0 && this.#undelivered[0]![0]!.revision <= revision)
      this.#notify(this.#undelivered.shift()!);
  }

  #notify(events: WatchEvent[]): void {
    for (const w of this.#watchers) {
      const mine = w.prefix === '' ? events : events.filter((e) => e.kv.key.startsWith(w.prefix));
      if (mine.length === 0) continue;
      try {
        w.listener(mine);
      } catch (err) {
        // A throwing subscriber must not abort the write half-way (memory applied, log not).
        this.onListenerError(err);
      }
    }
  }
}
