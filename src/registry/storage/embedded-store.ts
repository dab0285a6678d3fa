/**
 * @module registry/storage/embedded-store
 * The embedded Store: the in-memory state machine (kv-state) plus, when given a directory, the
 * write-ahead log (wal). Every mutation is applied in memory, appended to the log, and its promise
 * resolves after the fsync that covers it. Lease expiry is swept on the injected Clock; expiries
 * are logged like any other delete. Keepalives are memory-only: after a restart every lease gets a
 * full TTL again, so a fleet is not wiped by a registry restart.
 */
import type { Clock } from '../../shared/clock.ts';
import { KvState, type LogRecord } from './kv-state.ts';
import type { KeyValue, Store, TxnRequest, TxnResult, WatchListener } from './types.ts';
import { StoreError } from './types.ts';
import { recover, Wal } from './wal.ts';

export interface EmbeddedStoreOptions {
  /** Directory for the log and snapshots; null/undefined keeps everything in memory only. */
  dataDir?: string | null;
  clock: Clock;
  /** How often expired leases are swept (default 1000 ms). */
  sweepIntervalMs?: number;
  /** Log size that triggers compaction into a snapshot (default 64 MiB). */
  compactBytes?: number;
  onError?: (err: unknown) => void;
  /** Fault injection for tests: an error returned here fails the next log write. */
  faultInjector?: () => Error | undefined;
  /** Told how many bytes of torn log tail recovery cut off. */
  onRecovered?: (info: { records: number; truncatedBytes: number; revision: number }) => void;
}

export class EmbeddedStore implements Store {
  readonly #state: KvState;
  readonly #wal: Wal | null;
  readonly #sweep: { cancel(): void };
  #closed = false;
  /** The first failed durable write; set once, the store then refuses writes (fail-stop). */
  #fault: StoreError | null = null;

  private constructor(
    state: KvState,
    wal: Wal | null,
    private readonly opts: EmbeddedStoreOptions,
  ) {
    this.#state = state;
    this.#wal = wal;
    this.#sweep = opts.clock.setInterval(() => this.sweepExpired(), opts.sweepIntervalMs ?? 1000);
  }

  static async open(opts: EmbeddedStoreOptions): Promise<EmbeddedStore> {
    const state = new KvState(
      () => opts.clock.now(),
      (err) => opts.onError?.(err),
    );
    if (!opts.dataDir) return new EmbeddedStore(state, null, opts);
    await Wal.ensureDir(opts.dataDir);
    const rec = recover(opts.dataDir);
    if (rec.snapshot) state.load(rec.snapshot);
    for (const r of rec.records) state.replay(r);
    // Leases replayed from the log got expiresAt = now + ttl in replay: the restart grace.
    opts.onRecovered?.({
      records: rec.records.length,
      truncatedBytes: rec.truncatedBytes,
      revision: state.rev,
    });
    const wal = await Wal.open(opts.dataDir, rec.gen, {
      compactBytes: opts.compactBytes,
      snapshot: () => state.capture(),
      onError: opts.onError,
      faultInjector: opts.faultInjector,
    });
    return new EmbeddedStore(state, wal, opts);
  }

  revision(): number {
    return this.#state.rev;
  }

  get(key: string): KeyValue | undefined {
    return this.#state.kvs.get(key);
  }

  range(prefix: string): KeyValue[] {
    return this.#state.range(prefix);
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    this.#check();
    const { succeeded, record } = this.#state.txn(req);
    if (record) await this.#persist(record);
    return { succeeded, revision: record?.t === 'x' ? record.r : this.#state.rev };
  }

  async grantLease(ttlMs: number): Promise<number> {
    this.#check();
    const record = this.#state.grantLease(ttlMs);
    await this.#persist(record);
    return record.id;
  }

  keepAlive(leaseId: number): boolean {
    return this.#state.keepAlive(leaseId);
  }

  async revokeLease(leaseId: number): Promise<boolean> {
    this.#check();
    const record = this.#state.revokeLeases([leaseId]);
    if (!record) return false;
    await this.#persist(record);
    return true;
  }

  leaseTtl(leaseId: number): { ttlMs: number; remainingMs: number } | undefined {
    const l = this.#state.leases.get(leaseId);
    if (!l) return undefined;
    return { ttlMs: l.ttlMs, remainingMs: Math.max(0, l.expiresAt - this.opts.clock.now()) };
  }

  watch(prefix: string, listener: WatchListener, fromRevision?: number): () => void {
    return this.#state.watch(prefix, listener, fromRevision);
  }

  /** Expire every lease whose time is up (called by the sweep timer; public for tests). */
  sweepExpired(): number {
    if (this.#closed) return 0;
    const ids = this.#state.expired(this.opts.clock.now());
    if (ids.length === 0) return 0;
    const record = this.#state.revokeLeases(ids);
    if (record) this.#persist(record).catch((err) => this.opts.onError?.(err));
    return ids.length;
  }

  /** Force a snapshot + log rotation (tests and admin). */
  async compact(): Promise<void> {
    await this.#wal?.compact();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sweep.cancel();
    // After a failed write memory may hold changes the log does not: never snapshot it then.
    await this.#wal?.close({ compact: this.#fault === null });
  }

  /** Close files without the final snapshot: what a crash leaves behind (tests only). */
  async abandon(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sweep.cancel();
    await this.#wal?.close({ compact: false });
  }

  health(): { ok: true } | { ok: false; reason: string } {
    return this.#fault ? { ok: false, reason: this.#fault.message } : { ok: true };
  }

  /** Make a record durable, then release its watch events (never before the fsync). */
  #persist(record: LogRecord): Promise<void> {
    const deliver = () => {
      if (record.t === 'x') this.#state.deliver(record.r);
    };
    if (!this.#wal) {
      deliver();
      return Promise.resolve();
    }
    return this.#wal.append(record).then(deliver, (err: unknown) => {
      this.#fault ??=
        err instanceof StoreError ? err : new StoreError('IO', `log write failed: ${String(err)}`, err);
      throw this.#fault;
    });
  }

  #check(): void {
    if (this.#closed) throw new StoreError('CLOSED', 'store is closed');
    if (this.#fault)
      throw new StoreError('IO', `store is read-only after a failed write: ${this.#fault.message}`);
  }
}
