/**
 * etcd store through a full etcd outage (every member of 3 stopped, then started again): reads
 * from the mirror, writes refused within the deadline, health false, heartbeats still accepted;
 * afterwards health recovers by itself and the watch resumes with no gap and no repeat.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type EtcdCluster, startEtcdCluster } from '../../../test/support/etcd-cluster.ts';
import { createLogger } from '../../shared/log.ts';
import { type EtcdStore, openEtcdStore } from './etcd-store.ts';
import { isStoreError, type WatchEvent } from './types.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond() && Date.now() < deadline) await sleep(20);
  assert.ok(cond(), `not reached within ${timeoutMs} ms: ${what}`);
}
const unavailable = (err: unknown) => isStoreError(err) && err.code === 'UNAVAILABLE';

const logger = createLogger('test.etcd');
logger.level = 'silent';
const RPC_TIMEOUT_MS = 1_500;

let cluster: EtcdCluster;
let store: EtcdStore | undefined;
before(async () => {
  cluster = await startEtcdCluster({ members: 3 });
});
after(async () => {
  await store?.close();
  await cluster?.close();
});

test('all members down: mirror reads, refused writes, health false; back up: writes and watch resume', async () => {
  const s = await openEtcdStore({
    endpoints: cluster.endpoints,
    namespace: '/outage',
    rpcTimeoutMs: RPC_TIMEOUT_MS,
    logger,
  });
  store = s;
  assert.deepEqual(s.health(), { ok: true });
  const events: WatchEvent[] = [];
  s.watch('/o/', (evs) => events.push(...evs));
  const lease = await s.grantLease(10_000);
  await s.txn({ success: [{ type: 'put', key: '/o/inst', value: 'i', lease }] });
  for (let i = 0; i < 5; i++)
    await s.txn({ success: [{ type: 'put', key: `/o/before/${i}`, value: String(i) }] });

  await cluster.stopAll();
  await until(() => !s.health().ok, 'health turns false');
  const health = s.health();
  assert.equal(health.ok, false);
  assert.match((health as { reason: string }).reason, /etcd/);

  const t0 = Date.now();
  await assert.rejects(s.txn({ success: [{ type: 'put', key: '/o/during', value: 'x' }] }), unavailable);
  const took = Date.now() - t0;
  assert.ok(took < RPC_TIMEOUT_MS + 1_000, `txn refused within its deadline (${took} ms)`);
  await assert.rejects(s.grantLease(5_000), unavailable);
  await assert.rejects(s.revokeLease(lease), unavailable);
  assert.equal(s.get('/o/before/3')?.value, '3', 'reads served from the mirror');
  assert.equal(s.range('/o/before/').length, 5);
  assert.equal(s.keepAlive(lease), true, 'heartbeats are not failed back to clients');
  await assert.rejects(
    openEtcdStore({ endpoints: cluster.endpoints, namespace: '/outage', rpcTimeoutMs: 500, logger }),
    unavailable,
    'a new replica cannot load its mirror',
  );

  await sleep(1_000); // let the watch and keepalive streams fail and back off a few times
  await cluster.startAll();
  await until(() => s.health().ok, 'health recovers by itself', 15_000);
  assert.equal(s.keepAlive(lease), true);
  const answered = s.keepalivesAnswered;
  await until(() => s.keepAlive(lease) && s.keepalivesAnswered > answered, 'keepalives reach etcd again');
  assert.ok(s.leaseTtl(lease)!.remainingMs > 5_000, 'etcd renewed the lease');
  for (let i = 0; i < 5; i++)
    await s.txn({ success: [{ type: 'put', key: `/o/after/${i}`, value: String(i) }] });

  // Every write seen exactly once, in revision order, and nothing else.
  const keys = events.map((e) => e.kv.key);
  assert.deepEqual(keys, [
    '/o/inst',
    ...[0, 1, 2, 3, 4].map((i) => `/o/before/${i}`),
    ...[0, 1, 2, 3, 4].map((i) => `/o/after/${i}`),
  ]);
  const revs = events.map((e) => e.revision);
  assert.deepEqual(
    revs,
    [...revs].sort((a, b) => a - b),
  );
  assert.equal(new Set(revs).size, revs.length);

  // Data intact, as a replica starting now sees it.
  const fresh = await openEtcdStore({ endpoints: cluster.endpoints, namespace: '/outage', logger });
  try {
    assert.deepEqual(fresh.range('/o/'), s.range('/o/'));
    assert.equal(fresh.get('/o/inst')?.lease, lease, 'the leased instance survived the outage');
  } finally {
    await fresh.close();
  }
});
