/**
 * Failures under traffic (issue #8): three `mesher registry --etcd` child processes on a real
 * 3-member etcd, a provider sidecar and a consumer sidecar configured with all three replicas,
 * steady traffic between them. kill -9 of one etcd member, then kill -9 of the registry replica
 * the sidecars were using: zero failed requests, the provider's registration is not lost (still
 * discoverable on the surviving replicas, its heartbeats keep succeeding) and writes still work.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Sidecar } from '../../src/sidecar/main.ts';
import { fileClosers } from '../support/closers.ts';
import { type EtcdCluster, startEtcdCluster } from '../support/etcd-cluster.ts';
import { eventually, startTestSidecar } from '../support/mesh.ts';
import { type MesherProcess, startMesher } from '../support/mesher-process.ts';
import { startUpstream } from '../support/upstream.ts';
import { call, instancesOn, sleep, startTraffic, writeWithin } from './etcd-helpers.ts';

const closers = fileClosers();

async function startReplica(etcd: EtcdCluster): Promise<{ proc: MesherProcess; url: string }> {
  const proc = startMesher([
    'registry',
    '--listen',
    '127.0.0.1:0',
    '--etcd',
    etcd.endpoints.join(','),
    '--etcd-namespace',
    '/failover',
  ]);
  closers.push(() => proc.stop('SIGKILL'));
  const m = await proc.waitFor(/listening on (http:\/\/\S+)/, 20_000);
  return { proc, url: m[1]! };
}

test('kill -9 of an etcd member and of a registry replica: no failed request, nothing lost', {
  timeout: 60_000,
}, async () => {
  const etcd = await startEtcdCluster({ members: 3 });
  closers.push(() => etcd.close());
  const replicas = await Promise.all([0, 1, 2].map(() => startReplica(etcd)));
  const urls = replicas.map((r) => r.url);
  const registryUrl = urls.join(',');
  await eventually(async () => {
    const h = await call(urls[2]!, 'GET', '/v4/default/registry/health');
    return h.status === 200 && h.json.instances?.length === 3;
  }, 10_000);

  const app = await startUpstream({ id: 'fprov' });
  closers.push(() => app.close());
  const provider: Sidecar = await startTestSidecar({
    name: 'fprov',
    registryUrl,
    listenIp: '127.0.0.2',
    appPort: app.port,
  });
  closers.push(() => provider.close());
  const consumer: Sidecar = await startTestSidecar({ name: 'fcons', registryUrl });
  closers.push(() => consumer.close());
  const reg = await provider.registration.whenRegistered();
  for (const u of urls) await eventually(async () => (await instancesOn(u, 'fprov')).length === 1, 10_000);

  const traffic = startTraffic(consumer, 'http://fprov/x');
  closers.push(() => traffic.stop());
  await eventually(() => traffic.ok > 20, 10_000);

  // One etcd member dies: the cluster keeps its quorum; the replicas' clients fail over.
  await etcd.kill(0);
  await sleep(2000);
  // A write may meet the election the kill started (500011, retried as clients do); it must
  // succeed within the window, and nothing but 500011 may come before it.
  const w1 = await writeWithin(urls[1]!, 'after-member-kill');
  assert.equal(w1.reply.status, 200, `writes work with 2 of 3 members: ${JSON.stringify(w1.reply.json)}`);

  // The replica the sidecars use first dies without deregistering anything.
  replicas[0]!.proc.child.kill('SIGKILL');
  await replicas[0]!.proc.exited();
  const heartbeatsBefore = provider.registration.status().lastHeartbeatOk ?? 0;
  // The provider sidecar heartbeats every 5 s: wait for one that went to a surviving replica.
  await eventually(() => (provider.registration.status().lastHeartbeatOk ?? 0) > heartbeatsBefore, 15_000);
  assert.equal(provider.registration.status().registered, true);
  for (const u of urls.slice(1)) {
    const insts = await instancesOn(u, 'fprov');
    assert.deepEqual(
      insts.map((i) => i.instanceId),
      [reg.instanceId],
      `registration kept on ${u}`,
    );
  }
  const w2 = await writeWithin(urls[2]!, 'after-replica-kill');
  assert.equal(w2.reply.status, 200, `writes work after a replica kill: ${JSON.stringify(w2.reply.json)}`);
  const okBefore = traffic.ok;
  await eventually(() => traffic.ok > okBefore + 50, 10_000);
  await traffic.stop();
  assert.equal(traffic.failed, 0, `failed requests: ${traffic.errors.join('; ')}`);
  assert.ok(traffic.ok > 100, `steady traffic ran (${traffic.ok} requests)`);
});
