/**
 * etcd fully down for 30 s (issue #8): two registry replicas (in-process) on a real 3-member etcd,
 * a provider sidecar and a consumer sidecar that know both replicas, steady traffic between them.
 * While every etcd member is stopped: zero failed requests; reads are served from each replica's
 * cache, writes answer 500011, health answers 400002, heartbeats of known instances answer 200.
 * After startAll: the provider's registration is intact on both replicas and writes work again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type RegistryServer, startRegistry } from '../../src/registry/main.ts';
import type { Sidecar } from '../../src/sidecar/main.ts';
import { fileClosers } from '../support/closers.ts';
import { type EtcdCluster, startEtcdCluster } from '../support/etcd-cluster.ts';
import { eventually, startTestSidecar } from '../support/mesh.ts';
import { startUpstream } from '../support/upstream.ts';
import { call, instancesOn, sleep, startTraffic } from './etcd-helpers.ts';

const OUTAGE_MS = 30_000;
const closers = fileClosers();

test('etcd down 30 s: the mesh keeps serving, writes 500011, then everything is back', {
  timeout: 100_000,
}, async () => {
  const etcd: EtcdCluster = await startEtcdCluster({ members: 3 });
  closers.push(() => etcd.close());
  const etcdOpts = { endpoints: etcd.endpoints, namespace: '/outage', rpcTimeoutMs: 1500 };
  const [a, b] = (await Promise.all([0, 1].map(() => startRegistry({ port: 0, etcd: etcdOpts })))) as [
    RegistryServer,
    RegistryServer,
  ];
  closers.push(
    () => a.close(),
    () => b.close(),
  );
  const registryUrl = `${a.url},${b.url}`;
  const app = await startUpstream({ id: 'oprov' });
  closers.push(() => app.close());
  const provider: Sidecar = await startTestSidecar({
    name: 'oprov',
    registryUrl,
    listenIp: '127.0.0.2',
    appPort: app.port,
  });
  closers.push(() => provider.close());
  const consumer: Sidecar = await startTestSidecar({ name: 'ocons', registryUrl });
  closers.push(() => consumer.close());
  const reg = await provider.registration.whenRegistered();
  assert.ok(reg.serviceId && reg.instanceId);
  await eventually(async () => (await instancesOn(b.url, 'oprov')).length === 1, 10_000);

  const traffic = startTraffic(consumer, 'http://oprov/x');
  closers.push(() => traffic.stop());
  await eventually(() => traffic.ok > 20, 10_000);

  await etcd.stopAll();
  const downAt = Date.now();
  // Each replica notices (its watch and RPCs fail) and says so.
  for (const r of [a, b]) {
    await eventually(
      async () => (await call(r.url, 'GET', '/v4/default/registry/health')).status === 400,
      10_000,
    );
    const h = await call(r.url, 'GET', '/v4/default/registry/health');
    assert.equal(h.json.errorCode, '400002');
  }
  const write = await call(a.url, 'POST', '/v4/default/registry/microservices', {
    service: { serviceName: 'during-outage', version: '1.0.0' },
  });
  assert.equal(write.status, 500);
  assert.equal(write.json.errorCode, '500011');
  const hb = await call(
    b.url,
    'PUT',
    `/v4/default/registry/microservices/${reg.serviceId}/instances/${reg.instanceId}/heartbeat`,
  );
  assert.equal(hb.status, 200, 'known instances are not told to re-register during an outage');
  for (const r of [a, b]) assert.equal((await instancesOn(r.url, 'oprov')).length, 1, 'reads from the cache');

  await sleep(Math.max(0, OUTAGE_MS - (Date.now() - downAt)));
  assert.equal(traffic.failed, 0, `failed during the outage: ${traffic.errors.join('; ')}`);
  await etcd.startAll();

  for (const r of [a, b])
    await eventually(
      async () => (await call(r.url, 'GET', '/v4/default/registry/health')).status === 200,
      15_000,
    );
  await eventually(async () => {
    const w = await call(a.url, 'POST', '/v4/default/registry/microservices', {
      service: { serviceName: 'after-outage', version: '1.0.0' },
    });
    return w.status === 200;
  }, 15_000);
  for (const r of [a, b]) {
    const insts = await instancesOn(r.url, 'oprov');
    assert.deepEqual(
      insts.map((i) => i.instanceId),
      [reg.instanceId],
      `the provider is intact on ${r.url}`,
    );
  }
  // The provider's heartbeats reach etcd again (its lease survived the outage).
  await eventually(() => provider.registration.status().lastError === undefined, 15_000);
  const before = traffic.ok;
  await eventually(() => traffic.ok > before + 20, 10_000);
  await traffic.stop();
  assert.equal(traffic.failed, 0, `failed requests: ${traffic.errors.join('; ')}`);
});
