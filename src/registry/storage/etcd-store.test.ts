/** etcd store: the Store contract against a real 1-member etcd (one cluster for the file). */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type EtcdCluster, startEtcdCluster } from '../../../test/support/etcd-cluster.ts';
import { type EtcdStore, openEtcdStore } from './etcd-store.ts';
import { runStoreContract } from './store-contract.ts';
import { isStoreError } from './types.ts';

let cluster: EtcdCluster;
before(async () => {
  cluster = await startEtcdCluster({ members: 1 });
});
after(() => cluster?.close());

let n = 0;
const fresh = (extra: { rpcTimeoutMs?: number } = {}) =>
  openEtcdStore({ endpoints: cluster.endpoints, namespace: `/contract-${process.pid}-${n++}`, ...extra });

runStoreContract('etcd', () => fresh(), { leaseClock: 'real' });

test('etcd: keys outside "/" are refused with INVALID_ARGUMENT; namespaces sharing a prefix stay apart', async () => {
  const a: EtcdStore = await openEtcdStore({ endpoints: cluster.endpoints, namespace: '/ns' });
  const b: EtcdStore = await openEtcdStore({ endpoints: cluster.endpoints, namespace: '/ns-b' });
  try {
    await assert.rejects(a.txn({ success: [{ type: 'put', key: 'no-slash', value: 'x' }] }), (err) => {
      return isStoreError(err) && err.code === 'INVALID_ARGUMENT';
    });
    await b.txn({ success: [{ type: 'put', key: '/x', value: 'b' }] });
    await a.txn({ success: [{ type: 'put', key: '/y', value: 'a' }] });
    assert.deepEqual(
      a.range('').map((kv) => kv.key),
      ['/y'],
    );
    await a.txn({ success: [{ type: 'deletePrefix', prefix: '' }] });
    assert.deepEqual(a.range(''), []);
    assert.equal(b.get('/x')?.value, 'b');
  } finally {
    await a.close();
    await b.close();
  }
});

test('etcd: a txn that writes nothing resolves at once with the unchanged revision', async () => {
  const s = await fresh({ rpcTimeoutMs: 10_000 });
  try {
    await s.txn({ success: [{ type: 'put', key: '/a', value: '1' }] });
    const rev = s.revision();
    const t0 = Date.now();
    const r = await s.txn({
      success: [
        { type: 'delete', key: '/missing' },
        { type: 'deletePrefix', prefix: '/none/' },
      ],
    });
    assert.ok(Date.now() - t0 < 5_000, 'did not wait for a watch event that never comes');
    assert.deepEqual(r, { succeeded: true, revision: rev });
  } finally {
    await s.close();
  }
});

test('etcd: bad options are refused up front', async () => {
  await assert.rejects(
    openEtcdStore({ endpoints: [] }),
    (e) => isStoreError(e) && e.code === 'INVALID_ARGUMENT',
  );
  await assert.rejects(
    openEtcdStore({ endpoints: ['127.0.0.1:2379'] }),
    (e) => isStoreError(e) && e.code === 'INVALID_ARGUMENT',
  );
  await assert.rejects(
    openEtcdStore({ endpoints: cluster.endpoints, namespace: 'x' }),
    (e) => isStoreError(e) && e.code === 'INVALID_ARGUMENT',
  );
});
