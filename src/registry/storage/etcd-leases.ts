/**
 * @module registry/storage/etcd-leases
 * Leases on etcd for the etcd Store: grant with a client-chosen id, synchronous keepAlive that
 * sends coalesced keepalives over one long-lived LeaseKeepAlive stream, revoke, and a TTL view
 * from the last answer. Expiry itself happens in etcd (so an instance expires even when every
 * registry replica is gone); the mirror sees the deletes through its watch.
 *
 * Ids: etcd lease ids are int64 but the Store speaks `number`, so we pick a random id below 2^53
 * ourselves (LeaseGrant accepts one) and retry on the rare collision.
 *
 * Which leases keepAlive accepts: those granted here, and those attached to a key in the mirror
 * (granted by another replica), until etcd answers a keepalive with TTL <= 0 or we revoke it.
 * During an outage keepAlive keeps answering true for them (heartbeats are not failed back to
 * clients; etcd does not expire leases without a leader either) and keepalives resume when a
 * stream can be opened again.
 */
import { randomBytes } from 'node:crypto';
import type {
  IDuplexStream,
  ILeaseGrantResponse,
  ILeaseKeepAliveRequest,
  ILeaseKeepAliveResponse,
} from 'etcd3';
import type { Clock, TimerHandle } from '../../shared/clock.ts';
import type { Logger } from '../../shared/log.ts';
import type { EtcdMirror } from './etcd-mirror.ts';
import type { EtcdRpc } from './etcd-rpc.ts';
import { StoreError } from './types.ts';

interface LeaseInfo {
  /** Granted TTL in ms; 0 while unknown (a lease first seen on a mirrored key). */
  ttlMs: number;
  /** Remaining TTL at `answeredAt`, from etcd's last answer. */
  remainingMs: number;
  answeredAt: number;
  lastSentAt: number;
  inflight: boolean;
  /** Granted by this replica (kept until etcd says it is gone or it is revoked). */
  local: boolean;
  touchedAt: number;
}

export interface EtcdLeasesOptions {
  clock: Clock;
  log: Logger;
  rpcTimeoutMs: number;
}

/** At most one keepalive per lease per this interval (or a third of its TTL, if shorter). */
const COALESCE_MS = 1_000;
/** Ids etcd reported gone, remembered so mirrored keys do not revive them (bounded). */
const GONE_CAP = 10_000;
const SWEEP_MS = 10_000;
const REOPEN_MIN_MS = 250;
const REOPEN_MAX_MS = 2_000;

/** A random lease id in [1, 2^53). */
function randomLeaseId(): number {
  const b = randomBytes(8);
  const id = (b.readUInt32BE(0) & 0x1f_ffff) * 2 ** 32 + b.readUInt32BE(4); // 21 + 32 = 53 bits
  return id === 0 ? 1 : id;
}

const COLLISION: unique symbol = Symbol('lease id collision');

export class EtcdLeases {
  readonly #known = new Map<number, LeaseInfo>();
  readonly #gone = new Set<number>();
  #stream: IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse> | null = null;
  #opening = false;
  #nextOpenAt = 0;
  #reopenMs = REOPEN_MIN_MS;
  /** Keepalives waiting for the stream (a set of lease ids: bounded by the known leases). */
  readonly #pending = new Set<number>();
  readonly #sweep: TimerHandle;
  /** Callers of refresh() waiting for etcd's answer on a lease (bounded by leases in hand-out). */
  readonly #waiters = new Map<number, Array<(renewed: boolean) => void>>();
  #reopenTimer: TimerHandle | null = null;
  #closed = false;
  /** Keepalives written to etcd, and answers received (for benchmarks and metrics). */
  sent = 0;
  answered = 0;

  constructor(
    private readonly rpc: EtcdRpc,
    private readonly mirror: EtcdMirror,
    private readonly opts: EtcdLeasesOptions,
  ) {
    this.#sweep = opts.clock.setInterval(() => this.#sweepIdle(), SWEEP_MS);
  }

  async grant(ttlMs: number): Promise<number> {
    if (!(ttlMs > 0)) throw new StoreError('INVALID_ARGUMENT', `lease TTL must be positive: ${ttlMs}`);
    const ttl = Math.max(1, Math.ceil(ttlMs / 1000));
    for (let attempt = 0; attempt < 5; attempt++) {
      const id = randomLeaseId();
      const res = await this.rpc.call<ILeaseGrantResponse | typeof COLLISION>('lease grant', (o) =>
        this.rpc.client.leaseClient
          .leaseGrant({ TTL: ttl, ID: id }, o)
          .catch((err: Error): typeof COLLISION => {
            // etcd: FailedPrecondition "etcdserver: lease already exists" (also after a retried grant).
            if (/lease already exists/.test(err.message)) return COLLISION;
            throw err;
          }),
      );
      if (res === COLLISION) continue;
      if (res.error) throw new StoreError('IO', `etcd lease grant: ${res.error}`);
      const now = this.opts.clock.now();
      const ttlGranted = Number(res.TTL) * 1000;
      this.#gone.delete(id);
      this.#known.set(id, {
        ttlMs: ttlGranted,
        remainingMs: ttlGranted,
        answeredAt: now,
        lastSentAt: now,
        inflight: false,
        local: true,
        touchedAt: now,
      });
      return id;
    }
    throw new StoreError('IO', 'etcd lease grant: five id collisions in a row');
  }

  keepAlive(id: number): boolean {
    if (this.#closed || this.#gone.has(id)) return false;
    const now = this.opts.clock.now();
    let info = this.#known.get(id);
    if (!info) {
      if (!this.mirror.leaseKeys.has(id)) return false;
      info = {
        ttlMs: 0,
        remainingMs: 0,
        answeredAt: 0,
        lastSentAt: 0,
        inflight: false,
        local: false,
        touchedAt: now,
      };
      this.#known.set(id, info);
    }
    info.touchedAt = now;
    const every = info.ttlMs > 0 ? Math.min(COALESCE_MS, info.ttlMs / 3) : COALESCE_MS;
    // An answer that never came (stream died) stops counting after the RPC deadline.
    const inflight = info.inflight && now - info.lastSentAt < this.opts.rpcTimeoutMs;
    if (!inflight && now - info.lastSentAt >= every) {
      info.inflight = true;
      info.lastSentAt = now;
      this.#send(id);
    }
    return true;
  }

  /** Whether a keepalive stream is open (etcd answered it): keepalives are reaching etcd. */
  get streamUp(): boolean {
    return this.#stream !== null && !this.#closed;
  }

  /** Open the keepalive stream if it is not (respecting the reopen backoff). */
  connect(): void {
    this.#open();
  }

  /**
   * Send a keepalive for `id` now (no coalescing) and resolve whether etcd renewed the lease to
   * its full TTL: true on a TTL > 0 answer, false if etcd says it is gone, the store closes, or no
   * answer comes within the RPC deadline. Never rejects.
   */
  refresh(id: number): Promise<boolean> {
    if (this.#closed || this.#gone.has(id) || !this.#known.has(id)) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      let done = false;
      const timer = this.opts.clock.setTimeout(() => settle(false), this.opts.rpcTimeoutMs);
      const settle = (renewed: boolean) => {
        if (done) return;
        done = true;
        timer.cancel();
        const list = this.#waiters.get(id);
        if (list) {
          const i = list.indexOf(settle);
          if (i >= 0) list.splice(i, 1);
          if (list.length === 0) this.#waiters.delete(id);
        }
        resolve(renewed);
      };
      const list = this.#waiters.get(id);
      if (list) list.push(settle);
      else this.#waiters.set(id, [settle]);
      const info = this.#known.get(id)!;
      info.inflight = true;
      info.lastSentAt = this.opts.clock.now();
      info.touchedAt = info.lastSentAt;
      this.#send(id);
    });
  }

  /** What we know of a lease: its TTL, remaining TTL now, and the age of etcd's last answer. */
  view(id: number): { ttlMs: number; remainingMs: number; ageMs: number } | undefined {
    const info = this.#known.get(id);
    if (!info || info.ttlMs === 0) return undefined;
    const ageMs = this.opts.clock.now() - info.answeredAt;
    return { ttlMs: info.ttlMs, remainingMs: Math.max(0, info.remainingMs - ageMs), ageMs };
  }

  /** Revoke in etcd. `found` false when etcd did not know the lease; `rev` is etcd's revision after. */
  async revoke(id: number): Promise<{ found: boolean; rev: number }> {
    try {
      const res = await this.rpc.call('lease revoke', (o) =>
        this.rpc.client.leaseClient.leaseRevoke({ ID: id }, o),
      );
      this.#forget(id);
      return { found: true, rev: Number(res.header.revision) };
    } catch (err) {
      if (err instanceof StoreError && err.code === 'LEASE_NOT_FOUND') {
        this.#forget(id);
        return { found: false, rev: 0 };
      }
      throw err;
    }
  }

  ttl(id: number): { ttlMs: number; remainingMs: number } | undefined {
    const info = this.#known.get(id);
    if (!info || info.ttlMs === 0) return undefined;
    const elapsed = this.opts.clock.now() - info.answeredAt;
    return { ttlMs: info.ttlMs, remainingMs: Math.max(0, info.remainingMs - elapsed) };
  }

  /** The mirror's last key on `id` went away: a lease we only knew from keys is no longer ours to keep. */
  unused(id: number): void {
    this.#gone.delete(id);
    const info = this.#known.get(id);
    if (info && !info.local) this.#known.delete(id);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sweep.cancel();
    this.#reopenTimer?.cancel();
    this.#stream?.cancel();
    this.#stream = null;
    this.#pending.clear();
    for (const list of [...this.#waiters.values()]) for (const settle of [...list]) settle(false);
  }

  // === internals ===

  #forget(id: number): void {
    this.#known.delete(id);
    this.#gone.add(id);
    if (this.#gone.size > GONE_CAP) this.#gone.delete(this.#gone.values().next().value!);
  }

  #send(id: number): void {
    if (this.#stream) {
      this.#stream.write({ ID: id });
      this.sent++;
      return;
    }
    this.#pending.add(id);
    this.#open();
  }

  #open(): void {
    if (this.#closed || this.#opening || this.#stream || this.#reopenTimer) return;
    const wait = this.#nextOpenAt - this.opts.clock.now();
    if (wait > 0) {
      this.#reopenTimer = this.opts.clock.setTimeout(() => {
        this.#reopenTimer = null;
        this.#open();
      }, wait);
      return;
    }
    this.#opening = true;
    this.rpc.client.leaseClient.leaseKeepAlive().then(
      (stream) => {
        this.#opening = false;
        if (this.#closed) {
          stream.cancel();
          return;
        }
        this.#attach(stream);
      },
      (err: unknown) => {
        this.#opening = false;
        this.#failed(`cannot open the keepalive stream: ${String(err)}`);
      },
    );
  }

  #attach(stream: IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>): void {
    this.#stream = stream;
    let ended = false;
    const end = (reason: string) => {
      if (ended) return;
      ended = true;
      if (this.#stream === stream) this.#stream = null;
      for (const info of this.#known.values()) info.inflight = false;
      // Refreshes still waiting for an answer are sent again on the next stream.
      for (const id of this.#waiters.keys()) this.#pending.add(id);
      this.#failed(reason);
    };
    stream.on('data', (res) => this.#onAnswer(res));
    stream.on('error', (err) => end(`keepalive stream failed: ${err.message}`));
    stream.on('end', () => end('keepalive stream ended'));
    const ids = [...this.#pending];
    this.#pending.clear();
    for (const id of ids) this.#send(id);
  }

  #onAnswer(res: ILeaseKeepAliveResponse): void {
    this.#reopenMs = REOPEN_MIN_MS;
    this.answered++;
    const id = Number(res.ID);
    const ttl = Number(res.TTL);
    const waiting = this.#waiters.get(id);
    if (waiting) for (const settle of [...waiting]) settle(ttl > 0);
    const info = this.#known.get(id);
    if (!info) return;
    if (ttl <= 0) {
      this.opts.log.info({ lease: id }, 'etcd says the lease is gone');
      this.#forget(id);
      return;
    }
    info.inflight = false;
    info.ttlMs = ttl * 1000;
    info.remainingMs = ttl * 1000;
    info.answeredAt = this.opts.clock.now();
  }

  #failed(reason: string): void {
    if (this.#closed) return;
    this.opts.log.debug({ reason }, 'etcd keepalive stream down');
    this.#nextOpenAt = this.opts.clock.now() + this.#reopenMs;
    this.#reopenMs = Math.min(this.#reopenMs * 2, REOPEN_MAX_MS);
    if (this.#pending.size > 0) this.#open();
  }

  /** Drop leases nobody keeps alive any more and no mirrored key holds. */
  #sweepIdle(): void {
    const now = this.opts.clock.now();
    for (const [id, info] of this.#known) {
      if (this.mirror.leaseKeys.has(id)) continue;
      if (now - info.touchedAt > 2 * Math.max(info.ttlMs, COALESCE_MS) + SWEEP_MS) this.#known.delete(id);
    }
  }
}
