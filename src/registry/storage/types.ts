/**
 * @module registry/storage/types
 * The storage interface the registry (and later the config center) is written against. It is
 * shaped after etcd v3 so an etcd backend can implement it directly:
 * - keyed records (string keys, string values) with per-key create/mod revisions and a version;
 * - one store-wide revision that grows by one for every successful write transaction;
 * - transactions with compare guards (create-if-absent, "still exists", compare-and-swap);
 * - leases (grant, keepalive, revoke, expiry) that delete their attached keys when they end;
 * - a watch stream of PUT/DELETE events from a revision.
 *
 * Contract notes:
 * - `txn` resolves only once the write is durable (embedded backend: after fsync). Its effects
 *   are visible to `get`/`range` and delivered to watchers synchronously when it is applied.
 * - `keepAlive` is cheap and not persisted: after a restart every lease gets a fresh full TTL
 *   (the "grace of one TTL" rule), which is exactly what etcd does for a new leader too.
 * - Watch listeners are called synchronously, in revision order, and must not throw or block.
 */

export interface KeyValue {
  readonly key: string;
  readonly value: string;
  /** Revision of the transaction that created this key (since its last deletion). */
  readonly createRevision: number;
  /** Revision of the last transaction that changed this key. */
  readonly modRevision: number;
  /** 1 on create, +1 on every put; a put with version 1 is a CREATE. */
  readonly version: number;
  /** Lease the key is attached to, 0 for none. */
  readonly lease: number;
}

export type Compare =
  | { key: string; target: 'version'; op: CompareOp; value: number }
  | { key: string; target: 'value'; op: CompareOp; value: string }
  | { key: string; target: 'modRevision'; op: CompareOp; value: number };
export type CompareOp = '=' | '!=' | '>' | '<';

export type Op =
  | { type: 'put'; key: string; value: string; lease?: number }
  | { type: 'delete'; key: string }
  | { type: 'deletePrefix'; prefix: string };

export interface TxnRequest {
  compare?: Compare[];
  success: Op[];
  failure?: Op[];
}

export interface TxnResult {
  succeeded: boolean;
  /** Store revision after the transaction (unchanged if nothing was written). */
  revision: number;
}

export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  /** For DELETE: the last value the key held (etcd's prevKv). */
  kv: KeyValue;
  revision: number;
}

export type WatchListener = (events: readonly WatchEvent[]) => void;

export interface Store {
  /** Current store revision. */
  revision(): number;
  get(key: string): KeyValue | undefined;
  /** Every key under `prefix`, in key order. O(keys) — meant for start-up and admin use. */
  range(prefix: string): KeyValue[];
  txn(req: TxnRequest): Promise<TxnResult>;

  /** Grant a lease of `ttlMs`; resolves with its id once durable. */
  grantLease(ttlMs: number): Promise<number>;
  /** Extend a lease by its TTL. Returns false if it does not exist. O(1), never touches disk. */
  keepAlive(leaseId: number): boolean;
  /** Revoke a lease now, deleting its keys. Resolves false if it did not exist. */
  revokeLease(leaseId: number): Promise<boolean>;
  /** Remaining time to live in ms, or -1 if the lease does not exist. */
  leaseTtl(leaseId: number): { ttlMs: number; remainingMs: number } | undefined;

  /**
   * Subscribe to every change under `prefix` from `fromRevision` (inclusive; default: the next
   * one). Throws StoreError('COMPACTED') if that revision is no longer in the history.
   * Returns an unsubscribe function.
   */
  watch(prefix: string, listener: WatchListener, fromRevision?: number): () => void;

  /**
   * Whether the store can take writes. After a failed durable write the embedded store fails
   * stop (memory may be ahead of disk): writes are refused until a restart recovers from disk.
   * The registry's health endpoint reports this as 400002.
   */
  health(): { ok: true } | { ok: false; reason: string };

  /** Flush pending writes, stop timers, close files. Idempotent. */
  close(): Promise<void>;
}

export type StoreErrorCode =
  | 'COMPACTED'
  | 'CLOSED'
  | 'IO'
  | 'LEASE_NOT_FOUND'
  | 'CORRUPT'
  /** The backend (etcd) cannot be reached or did not answer within the deadline. */
  | 'UNAVAILABLE'
  /** A key or option the backend cannot store (e.g. an etcd key not starting with "/"). */
  | 'INVALID_ARGUMENT';

const BRAND = Symbol.for('mesher.StoreError');

/** A storage failure; the API maps it to 500011 "Registry service is unavailable". */
export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'StoreError';
    this.code = code;
  }
  get [BRAND](): true {
    return true;
  }
}

export function isStoreError(err: unknown): err is StoreError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
}
