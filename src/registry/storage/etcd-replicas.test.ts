/**
 * etcd store replicas on one 3-member etcd: cross-replica reads, watches and keepalives; writes
 * through kill -9 of the raft leader; and a replica whose watch fell behind a compaction
 * converging through a re-range.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { type EtcdCluster, startEtcdCluster } from '../../../test/support/etcd-cluster.ts';
import { createLogger } from '../../shared/log.ts';
import { type EtcdStore, openEtcdStore } from './etcd-store.ts';
import type { WatchEvent } from './types.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond() && Date.now() < deadline) await sleep(20);
  assert.ok(cond(), `not reached within ${timeoutMs} ms: ${what}`);
}

const logger = createLogger('test.etcd');
logger.level = 'silent';

let cluster: EtcdCluster;
const open: EtcdStore[] = [];
before(async () => {
  cluster = await startEtcdCluster({ members: 3 });
});
after(async () => {
  for (const s of open) await s.close();
  await cluster?.close();
});

let n = 0;
async function replicas(count: number, endpoints?: (i: number) => string[]): Promise<EtcdStore[]> {
  const namespace = `/replicas-${n++}`;
  const out: EtcdStore[] = [];
  for (let i = 0; i < count; i++) {
    const s = await openEtcdStore({ endpoints: endpoints?.(i) ?? cluster.endpoints, namespace, logger });
    open.push(s);
    out.push(s);
  }
  return out;
}

test('a write on one replica reaches the other through its watch, with the same revisions', async () => {
  const [a, b] = (await replicas(2)) as [EtcdStore, EtcdStore];
  const seen: WatchEvent[] = [];
  b.watch('/x/', (evs) => seen.push(...evs));
  const r = await a.txn({ success: [{ type: 'put', key: '/x/1', value: 'v1' }] });
  await until(() => b.get('/x/1') !== undefined, 'b sees /x/1');
  assert.deepEqual(b.get('/x/1'), a.get('/x/1'));
  assert.equal(b.revision(), r.revision);
  // A guarded create on b sees a's key (the compare runs in etcd, not in b's mirror).
  const dup = await b.txn({
    compare: [{ key: '/x/1', target: 'version', op: '=', value: 0 }],
    success: [{ type: 'put', key: '/x/1', value: 'b' }],
  });
  assert.equal(dup.succeeded, false);
  await b.txn({ success: [{ type: 'delete', key: '/x/1' }] });
  await until(() => a.get('/x/1') === undefined, 'a sees the delete');
  assert.deepEqual(
    seen.map((e) => [e.type, e.kv.key, e.kv.value]),
    [
      ['PUT', '/x/1', 'v1'],
      ['DELETE', '/x/1', 'v1'],
    ],
  );
});

test('a lease granted on one replica is kept alive from the other', async () => {
  const [a, b] = (await replicas(2)) as [EtcdStore, EtcdStore];
  const lease = await a.grantLease(2_000);
  await a.txn({ success: [{ type: 'put', key: '/inst/1', value: 'x', lease }] });
  await until(() => b.get('/inst/1') !== undefined, 'b sees the instance');
  // Heartbeats land on b only, for twice the TTL.
  for (const end = Date.now() + 4_000; Date.now() < end; ) {
    assert.equal(b.keepAlive(lease), true);
    await sleep(200);
  }
  assert.ok(a.get('/inst/1'), 'still registered after 2x its TTL');
  assert.equal(b.leaseTtl(lease)?.ttlMs, 2_000, 'b learnt the TTL from its keepalive answers');
  assert.ok(b.keepalivesSent > 0);
  // A lease nobody holds a key on, and nobody granted here, is unknown to b.
  assert.equal(b.keepAlive(lease + 1), false);
  assert.equal(await b.revokeLease(lease), true);
  assert.equal(b.get('/inst/1'), undefined, 'the revoke resolved after b applied the delete');
  await until(() => a.get('/inst/1') === undefined, 'a sees the revoke');
  assert.equal(a.keepAlive(lease), true, 'a has not been told yet; etcd answers its next keepalive');
  await until(() => a.keepAlive(lease) === false, 'a learns the lease is gone');
});

test('kill -9 of the raft leader: every write keeps succeeding', async () => {
  const [a] = (await replicas(1)) as [EtcdStore];
  const leader = await cluster.leader();
  assert.ok(leader >= 0);
  let i = 0;
  const failures: unknown[] = [];
  const latencies: number[] = [];
  const writer = (async () => {
    const end = Date.now() + 4_000;
    while (Date.now() < end) {
      const t0 = Date.now();
      try {
        await a.txn({ success: [{ type: 'put', key: `/k/${i}`, value: String(i) }] });
      } catch (err) {
        failures.push(err);
      }
      latencies.push(Date.now() - t0);
      i++;
    }
  })();
  await sleep(500);
  await cluster.kill(leader);
  await writer;
  assert.deepEqual(failures, []);
  assert.ok(i > 10, `wrote ${i} keys`);
  assert.equal(a.range('/k/').length, i);
  console.log(`# kill -9 leader: ${i} writes, slowest ${Math.max(...latencies)} ms`);
  await cluster.start(leader);
});

test('a replica whose watch fell behind a compaction re-ranges and emits the difference', async () => {
  // b talks to member 2 only, so stopping member 2 cuts b off while a keeps writing.
  const [a, b] = (await replicas(2, (i) =>
    i === 0 ? cluster.endpoints.slice(0, 2) : [cluster.endpoints[2]!],
  )) as [EtcdStore, EtcdStore];
  await a.txn({
    success: ['/c/keep', '/c/change', '/c/drop'].map((key) => ({ type: 'put' as const, key, value: 'v1' })),
  });
  await until(() => b.range('/c/').length === 3, 'b has the initial keys');
  const seen: WatchEvent[] = [];
  b.watch('/c/', (evs) => seen.push(...evs));

  await cluster.stop(2);
  await until(() => !b.health().ok, 'b notices');
  await a.txn({ success: [{ type: 'put', key: '/c/change', value: 'v2' }] });
  await a.txn({ success: [{ type: 'delete', key: '/c/drop' }] });
  await a.txn({ success: [{ type: 'put', key: '/c/new', value: 'v1' }] });
  const etcd = new Etcd3({ hosts: cluster.endpoints.slice(0, 2) });
  try {
    await etcd.kv.compact({ revision: a.revision(), physical: true });
  } finally {
    etcd.close();
  }
  await cluster.start(2);

  await until(() => b.resyncs === 1 && b.health().ok, 'b resynchronised', 15_000);
  assert.deepEqual(
    b.range('/c/').map((kv) => [kv.key, kv.value]),
    a.range('/c/').map((kv) => [kv.key, kv.value]),
  );
  assert.deepEqual(seen.map((e) => [e.type, e.kv.key, e.kv.value]).sort(), [
    ['DELETE', '/c/drop', 'v1'],
    ['PUT', '/c/change', 'v2'],
    ['PUT', '/c/new', 'v1'],
  ]);
  // And it follows live changes again.
  await a.txn({ success: [{ type: 'put', key: '/c/after', value: 'x' }] });
  await until(() => b.get('/c/after') !== undefined, 'b follows again');
});
