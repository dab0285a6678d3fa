/**
 * @module registry/storage/etcd-store
 * The Store on an etcd v3 cluster (issue #8): several registry replicas share one etcd and each
 * keeps a watch-fed mirror of its namespace, so reads are local and synchronous and every
 * replica's watchers see every replica's writes, in etcd's revision order.
 *
 * - Reads (`get`, `range`, `revision`, `watch` replays) come from the mirror (etcd-mirror).
 * - `txn` is one etcd Txn; it resolves once the mirror has applied the txn's revision, so the
 *   replica reads its own writes and its watchers have seen the change first.
 * - Leases live in etcd (etcd-leases); expiry deletes keys in etcd and reaches us as DELETEs.
 * - Outages: reads keep being served from the mirror, writes reject with
 *   StoreError('UNAVAILABLE') after `rpcTimeoutMs`, `health()` says why, keepAlive keeps
 *   answering for known leases, and the watch resumes by itself from the last applied revision.
 *
 * The mapping to etcd (key layout, revisions, leases, failure behaviour) is in
 * docs/registry-etcd.md.
 */
import { type Clock, systemClock } from '../../shared/clock.ts';
import { createLogger, type Logger } from '../../shared/log.ts';
import { KeyCodec, txnWrote } from './etcd-codec.ts';
import { EtcdLeasePool, type LeasePoolStats } from './etcd-lease-pool.ts';
import { EtcdLeases } from './etcd-leases.ts';
import { EtcdMirror } from './etcd-mirror.ts';
import { EtcdRpc, holdOpen } from './etcd-rpc.ts';
import { EtcdWatch, rangeAll } from './etcd-watch.ts';
import type { KeyValue, Store, TxnRequest, TxnResult, WatchListener } from './types.ts';
import { StoreError } from './types.ts';

export interface EtcdStoreOptions {
  /** Client URLs of the etcd members, `http://host:port` (any subset; the client fails over). */
  endpoints: string[];
  /** etcd key prefix this store owns (default `/mesher`; keys live under `<namespace>/`). */
  namespace?: string;
  /** Deadline of one etcd call, retries included (default 3000 ms). */
  rpcTimeoutMs?: number;
  /** Events kept for watch replays (default 10,000). */
  historyLimit?: number;
  /** Only real clocks make sense here (etcd keeps its own time); default the system clock. */
  clock?: Clock;
  logger?: Logger;
  /**
   * Leases granted in advance per TTL, so a registration's only etcd write on its request path is
   * its txn (default 32; 0 grants every lease on demand). See etcd-lease-pool.
   */
  leasePoolSize?: number;
}

export interface EtcdStore extends Store {
  /** Mirror resyncs after falling behind an etcd compaction (metrics and tests). */
  readonly resyncs: number;
  /** Keepalives written to etcd so far, and answers etcd sent back. */
  readonly keepalivesSent: number;
  readonly keepalivesAnswered: number;
  /** Lease pool counters (takes from the pool, misses, discarded stale leases, leases pooled). */
  leasePool(): LeasePoolStats;
  /** Pooled lease ids of a TTL (tests and diagnostics). */
  pooledLeases(ttlMs: number): number[];
}

const DEFAULTS = { namespace: '/mesher', rpcTimeoutMs: 3_000, leasePoolSize: 32 } as const;

/**
 * Connect, load the namespace into the mirror and start watching. Resolves once etcd confirmed
 * the watch; rejects with StoreError('UNAVAILABLE') if that does not happen within `rpcTimeoutMs`.
 */
export function openEtcdStore(options: EtcdStoreOptions): Promise<EtcdStore> {
  return holdOpen(open(options));
}

async function open(options: EtcdStoreOptions): Promise<EtcdStore> {
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? createLogger('registry.etcd');
  const rpcTimeoutMs = options.rpcTimeoutMs ?? DEFAULTS.rpcTimeoutMs;
  if (!(rpcTimeoutMs > 0))
    throw new StoreError('INVALID_ARGUMENT', `rpcTimeoutMs must be positive: ${rpcTimeoutMs}`);
  const codec = new KeyCodec(options.namespace ?? DEFAULTS.namespace);
  const rpc = new EtcdRpc({ endpoints: options.endpoints, rpcTimeoutMs, clock });
  try {
    const { kvs, rev } = await rangeAll(rpc, codec);
    const leasePoolSize = options.leasePoolSize ?? DEFAULTS.leasePoolSize;
    if (!(Number.isInteger(leasePoolSize) && leasePoolSize >= 0 && leasePoolSize <= 10_000))
      throw new StoreError(
        'INVALID_ARGUMENT',
        `leasePoolSize must be an integer in [0, 10000]: ${leasePoolSize}`,
      );
    const o = { clock, log, rpcTimeoutMs, historyLimit: options.historyLimit, leasePoolSize };
    const store = new EtcdStoreImpl(rpc, codec, kvs, rev, o);
    if (await store.firstWatch()) return store;
    await store.close();
    throw new StoreError('UNAVAILABLE', `etcd did not confirm the watch within ${rpcTimeoutMs} ms`);
  } catch (err) {
    rpc.close();
    throw err;
  }
}

class EtcdStoreImpl implements EtcdStore {
  readonly #rpc: EtcdRpc;
  readonly #codec: KeyCodec;
  readonly #mirror: EtcdMirror;
  readonly #watch: EtcdWatch;
  readonly #leases: EtcdLeases;
  readonly #pool: EtcdLeasePool;
  readonly #clock: Clock;
  readonly #rpcTimeoutMs: number;
  readonly #watching: Promise<boolean>;
  #closed = false;

  constructor(
    rpc: EtcdRpc,
    codec: KeyCodec,
    kvs: KeyValue[],
    rev: number,
    o: { clock: Clock; log: Logger; rpcTimeoutMs: number; historyLimit?: number; leasePoolSize: number },
  ) {
    this.#rpc = rpc;
    this.#codec = codec;
    this.#clock = o.clock;
    this.#rpcTimeoutMs = o.rpcTimeoutMs;
    this.#mirror = new EtcdMirror({
      historyLimit: o.historyLimit,
      onListenerError: (err) => o.log.error({ err }, 'store watch listener threw'),
      onLeaseUnused: (id) => this.#leases.unused(id),
    });
    this.#mirror.load(kvs, rev);
    this.#leases = new EtcdLeases(rpc, this.#mirror, o);
    const leases = this.#leases;
    const healthy = () => this.health().ok;
    this.#pool = new EtcdLeasePool(
      {
        grant: (ttlMs) => leases.grant(ttlMs),
        keepAlive: (id) => leases.keepAlive(id),
        refresh: (id) => leases.refresh(id),
        view: (id) => leases.view(id),
        revoke: (id) => leases.revoke(id),
        get ready() {
          if (!leases.streamUp) leases.connect();
          return leases.streamUp && healthy();
        },
      },
      { size: o.leasePoolSize, clock: o.clock, log: o.log },
    );
    // A watch confirmed by etcd means etcd answers again: clear a stale unary failure too.
    this.#watch = new EtcdWatch(rpc, codec, this.#mirror, { ...o, onConnected: () => rpc.markUp() });
    rpc.onRecovered = () => this.#watch.kick();
    this.#watching = this.#watch.start(o.rpcTimeoutMs);
  }

  /** Resolves whether etcd confirmed the first watch within the RPC deadline. */
  firstWatch(): Promise<boolean> {
    return this.#watching;
  }

  get resyncs(): number {
    return this.#watch.resyncs;
  }

  get keepalivesSent(): number {
    return this.#leases.sent;
  }

  get keepalivesAnswered(): number {
    return this.#leases.answered;
  }

  leasePool(): LeasePoolStats {
    return this.#pool.stats();
  }

  pooledLeases(ttlMs: number): number[] {
    return this.#pool.pooledIds(ttlMs);
  }

  revision(): number {
    return this.#mirror.rev;
  }

  get(key: string): KeyValue | undefined {
    return this.#mirror.kvs.get(key);
  }

  range(prefix: string): KeyValue[] {
    return this.#mirror.range(prefix);
  }

  txn(req: TxnRequest): Promise<TxnResult> {
    return holdOpen(this.#txn(req));
  }

  async #txn(req: TxnRequest): Promise<TxnResult> {
    this.#check();
    const wire = this.#codec.txn(req);
    // Leases just taken from the pool: their hand-out keepalive is answered in parallel with the
    // txn, and the write resolves only once etcd renewed them to their full TTL.
    const confirms: Promise<boolean>[] = [];
    for (const op of [...req.success, ...(req.failure ?? [])]) {
      const c = op.type === 'put' && op.lease ? this.#pool.confirmation(op.lease) : undefined;
      if (c) confirms.push(c);
    }
    const call = this.#rpc.call('txn', (o) => this.#rpc.client.kv.txn(wire, o));
    const [res, ...renewed] = await Promise.all([call, ...confirms]);
    if (renewed.includes(false))
      throw new StoreError(
        'UNAVAILABLE',
        `etcd did not confirm the renewal of a pooled lease within ${this.#rpcTimeoutMs} ms`,
      );
    if (!txnWrote(res.responses)) return { succeeded: res.succeeded, revision: this.#mirror.rev };
    const revision = Number(res.header.revision);
    await this.#seen(revision, 'txn');
    return { succeeded: res.succeeded, revision };
  }

  grantLease(ttlMs: number): Promise<number> {
    return holdOpen(
      (async () => {
        this.#check();
        return this.#pool.take(ttlMs) ?? this.#leases.grant(ttlMs);
      })(),
    );
  }

  keepAlive(leaseId: number): boolean {
    return !this.#closed && this.#leases.keepAlive(leaseId);
  }

  revokeLease(leaseId: number): Promise<boolean> {
    return holdOpen(this.#revoke(leaseId));
  }

  async #revoke(leaseId: number): Promise<boolean> {
    this.#check();
    const hadKeys = this.#mirror.leaseKeys.has(leaseId);
    const { found, rev } = await this.#leases.revoke(leaseId);
    // Revoking deletes the lease's keys at `rev`: wait for those deletes, as txn does.
    if (found && hadKeys) await this.#seen(rev, 'lease revoke');
    return found;
  }

  leaseTtl(leaseId: number): { ttlMs: number; remainingMs: number } | undefined {
    return this.#leases.ttl(leaseId);
  }

  watch(prefix: string, listener: WatchListener, fromRevision?: number): () => void {
    if (this.#closed) return () => {}; // like the embedded store: nothing more will come
    return this.#mirror.watch(prefix, listener, fromRevision);
  }

  health(): { ok: true } | { ok: false; reason: string } {
    if (this.#closed) return { ok: false, reason: 'store is closed' };
    if (!this.#watch.connected) return { ok: false, reason: `etcd watch down: ${this.#watch.reason}` };
    const down = this.#rpc.down;
    return down ? { ok: false, reason: down } : { ok: true };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch.close();
    this.#pool.close();
    this.#leases.close();
    this.#mirror.close();
    this.#rpc.close();
  }

  /** Wait until the mirror has applied `revision` (the write's own watch event). */
  async #seen(revision: number, what: string): Promise<void> {
    if (await this.#mirror.waitFor(revision, this.#rpcTimeoutMs, this.#clock)) return;
    if (this.#closed) throw new StoreError('CLOSED', 'store is closed');
    // The write is in etcd but this replica's watch has not delivered it: say so rather than
    // resolve and break read-your-writes. A retry by the caller meets its own guard.
    throw new StoreError(
      'UNAVAILABLE',
      `etcd ${what} applied at revision ${revision}, but this replica's watch has not caught up within ${this.#rpcTimeoutMs} ms`,
    );
  }

  #check(): void {
    if (this.#closed) throw new StoreError('CLOSED', 'store is closed');
  }
}
