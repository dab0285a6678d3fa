/**
 * @module registry/storage/etcd-lease-pool
 * Leases granted in advance, so a registration costs one etcd write on its request path (the
 * txn) instead of two (a LeaseGrant, then the txn).
 *
 * - One small pool per TTL (whole seconds, as etcd grants them), created on the first grant of
 *   that TTL (that grant goes to etcd directly), at most `maxTtls` pools, dropped (and their
 *   leases revoked) after `idleMs` without a take.
 * - Pooled leases are kept alive like any lease (at most one keepalive per lease per second, or
 *   per third of its TTL), so etcd holds each at nearly its full TTL while it waits.
 * - Every lease keeps its own expiry: nothing is shared between instances, so an instance whose
 *   heartbeats stop expires after its own TTL, in etcd, also when every replica is gone.
 * - Full TTL from the moment of registration: a take sends a keepalive for the lease at once;
 *   the txn that attaches keys to it waits for etcd's answer in parallel with its own (see
 *   `confirmation`), so the write resolves only once etcd renewed the lease to its full TTL,
 *   with no extra round trip in sequence.
 * - Never handed out: a lease etcd reported gone (an answer with TTL <= 0), one whose last answer
 *   is older than `maxAnswerAgeMs` or whose known remaining TTL is under half its TTL, and any
 *   lease while etcd is not answering (then the caller grants directly and gets UNAVAILABLE).
 */
import type { Clock, TimerHandle } from '../../shared/clock.ts';
import type { Logger } from '../../shared/log.ts';

/** What the pool needs from the lease manager (EtcdLeases implements it; tests fake it). */
export interface LeaseSource {
  grant(ttlMs: number): Promise<number>;
  /** Coalesced keepalive; false when the lease is gone. */
  keepAlive(id: number): boolean;
  /** Keepalive now; resolves whether etcd renewed it to its full TTL (never rejects). */
  refresh(id: number): Promise<boolean>;
  view(id: number): { ttlMs: number; remainingMs: number; ageMs: number } | undefined;
  revoke(id: number): Promise<unknown>;
  /** Whether etcd is answering right now (keepalive stream open, last RPC succeeded). */
  readonly ready: boolean;
}

export interface LeasePoolOptions {
  /** Leases kept ready per TTL (0 disables the pool). */
  size: number;
  clock: Clock;
  log: Logger;
  /** Distinct TTLs pooled at once (default 8); other TTLs are granted directly. */
  maxTtls?: number;
  /** A TTL's pool is dropped after this long without a take (default 5 min). */
  idleMs?: number;
  /** A lease whose last etcd answer is older than this is not handed out (default 5 s). */
  maxAnswerAgeMs?: number;
  /** Refresh and refill period (default 250 ms). */
  tickMs?: number;
  /** Grants in flight per TTL while refilling (default 8). */
  refillConcurrency?: number;
}

interface Bucket {
  ttlMs: number;
  /** Pooled lease ids, oldest grant first. */
  ids: number[];
  refilling: number;
  lastTakeAt: number;
  /** When a refill grant last failed (refills pause for a second after). */
  failedAt: number;
}

export interface LeasePoolStats {
  /** Takes answered from a pool / not (the caller granted directly). */
  taken: number;
  missed: number;
  /** Pooled leases dropped because etcd said gone, or they were too stale to trust. */
  discarded: number;
  /** Leases currently pooled, over every TTL. */
  pooled: number;
}

const RETRY_AFTER_FAIL_MS = 1_000;

export class EtcdLeasePool {
  readonly #buckets = new Map<number, Bucket>();
  /** Hand-out refreshes not yet answered, by lease id (bounded: removed when settled). */
  readonly #confirming = new Map<number, Promise<boolean>>();
  readonly #o: Required<LeasePoolOptions>;
  readonly #tick: TimerHandle;
  #closed = false;
  taken = 0;
  missed = 0;
  discarded = 0;

  constructor(
    private readonly source: LeaseSource,
    opts: LeasePoolOptions,
  ) {
    this.#o = {
      maxTtls: 8,
      idleMs: 5 * 60_000,
      maxAnswerAgeMs: 5_000,
      tickMs: 250,
      refillConcurrency: 8,
      ...opts,
    };
    this.#tick = opts.clock.setInterval(() => this.#onTick(), this.#o.tickMs);
  }

  /**
   * A pooled lease of `ttlMs` (rounded up to whole seconds), refreshed as it leaves the pool, or
   * undefined: the caller then grants one directly. Starts pooling this TTL if it is new.
   */
  take(ttlMs: number): number | undefined {
    if (this.#closed || this.#o.size <= 0 || !(ttlMs > 0)) return undefined;
    const sec = Math.max(1, Math.ceil(ttlMs / 1000));
    const now = this.#o.clock.now();
    let b = this.#buckets.get(sec);
    if (!b) {
      if (this.#buckets.size >= this.#o.maxTtls) return this.#miss();
      b = { ttlMs: sec * 1000, ids: [], refilling: 0, lastTakeAt: now, failedAt: 0 };
      this.#buckets.set(sec, b);
      this.#refill(b);
      return this.#miss();
    }
    b.lastTakeAt = now;
    let id: number | undefined;
    if (this.source.ready) {
      while (b.ids.length > 0) {
        const cand = b.ids.shift()!;
        if (this.#usable(cand, b.ttlMs)) {
          id = cand;
          break;
        }
        this.#discard(cand);
      }
    }
    this.#refill(b);
    if (id === undefined) return this.#miss();
    const leased = id;
    const p = this.source.refresh(leased).then((renewed) => {
      this.#confirming.delete(leased);
      return renewed;
    });
    this.#confirming.set(leased, p);
    this.taken++;
    return leased;
  }

  /**
   * For a lease just handed out: resolves whether etcd renewed it to its full TTL (undefined once
   * that is settled, or for leases that never came from the pool).
   */
  confirmation(id: number): Promise<boolean> | undefined {
    return this.#confirming.get(id);
  }

  stats(): LeasePoolStats {
    let pooled = 0;
    for (const b of this.#buckets.values()) pooled += b.ids.length;
    return { taken: this.taken, missed: this.missed, discarded: this.discarded, pooled };
  }

  /** Pooled lease ids of a TTL, oldest first (tests and diagnostics). */
  pooledIds(ttlMs: number): number[] {
    return [...(this.#buckets.get(Math.max(1, Math.ceil(ttlMs / 1000)))?.ids ?? [])];
  }

  /** Stop refreshing and refilling; pooled leases are revoked best effort (else they expire). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#tick.cancel();
    for (const b of this.#buckets.values()) this.#revokeAll(b);
    this.#buckets.clear();
  }

  // === internals ===

  #miss(): undefined {
    this.missed++;
    return undefined;
  }

  #usable(id: number, ttlMs: number): boolean {
    const v = this.source.view(id);
    return v !== undefined && v.ageMs <= this.#o.maxAnswerAgeMs && v.remainingMs >= ttlMs / 2;
  }

  #discard(id: number): void {
    this.discarded++;
    // Gone in etcd already, or too stale to trust: revoke in case etcd still holds it.
    this.source.revoke(id).catch(() => {});
  }

  #revokeAll(b: Bucket): void {
    for (const id of b.ids) this.source.revoke(id).catch(() => {});
    b.ids.length = 0;
  }

  #refill(b: Bucket): void {
    if (this.#closed || !this.source.ready) return;
    if (this.#o.clock.now() - b.failedAt < RETRY_AFTER_FAIL_MS) return;
    while (b.ids.length + b.refilling < this.#o.size && b.refilling < this.#o.refillConcurrency) {
      b.refilling++;
      this.source.grant(b.ttlMs).then(
        (id) => {
          b.refilling--;
          if (this.#closed || this.#buckets.get(b.ttlMs / 1000) !== b) {
            this.source.revoke(id).catch(() => {});
            return;
          }
          b.ids.push(id);
          this.#refill(b);
        },
        (err: unknown) => {
          b.refilling--;
          b.failedAt = this.#o.clock.now();
          this.#o.log.debug({ err: String(err), ttlMs: b.ttlMs }, 'lease pool refill failed');
        },
      );
    }
  }

  #onTick(): void {
    const now = this.#o.clock.now();
    for (const [sec, b] of this.#buckets) {
      if (now - b.lastTakeAt > this.#o.idleMs) {
        this.#buckets.delete(sec);
        this.#revokeAll(b);
        continue;
      }
      // Keep every pooled lease alive (coalesced by the source) and drop those etcd says are gone.
      const kept: number[] = [];
      for (const id of b.ids) {
        if (this.source.keepAlive(id)) kept.push(id);
        else this.discarded++;
      }
      b.ids = kept;
      this.#refill(b);
    }
  }
}
