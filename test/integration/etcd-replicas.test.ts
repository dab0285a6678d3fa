/**
 * Registry replicas on one real 3-member etcd cluster (issue #8): two in-process registries are
 * interchangeable — register on A, discover on B, a WebSocket watch on B sees A's changes (an
 * explicit deregistration at once, not held by self-preservation), `rev`/304 on both; health on
 * either lists both replicas; a sidecar registry client seeded with A alone learns B
 * (autodiscovery) and fails over to it when A goes away.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { type RegistryServer, startRegistry } from '../../src/registry/main.ts';
import { createRegistryClient } from '../../src/sidecar/registry-client/client.ts';
import { type EtcdCluster, startEtcdCluster } from '../support/etcd-cluster.ts';
import { eventually } from '../support/mesh.ts';
import { call, instancesOn } from './etcd-helpers.ts';

let etcd: EtcdCluster;
let a: RegistryServer;
let b: RegistryServer;
const closers: Array<() => Promise<unknown>> = [];

before(async () => {
  etcd = await startEtcdCluster({ members: 3 });
  closers.push(() => etcd.close());
  const etcdOpts = { endpoints: etcd.endpoints, namespace: '/replicas' };
  [a, b] = (await Promise.all([0, 1].map(() => startRegistry({ port: 0, etcd: etcdOpts })))) as [
    RegistryServer,
    RegistryServer,
  ];
  closers.push(
    () => a.close(),
    () => b.close(),
  );
});
after(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
});

test('health on every replica lists every replica', { timeout: 60_000 }, async () => {
  for (const r of [a, b]) {
    const h = await call(r.url, 'GET', '/v4/default/registry/health');
    assert.equal(h.status, 200);
    const endpoints = h.json.instances.flatMap((i: { endpoints: string[] }) => i.endpoints).sort();
    assert.deepEqual(endpoints, [`rest://127.0.0.1:${a.port}/`, `rest://127.0.0.1:${b.port}/`].sort());
    assert.equal(h.json.selfPreservation.enabled, true, 'on by default with etcd');
    assert.equal(h.json.selfPreservation.active, false);
  }
});

test('register on A, discover on B; rev/304 on both; B watches A changes', { timeout: 60_000 }, async () => {
  const svc = await call(a.url, 'POST', '/v4/default/registry/microservices', {
    service: { serviceName: 'xprov', version: '1.0.0' },
  });
  assert.equal(svc.status, 200);
  const sid = svc.json.serviceId as string;
  const inst = await call(a.url, 'POST', `/v4/default/registry/microservices/${sid}/instances`, {
    instance: { hostName: 'h1', endpoints: ['rest://127.0.0.1:1/'] },
  });
  assert.equal(inst.status, 200);
  // txn resolves once A's mirror has it; B gets it from the etcd watch.
  assert.equal((await instancesOn(a.url, 'xprov')).length, 1);
  await eventually(async () => (await instancesOn(b.url, 'xprov')).length === 1, 5000);

  // A consumer on B: its find records the dependency, which routes watch events to it.
  const cons = await call(b.url, 'POST', '/v4/default/registry/microservices', {
    service: { serviceName: 'xcons', version: '1.0.0' },
  });
  const cid = cons.json.serviceId as string;
  const find = '/v4/default/registry/instances?appId=default&serviceName=xprov';
  for (const r of [a, b]) {
    const first = await call(r.url, 'GET', find, undefined, { 'x-consumerid': cid });
    assert.equal(first.status, 200);
    const rev = first.headers.get('x-resource-revision');
    assert.ok(rev);
    assert.equal((await call(r.url, 'GET', `${find}&rev=${rev}`)).status, 304, r.url);
  }

  const events: Array<{ action: string; instance: { instanceId: string } }> = [];
  const ws = new WebSocket(`ws://127.0.0.1:${b.port}/v4/default/registry/microservices/${cid}/watcher`);
  closers.push(async () => ws.terminate());
  ws.on('message', (d) => events.push(JSON.parse(String(d))));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const revBefore = (await call(b.url, 'GET', find)).headers.get('x-resource-revision');
  const second = await call(a.url, 'POST', `/v4/default/registry/microservices/${sid}/instances`, {
    instance: { hostName: 'h2', endpoints: ['rest://127.0.0.1:2/'] },
  });
  const iid2 = second.json.instanceId as string;
  await eventually(() => events.some((e) => e.action === 'CREATE' && e.instance.instanceId === iid2), 5000);
  // B's revision moved, so the old rev is no longer 304 there.
  assert.equal((await call(b.url, 'GET', `${find}&rev=${revBefore}`)).status, 200);

  // An explicit deregistration on A reaches B's watcher and B's find at once (not after the
  // self-preservation window, which only applies to lease expiry).
  const t0 = Date.now();
  const del = await call(a.url, 'DELETE', `/v4/default/registry/microservices/${sid}/instances/${iid2}`);
  assert.equal(del.status, 200);
  await eventually(() => events.some((e) => e.action === 'DELETE' && e.instance.instanceId === iid2), 5000);
  assert.equal((await instancesOn(b.url, 'xprov')).length, 1);
  assert.ok(Date.now() - t0 < 1900, `explicit delete was not held (${Date.now() - t0} ms)`);
});

test('a sidecar client seeded with A learns B from health and fails over to it', {
  timeout: 60_000,
}, async () => {
  const c = await startRegistry({ port: 0, etcd: { endpoints: etcd.endpoints, namespace: '/replicas' } });
  let cClosed = false;
  closers.push(() => (cClosed ? Promise.resolve() : c.close()));
  const client = createRegistryClient(
    {
      addresses: [c.url],
      project: 'default',
      domain: 'default',
      autodiscovery: true,
      refreshIntervalMs: 60_000,
    },
    { timeoutMs: 2000 },
  );
  closers.push(() => client.close());
  await eventually(async () => {
    await client.discoverPeers();
    return client.addresses.length === 3;
  }, 5000);
  assert.deepEqual([...client.addresses].sort(), [a.url, b.url, c.url].sort());
  assert.equal(client.addresses[0], c.url, 'the seed stays first');
  await c.close();
  cClosed = true;
  const svc = await client.existence({
    appId: 'default',
    serviceName: 'xprov',
    version: '1.0.0',
    environment: '',
  });
  assert.ok(svc, 'answered by a learned replica');
  assert.notEqual(client.currentAddress(), c.url);
  // C deregistered itself on close: the others no longer list it.
  await eventually(async () => {
    const h = await call(a.url, 'GET', '/v4/default/registry/health');
    return h.json.instances.length === 2;
  }, 5000);
});
