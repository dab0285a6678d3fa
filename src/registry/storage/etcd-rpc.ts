/**
 * @module registry/storage/etcd-rpc
 * The one place the etcd backend talks to the etcd3 client: it builds the client, runs every
 * unary RPC under one overall deadline (retrying transient failures on another member until the
 * deadline), maps client errors to StoreError, and tracks whether etcd answered recently (the
 * store's `health()`).
 *
 * Fault handling is ours, not the client's: its default per-member circuit breaker stays open
 * for 5 s after three failures, which would keep a replica refusing writes for seconds after etcd
 * came back. We pass pass-through policies and retry here with a short, capped backoff. A dead
 * member fails fast (connection refused) and the next attempt goes to a random member, so writes
 * keep working when one member of three is killed.
 *
 * Note on retries: etcd answers "no leader", "leader changed" and "request timed out" with gRPC
 * UNAVAILABLE, like a refused connection. After "leader changed"/"timed out" the write may have
 * been applied; the retry then applies it again (a put twice, or a guarded create that reports
 * "exists"). etcd's own Go client does the same for these codes; callers' guards absorb it.
 */
import {
  ClientClosedError,
  Etcd3,
  EtcdLeaseInvalidError,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCInternalError,
  type IOptions,
  isRecoverableError,
} from 'etcd3';
import type { Clock } from '../../shared/clock.ts';
import { StoreError } from './types.ts';

export interface EtcdRpcOptions {
  endpoints: string[];
  /** Overall deadline of one RPC including retries (ms). */
  rpcTimeoutMs: number;
  clock: Clock;
}

/** A policy that just runs the call: the client's `IPolicy` as far as etcd3 uses it (execute). */
const passThrough = {
  execute: <T>(fn: (ctx: { signal: AbortSignal; attempt: number }) => T) =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal, attempt: 0 })),
};
type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/** Largest gRPC message accepted (a range page or a watch response deleting many keys). */
const MAX_RECEIVE_BYTES = 64 * 1024 * 1024;

export class EtcdRpc {
  readonly client: Etcd3;
  readonly #opts: EtcdRpcOptions;
  #closed = false;
  /** Why the last RPC failed for lack of etcd; null once one succeeds again. */
  #down: string | null = null;
  /** Told after a call succeeded while etcd was marked down (so the watch can reconnect now). */
  onRecovered: (() => void) | null = null;

  constructor(opts: EtcdRpcOptions) {
    if (opts.endpoints.length === 0) throw new StoreError('INVALID_ARGUMENT', 'etcd: no endpoints');
    for (const e of opts.endpoints)
      if (!/^https?:\/\/[^/]+$/.test(e))
        throw new StoreError('INVALID_ARGUMENT', `etcd endpoint must look like http://host:port: ${e}`);
    this.#opts = opts;
    this.client = new Etcd3({
      hosts: opts.endpoints,
      dialTimeout: opts.rpcTimeoutMs,
      grpcOptions: {
        'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
        // Find dead connections (no FIN, e.g. a partition) without waiting for TCP timeouts; etcd
        // refuses pings more often than every 5 s (--grpc-keepalive-min-time).
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.keepalive_permit_without_calls': 1,
      },
      faultHandling: {
        host: () => passThrough as unknown as Policy,
        global: passThrough as unknown as Policy,
      },
    });
  }

  /** Why etcd is considered unreachable, or null. */
  get down(): string | null {
    return this.#down;
  }

  markDown(reason: string): void {
    this.#down = reason;
  }

  markUp(): void {
    this.#down = null;
  }

  /**
   * Run `fn` (one etcd3 call given its call options) until it succeeds, fails permanently, or the
   * deadline passes. Transient failures retry after 25, 50, 100 … 400 ms. One attempt gets at most
   * a third of the budget: a member whose leader just died holds a forwarded proposal until its
   * own request timeout (seconds), and the next attempt on another member answers at once.
   */
  async call<T>(what: string, fn: (opts: { deadline: Date }) => Promise<T>, timeoutMs?: number): Promise<T> {
    if (this.#closed) throw new StoreError('CLOSED', 'store is closed');
    const { clock } = this.#opts;
    const deadline = clock.now() + (timeoutMs ?? this.#opts.rpcTimeoutMs);
    let delay = 25;
    for (let attempt = 1; ; attempt++) {
      try {
        const attemptMs = Math.max(this.#opts.rpcTimeoutMs / 3, 300);
        const out = await fn({ deadline: new Date(Math.min(deadline, clock.now() + attemptMs)) });
        if (this.#down !== null) {
          this.#down = null;
          this.onRecovered?.();
        }
        return out;
      } catch (err) {
        if (this.#closed) throw new StoreError('CLOSED', 'store is closed', err);
        if (!isTransient(err)) throw toStoreError(what, err);
        const left = deadline - clock.now();
        if (left <= 0) {
          const e = new StoreError(
            'UNAVAILABLE',
            `etcd ${what}: no answer after ${attempt} attempts: ${message(err)}`,
            err,
          );
          this.#down = e.message;
          throw e;
        }
        await new Promise<void>((r) => clock.setTimeout(r, Math.min(delay, left)));
        delay = Math.min(delay * 2, 400);
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.client.close();
  }
}

/**
 * Keep the process alive until `p` settles. The Clock's real timers are unref'd and a gRPC
 * channel to a dead etcd holds no handle either, so a caller awaiting a retry during an outage
 * would otherwise see its process exit under it.
 */
export function holdOpen<T>(p: Promise<T>): Promise<T> {
  const handle = setInterval(() => {}, 60_000);
  return p.finally(() => clearInterval(handle));
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Errors that mean "etcd (or this member) cannot answer right now": retry elsewhere. */
export function isTransient(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  return (
    isRecoverableError(err as Error) ||
    err instanceof GRPCDeadlineExceededError ||
    err instanceof GRPCCancelledError ||
    err instanceof GRPCInternalError
  );
}

/** Map a non-transient etcd3 error to a StoreError. */
export function toStoreError(what: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const msg = `etcd ${what}: ${message(err)}`;
  if (err instanceof EtcdLeaseInvalidError) return new StoreError('LEASE_NOT_FOUND', msg, err);
  if (err instanceof ClientClosedError) return new StoreError('CLOSED', msg, err);
  if (isTransient(err)) return new StoreError('UNAVAILABLE', msg, err);
  // Anything else etcd refused (request too large, too many ops in a txn, ...).
  return new StoreError('IO', msg, err);
}
