/**
 * Registry metrics on the etcd backend (issue 8): a registry on a real 1-member etcd reports
 * `backend="etcd"`, etcd keepalives for heartbeats, and store health that drops to 0 while etcd
 * is down (refused writes counted as UNAVAILABLE) and comes back after.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type RegistryServer, startRegistry } from '../../src/registry/main.ts';
import { parseExposition, sampleValue } from '../../src/registry/metrics/exposition.ts';
import { type EtcdCluster, startEtcdCluster } from '../support/etcd-cluster.ts';

let cluster: EtcdCluster;
let reg: RegistryServer | undefined;
before(async () => {
  cluster = await startEtcdCluster({ members: 1 });
});
after(async () => {
  await reg?.close();
  await cluster?.close();
});

const MS = '/v4/default/registry/microservices';

async function metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const text = await (await fetch(`${reg!.url}/metrics`)).text();
  return sampleValue(parseExposition(text), `mesher_registry_${name}`, labels);
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, string> }> {
  const r = await fetch(`${reg!.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as Record<string, string> };
}

test('etcd backend: keepalives counted, store health drops while etcd is down and recovers', {
  timeout: 60_000,
}, async () => {
  reg = await startRegistry({
    port: 0,
    etcd: { endpoints: cluster.endpoints, namespace: `/metrics-${process.pid}`, rpcTimeoutMs: 1500 },
  });
  assert.equal(await metric('store_healthy', { backend: 'etcd' }), 1);
  const svc = await post(MS, { service: { serviceName: 'm', appId: 'a', version: '1.0.0' } });
  assert.equal(svc.status, 200);
  const inst = await post(`${MS}/${svc.json.serviceId}/instances`, {
    instance: { hostName: 'h', endpoints: [] },
  });
  assert.equal(inst.status, 200);
  const beat = `${reg.url}${MS}/${svc.json.serviceId}/instances/${inst.json.instanceId}/heartbeat`;
  // Keepalives are coalesced to one a second per lease (the grant counts): beat until one goes.
  await until('a keepalive answered by etcd', async () => {
    assert.equal((await fetch(beat, { method: 'PUT' })).status, 200);
    return ((await metric('etcd_keepalives_answered_total')) ?? 0) > 0;
  });
  assert.ok((await metric('etcd_keepalives_sent_total'))! >= 1);
  assert.equal(await metric('etcd_resyncs_total'), 0);
  assert.ok((await metric('heartbeats_total', { result: 'renewed' }))! >= 1);

  await cluster.stop(0);
  const refused = await post(MS, { service: { serviceName: 'during', appId: 'a', version: '1.0.0' } });
  assert.equal(refused.status, 500);
  assert.equal(refused.json.errorCode, '500011');
  await until('store_healthy 0', async () => (await metric('store_healthy', { backend: 'etcd' })) === 0);
  assert.ok((await metric('store_errors_total', { op: 'txn', code: 'UNAVAILABLE' }))! >= 1);
  assert.equal((await fetch(beat, { method: 'PUT' })).status, 200, 'heartbeats are not failed back');

  await cluster.start(0);
  await until(
    'store_healthy 1',
    async () => (await metric('store_healthy', { backend: 'etcd' })) === 1,
    30_000,
  );
  assert.equal(
    (await post(MS, { service: { serviceName: 'after', appId: 'a', version: '1.0.0' } })).status,
    200,
  );
});
