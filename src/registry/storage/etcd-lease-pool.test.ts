/**
 * The lease pool against a fake lease source on a ManualClock: what may be handed out (fresh,
 * confirmed, more than half its TTL left), what never is (gone, stale, anything while etcd is
 * not answering), refill to size, hand-out refresh, idle pools dropped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { createLogger } from '../../shared/log.ts';
import { EtcdLeasePool, type LeaseSource } from './etcd-lease-pool.ts';

const log = createLogger('test.pool');
log.level = 'silent';
const flush = () => new Promise((r) => setImmediate(r));

/** A lease manager in memory: leases expire at answeredAt + ttl unless refreshed. */
class FakeSource implements LeaseSource {
  next = 1;
  ready = true;
  failGrants = false;
  /** id -> { ttlMs, answeredAt (ms), gone } */
  readonly leases = new Map<number, { ttlMs: number; answeredAt: number; gone: boolean }>();
  readonly refreshed: number[] = [];
  readonly revoked: number[] = [];
  /** When false, keepalives are not answered (answeredAt stays). */
  answering = true;
  constructor(private readonly clock: ManualClock) {}
  async grant(ttlMs: number): Promise<number> {
    if (this.failGrants) throw new Error('etcd down');
    const id = this.next++;
    this.leases.set(id, { ttlMs, answeredAt: this.clock.now(), gone: false });
    return id;
  }
  keepAlive(id: number): boolean {
    const l = this.leases.get(id);
    if (!l || l.gone) return false;
    if (this.answering) l.answeredAt = this.clock.now();
    return true;
  }
  async refresh(id: number): Promise<boolean> {
    this.refreshed.push(id);
    return this.keepAlive(id) && this.answering;
  }
  view(id: number) {
    const l = this.leases.get(id);
    if (!l || l.gone) return undefined;
    const ageMs = this.clock.now() - l.answeredAt;
    return { ttlMs: l.ttlMs, remainingMs: Math.max(0, l.ttlMs - ageMs), ageMs };
  }
  async revoke(id: number): Promise<unknown> {
    this.revoked.push(id);
    this.leases.delete(id);
    return undefined;
  }
}

function setup(size = 4) {
  const clock = new ManualClock();
  const src = new FakeSource(clock);
  const pool = new EtcdLeasePool(src, { size, clock, log, tickMs: 250 });
  return { clock, src, pool };
}

test('pool: the first take of a TTL misses and starts the pool; later takes come from it and it refills', async () => {
  const { src, pool } = setup(4);
  try {
    assert.equal(pool.take(10_000), undefined);
    await flush();
    assert.equal(pool.pooledIds(10_000).length, 4);
    const id = pool.take(10_000);
    assert.ok(id !== undefined && src.leases.has(id));
    assert.deepEqual(src.refreshed, [id], 'a taken lease is refreshed as it leaves the pool');
    assert.equal(await pool.confirmation(id!), true);
    assert.equal(pool.confirmation(id!), undefined, 'settled confirmations are forgotten');
    await flush();
    assert.equal(pool.pooledIds(10_000).length, 4, 'refilled');
    assert.ok(!pool.pooledIds(10_000).includes(id!), 'a taken lease is not handed out twice');
    // 10.4 s rounds up to the 11 s pool, not the 10 s one.
    assert.equal(pool.take(10_400), undefined);
    assert.deepEqual(pool.stats(), { taken: 1, missed: 2, discarded: 0, pooled: 4 });
  } finally {
    pool.close();
  }
});

test('pool: a lease gone in etcd or too stale is never handed out', async () => {
  const { clock, src, pool } = setup(3);
  try {
    pool.take(6_000);
    await flush();
    const [a, b, c] = pool.pooledIds(6_000);
    // a: etcd reported it gone; the tick drops it.
    src.leases.get(a!)!.gone = true;
    clock.advance(250);
    await flush();
    assert.ok(!pool.pooledIds(6_000).includes(a!));
    // Keepalives stop being answered: after half the TTL nothing pooled may be handed out.
    src.answering = false;
    clock.advance(3_100);
    await flush();
    const got = pool.take(6_000);
    assert.equal(got, undefined, 'stale leases are not handed out');
    assert.ok(src.revoked.includes(b!) && src.revoked.includes(c!), 'stale leases are revoked');
    assert.ok(pool.stats().discarded >= 3);
  } finally {
    pool.close();
  }
});

test('pool: nothing is handed out while etcd is not answering, and refills wait for it', async () => {
  const { clock, src, pool } = setup(2);
  try {
    pool.take(5_000);
    await flush();
    src.ready = false;
    assert.equal(pool.take(5_000), undefined);
    assert.equal(pool.pooledIds(5_000).length, 2, 'kept for when etcd answers again');
    src.ready = true;
    src.failGrants = true;
    const id = pool.take(5_000);
    assert.ok(id !== undefined);
    await flush();
    assert.equal(pool.pooledIds(5_000).length, 1, 'a failed refill is not counted');
    src.failGrants = false;
    clock.advance(1_250);
    await flush();
    assert.equal(pool.pooledIds(5_000).length, 2, 'refill resumes after the pause');
  } finally {
    pool.close();
  }
});

test('pool: a refresh etcd does not confirm resolves false; idle pools are dropped and revoked', async () => {
  const { clock, src, pool } = setup(2);
  try {
    pool.take(5_000);
    await flush();
    src.answering = false;
    const id = pool.take(5_000)!;
    assert.equal(await pool.confirmation(id), false);
    src.answering = true;
    await flush();
    const ids = pool.pooledIds(5_000);
    assert.equal(ids.length, 2);
    clock.advance(5 * 60_000 + 500);
    await flush();
    assert.deepEqual(pool.pooledIds(5_000), []);
    for (const x of ids) assert.ok(src.revoked.includes(x));
    assert.equal(clock.pending, 1, 'only the tick is scheduled');
  } finally {
    pool.close();
  }
});
