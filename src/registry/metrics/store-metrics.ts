/**
 * @module registry/metrics/store-metrics
 * Metrics of the storage backend. `MeteredStore` wraps the Store the registry's operations use
 * and counts what passes through it (plain number fields, no labels on the call path); the rest
 * is read from the backend when scraped:
 *
 *   <p>store_healthy{backend}                          gauge 1/0 (store.health(): 0 = writes refused)
 *   <p>store_revision                                  gauge, the store-wide revision
 *   <p>store_txns_total{result}                        succeeded | compare_failed | error
 *   <p>store_txn_duration_seconds                      histogram (writes only; reads are local maps)
 *   <p>store_errors_total{op,code}                     StoreError codes (+ OTHER) by txn/grant/revoke
 *   <p>lease_grants_total, lease_revokes_total          counters
 *   <p>heartbeats_total{result}                        lease renewals: renewed | unknown_lease
 *   <p>etcd_resyncs_total                              etcd only: mirror resyncs after compaction
 *   <p>etcd_keepalives_sent_total / _answered_total    etcd only: lease keepalives to etcd
 *
 * Heartbeats are counted at `keepAlive`, so every renewal counts once whatever carried it: the
 * HTTP heartbeat, the batch heartbeat, the WebSocket heartbeat, a re-registration of a known
 * instance and the registry's own self-heartbeat.
 */
import { EmbeddedStore } from '../storage/embedded-store.ts';
import type {
  KeyValue,
  Store,
  StoreErrorCode,
  TxnRequest,
  TxnResult,
  WatchListener,
} from '../storage/types.ts';
import { isStoreError } from '../storage/types.ts';
import { callbackMetric, HistogramFamily, type PromMetric, type Sample } from './cells.ts';

export type StoreBackend = 'embedded' | 'etcd' | 'custom';

/** The etcd store's own counters (EtcdStore in ../storage/etcd-store.ts). */
interface EtcdCounters {
  readonly resyncs: number;
  readonly keepalivesSent: number;
  readonly keepalivesAnswered: number;
}

const STORE_CODES: readonly (StoreErrorCode | 'OTHER')[] = [
  'COMPACTED',
  'CLOSED',
  'IO',
  'LEASE_NOT_FOUND',
  'CORRUPT',
  'UNAVAILABLE',
  'INVALID_ARGUMENT',
  'OTHER',
];
const OPS = ['txn', 'grant_lease', 'revoke_lease'] as const;
type CountedOp = (typeof OPS)[number];

export const TXN_DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
] as const;

function etcdCounters(store: Store): EtcdCounters | null {
  const s = store as Partial<EtcdCounters>;
  return typeof s.resyncs === 'number' &&
    typeof s.keepalivesSent === 'number' &&
    typeof s.keepalivesAnswered === 'number'
    ? (s as EtcdCounters)
    : null;
}

/** A Store that counts txns, errors, lease grants/revokes and heartbeats, delegating everything. */
export class MeteredStore implements Store {
  txnSucceeded = 0;
  txnCompareFailed = 0;
  txnErrors = 0;
  leaseGrants = 0;
  leaseRevokes = 0;
  renewed = 0;
  unknownLease = 0;
  /** errors[op index][code index] */
  readonly errors: number[][] = OPS.map(() => STORE_CODES.map(() => 0));
  readonly txnDuration: HistogramFamily;
  readonly #txnCell;

  constructor(
    readonly inner: Store,
    prefix: string,
  ) {
    this.txnDuration = new HistogramFamily(
      `${prefix}store_txn_duration_seconds`,
      'Store write transactions, from the call until durable (embedded: fsync; etcd: applied to this replica)',
      TXN_DURATION_BUCKETS,
    );
    this.#txnCell = this.txnDuration.add({});
  }

  #failed(op: CountedOp, err: unknown): void {
    const code = isStoreError(err) ? err.code : 'OTHER';
    const i = STORE_CODES.indexOf(code);
    this.errors[OPS.indexOf(op)]![i < 0 ? STORE_CODES.length - 1 : i]!++;
  }

  revision(): number {
    return this.inner.revision();
  }
  get(key: string): KeyValue | undefined {
    return this.inner.get(key);
  }
  range(prefix: string): KeyValue[] {
    return this.inner.range(prefix);
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    const t0 = performance.now();
    try {
      const res = await this.inner.txn(req);
      if (res.succeeded) this.txnSucceeded++;
      else this.txnCompareFailed++;
      return res;
    } catch (err) {
      this.txnErrors++;
      this.#failed('txn', err);
      throw err;
    } finally {
      this.#txnCell.observe((performance.now() - t0) / 1000);
    }
  }

  async grantLease(ttlMs: number): Promise<number> {
    try {
      const id = await this.inner.grantLease(ttlMs);
      this.leaseGrants++;
      return id;
    } catch (err) {
      this.#failed('grant_lease', err);
      throw err;
    }
  }

  keepAlive(leaseId: number): boolean {
    const ok = this.inner.keepAlive(leaseId);
    if (ok) this.renewed++;
    else this.unknownLease++;
    return ok;
  }

  async revokeLease(leaseId: number): Promise<boolean> {
    try {
      const found = await this.inner.revokeLease(leaseId);
      if (found) this.leaseRevokes++;
      return found;
    } catch (err) {
      this.#failed('revoke_lease', err);
      throw err;
    }
  }

  leaseTtl(leaseId: number): { ttlMs: number; remainingMs: number } | undefined {
    return this.inner.leaseTtl(leaseId);
  }
  watch(prefix: string, listener: WatchListener, fromRevision?: number): () => void {
    return this.inner.watch(prefix, listener, fromRevision);
  }
  health(): { ok: true } | { ok: false; reason: string } {
    return this.inner.health();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The store metrics, read from `store` (and the backend behind it) when scraped. */
export function storeMetrics(store: MeteredStore, backend: StoreBackend, prefix: string): PromMetric[] {
  const inner = store.inner;
  const errors = (): Sample[] => {
    const out: Sample[] = [];
    OPS.forEach((op, i) => {
      STORE_CODES.forEach((code, j) => {
        out.push({ labels: { op, code }, value: store.errors[i]![j]! });
      });
    });
    return out;
  };
  const metrics: PromMetric[] = [
    callbackMetric(
      `${prefix}store_healthy`,
      'Whether the store takes writes (1) or not (0: etcd unreachable, or the embedded store failed stop); the registry keeps serving reads from its cache',
      'gauge',
      () => [{ labels: { backend }, value: inner.health().ok ? 1 : 0 }],
    ),
    callbackMetric(
      `${prefix}store_revision`,
      'The store-wide revision this registry has applied',
      'gauge',
      () => inner.revision(),
    ),
    callbackMetric(`${prefix}store_txns_total`, 'Store write transactions by outcome', 'counter', () => [
      { labels: { result: 'succeeded' }, value: store.txnSucceeded },
      { labels: { result: 'compare_failed' }, value: store.txnCompareFailed },
      { labels: { result: 'error' }, value: store.txnErrors },
    ]),
    store.txnDuration,
    callbackMetric(
      `${prefix}store_errors_total`,
      'Store calls that failed, by operation and StoreError code (UNAVAILABLE: etcd unreachable; IO: disk)',
      'counter',
      errors,
    ),
    callbackMetric(
      `${prefix}lease_grants_total`,
      'Leases granted (one per registered instance)',
      'counter',
      () => store.leaseGrants,
    ),
    callbackMetric(
      `${prefix}lease_revokes_total`,
      'Leases revoked by deregistrations and service deletes',
      'counter',
      () => store.leaseRevokes,
    ),
    callbackMetric(
      `${prefix}heartbeats_total`,
      'Lease renewals from heartbeats (HTTP, batch, WebSocket), re-registrations and the self-heartbeat; unknown_lease = the lease was gone',
      'counter',
      () => [
        { labels: { result: 'renewed' }, value: store.renewed },
        { labels: { result: 'unknown_lease' }, value: store.unknownLease },
      ],
    ),
  ];
  const etcd = etcdCounters(inner);
  if (etcd) {
    metrics.push(
      callbackMetric(
        `${prefix}etcd_resyncs_total`,
        'Times the watch-fed mirror reloaded from etcd after falling behind a compaction',
        'counter',
        () => etcd.resyncs,
      ),
      callbackMetric(
        `${prefix}etcd_keepalives_sent_total`,
        'Lease keepalives written to etcd',
        'counter',
        () => etcd.keepalivesSent,
      ),
      callbackMetric(
        `${prefix}etcd_keepalives_answered_total`,
        'Lease keepalive answers received from etcd',
        'counter',
        () => etcd.keepalivesAnswered,
      ),
    );
  }
  return metrics;
}

/** Which backend a store is (for the `backend` label); `custom` for an injected one. */
export function storeBackend(store: Store): StoreBackend {
  if (store instanceof EmbeddedStore) return 'embedded';
  return etcdCounters(store) ? 'etcd' : 'custom';
}
