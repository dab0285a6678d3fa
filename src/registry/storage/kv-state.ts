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
  /** Attached keys. An array, not a Set: a lease usually holds one key, and 100k Sets cost MBs. */
  keys: string[];
}

function attach(lease: LeaseState | undefined, key: string): void {
  if (!lease || lease.keys.includes(key)) return;
  // A literal sizes the backing store exactly; push() onto [] would reserve 17 slots.
  if (lease.keys.length === 0) lease.keys = [key];
  else lease.keys.push(key);
}

function detach(lease: LeaseState | undefined, key: string): void {
  if (!lease) return;
  const i = lease.keys.indexOf(key);
  if (i >= 0) lease.keys.splice(i, 1);
}

export interface SnapshotData {
  rev: number;
  nextLeaseId: number;
  leases: Array<[number, number]>;
  kvs: Array<[string, string, number, number, number, number]>;
}

interface Watcher {
  prefix: string;
  listener: WatchListener;
}

const HISTORY_LIMIT = 10_000;

export class KvState {
  readonly kvs = new Map<string, KeyValue>();
  readonly leases = new Map<number, LeaseState>();
  rev = 0;
  nextLeaseId = 1;
  readonly #watchers = new Set<Watcher>();
  readonly #history: WatchEvent[] = [];
  /** Applied but not yet durable: held back from watchers until `deliver`. */
  readonly #undelivered: WatchEvent[][] = [];

  constructor(
    private readonly now: () => number,
    /** Told when a watch listener throws; the write itself must still be persisted. */
    private readonly onListenerError: (err: unknown) => void = () => {},
  ) {}

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
    for (const id of live) for (const key of this.leases.get(id)!.keys) o.push([1, key]);
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

  snapshot(): SnapshotData {
    const kvs: SnapshotData['kvs'] = [];
    for (const kv of this.kvs.values())
      kvs.push([kv.key, kv.value, kv.createRevision, kv.modRevision, kv.version, kv.lease]);
    const leases: SnapshotData['leases'] = [];
    for (const l of this.leases.values()) leases.push([l.id, l.ttlMs]);
    return { rev: this.rev, nextLeaseId: this.nextLeaseId, leases, kvs };
  }

  /** Load a snapshot; every lease restarts with a full TTL (the restart grace). */
  load(snap: SnapshotData): void {
    this.rev = snap.rev;
    this.nextLeaseId = snap.nextLeaseId;
    const now = this.now();
    for (const [id, ttlMs] of snap.leases)
      this.leases.set(id, { id, ttlMs, expiresAt: now + ttlMs, keys: [] });
    for (const [key, value, createRevision, modRevision, version, lease] of snap.kvs) {
      this.kvs.set(key, { key, value, createRevision, modRevision, version, lease });
      if (lease) attach(this.leases.get(lease), key);
    }
  }

  // === watch ===

  watch(prefix: string, listener: WatchListener, fromRevision?: number): () => void {
    if (fromRevision !== undefined && fromRevision <= this.rev) {
      const oldest = this.#history[0]?.revision ?? this.rev + 1;
      if (fromRevision < oldest)
        throw new StoreError('COMPACTED', `revision ${fromRevision} has been compacted (oldest ${oldest})`);
      const past = this.#history.filter((e) => e.revision >= fromRevision && e.kv.key.startsWith(prefix));
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
      keys: [],
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
    for (const e of events) this.#history.push(e);
    if (this.#history.length > HISTORY_LIMIT * 2)
      this.#history.splice(0, this.#history.length - HISTORY_LIMIT);
    if (notify) this.#undelivered.push(events);
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
