/**
 * The etcd store's lease pool on a real 1-member etcd: the pool refills; a registration on a
 * pre-granted lease expires after its own full TTL (also with every replica gone); a pooled lease
 * that ended in etcd is never handed out; while etcd is down grants and registrations fail with
 * UNAVAILABLE, and the pool serves again once etcd is back.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { type EtcdCluster, startEtcdCluster } from '../../../test/support/etcd-cluster.ts';
import { createLogger } from '../../shared/log.ts';
import { type EtcdStore, openEtcdStore } from './etcd-store.ts';
import { isStoreError } from './types.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond() && Date.now() < deadline) await sleep(20);
  assert.ok(cond(), `not reached within ${timeoutMs} ms: ${what}`);
}
const logger = createLogger('test.etcd');
logger.level = 'silent';

let cluster: EtcdCluster;
const stores: EtcdStore[] = [];
let n = 0;
async function open(extra: { leasePoolSize?: number; rpcTimeoutMs?: number; namespace?: string } = {}) {
  const s = await openEtcdStore({
    endpoints: cluster.endpoints,
    namespace: `/pool-${process.pid}-${n++}`,
    logger,
    leasePoolSize: 4,
    ...extra,
  });
  stores.push(s);
  return s;
}
before(async () => {
  cluster = await startEtcdCluster({ members: 1 });
});
after(async () => {
  for (const s of stores) await s.close();
  await cluster?.close();
});

/** Register like the registry does: a lease, then a guarded put under it. */
async function register(s: EtcdStore, key: string, ttlMs: number): Promise<number> {
  const lease = await s.grantLease(ttlMs);
  const r = await s.txn({ success: [{ type: 'put', key, value: 'inst', lease }] });
  assert.equal(r.succeeded, true);
  return lease;
}

test('etcd pool: fills on first use, hands out pooled leases, refills', async () => {
  const s = await open();
  await register(s, '/i/0', 5_000); // first use of the TTL: granted directly
  await until(() => s.pooledLeases(5_000).length === 4, 'pool filled');
  const pooled = s.pooledLeases(5_000);
  const lease = await register(s, '/i/1', 5_000);
  assert.ok(pooled.includes(lease), 'the registration took a pooled lease');
  assert.equal(s.get('/i/1')?.lease, lease);
  assert.ok(s.leaseTtl(lease)!.remainingMs > 4_000, 'renewed as it was handed out');
  await until(() => s.pooledLeases(5_000).length === 4, 'pool refilled');
  assert.ok(!s.pooledLeases(5_000).includes(lease));
  const st = s.leasePool();
  assert.equal(st.taken, 1);
  assert.ok(s.keepAlive(lease), 'a pooled lease takes heartbeats like any other');
});

test('etcd pool: an instance on a pre-granted lease expires after its own full TTL, with every replica gone', async () => {
  const TTL = 3_000;
  const ns = `/pool-expiry-${process.pid}`;
  const a = await open({ namespace: ns });
  const b = await open({ namespace: ns, leasePoolSize: 0 });
  await register(a, '/warm', TTL);
  await until(() => a.pooledLeases(TTL).length === 4, 'pool filled');
  // Let the pooled leases age in etcd (they are refreshed about once a second, not at full TTL).
  await sleep(1_700);
  const pooled = a.pooledLeases(TTL);
  let deletedAt = 0;
  b.watch('/inst', (evs) => {
    for (const e of evs) if (e.type === 'DELETE') deletedAt = Date.now();
  });
  const t0 = Date.now();
  const lease = await register(a, '/inst', TTL);
  assert.ok(pooled.includes(lease));
  await a.close(); // no replica keeps it alive; the other one holds no heartbeats for it
  await until(() => deletedAt > 0, 'the instance expires', TTL + 6_000);
  const lived = deletedAt - t0;
  assert.ok(lived >= TTL - 50, `lived its full TTL from registration (${lived} ms)`);
  assert.ok(lived <= TTL + 3_000, `expired soon after its TTL (${lived} ms)`);
  assert.equal(b.get('/inst'), undefined);
});

test('etcd pool: a pooled lease that ended in etcd is never handed out', async () => {
  const s = await open();
  await register(s, '/w', 4_000);
  await until(() => s.pooledLeases(4_000).length === 4, 'pool filled');
  const ended = s.pooledLeases(4_000);
  const raw = new Etcd3({ hosts: cluster.endpoints });
  try {
    // As if they had expired: etcd no longer knows them.
    for (const id of ended) await raw.leaseClient.leaseRevoke({ ID: id });
  } finally {
    raw.close();
  }
  await until(() => s.pooledLeases(4_000).every((id) => !ended.includes(id)), 'ended leases dropped');
  await until(() => s.pooledLeases(4_000).length === 4, 'pool refilled');
  for (let i = 0; i < 6; i++) {
    const lease = await register(s, `/r/${i}`, 4_000);
    assert.ok(!ended.includes(lease), 'an ended lease was handed out');
  }
  assert.ok(s.leasePool().discarded >= 4);
});

test('etcd pool: while etcd is down registrations fail with UNAVAILABLE; afterwards the pool serves again', async () => {
  const s = await open({ rpcTimeoutMs: 1_500 });
  await register(s, '/d/0', 4_000);
  await until(() => s.pooledLeases(4_000).length === 4, 'pool filled');
  await cluster.stopAll();
  try {
    await until(() => !s.health().ok, 'health turns false');
    const unavailable = (e: unknown) => isStoreError(e) && e.code === 'UNAVAILABLE';
    await assert.rejects(s.grantLease(4_000), unavailable, 'no pooled lease while etcd is down');
    await assert.rejects(
      s.txn({ success: [{ type: 'put', key: '/d/1', value: 'x', lease: s.pooledLeases(4_000)[0] }] }),
      unavailable,
    );
  } finally {
    await cluster.startAll();
  }
  await until(() => s.health().ok, 'health recovers', 15_000);
  const taken = s.leasePool().taken;
  await until(() => s.pooledLeases(4_000).length === 4, 'pool full again', 15_000);
  // Until the keepalive stream is back (its reopen backs off up to 2 s) takes miss and grant directly.
  const deadline = Date.now() + 10_000;
  let i = 0;
  while (s.leasePool().taken === taken && Date.now() < deadline) {
    await register(s, `/d/2/${i++}`, 4_000);
    await sleep(100);
  }
  assert.equal(s.leasePool().taken, taken + 1, 'served from the pool again');
  assert.equal(s.get(`/d/2/${i - 1}`)?.value, 'inst');
});
