/** The etcd test cluster helper: a 3-member cluster starts, survives a kill, restarts and cleans up. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, test } from 'node:test';
import { type EtcdCluster, startEtcdCluster } from './etcd-cluster.ts';

function health(endpoint: string): Promise<string> {
  return new Promise((resolve) => {
    const req = request(`${endpoint}/health`, { agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', (err) => resolve(`error: ${(err as NodeJS.ErrnoException).code}`));
    req.end();
  });
}

let cluster: EtcdCluster | undefined;
after(() => cluster?.close());

test('3 members start healthy on distinct loopback ports, restart after kill and stopAll', async () => {
  cluster = await startEtcdCluster({ members: 3 });
  assert.equal(cluster.endpoints.length, 3);
  assert.equal(new Set(cluster.endpoints).size, 3);
  for (const e of cluster.endpoints) {
    assert.match(e, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(JSON.parse(await health(e)).health, 'true');
  }
  const leader = await cluster.leader();
  assert.ok(leader >= 0 && leader < 3, `a leader among the members (${leader})`);
  await cluster.kill(1);
  assert.equal(cluster.running(1), false);
  assert.match(await health(cluster.endpoints[1]!), /^error: ECONNREFUSED/);
  await cluster.start(1);
  assert.equal(JSON.parse(await health(cluster.endpoints[1]!)).health, 'true');

  await cluster.stopAll();
  for (let i = 0; i < 3; i++) assert.equal(cluster.running(i), false);
  await cluster.startAll();
  for (const e of cluster.endpoints) assert.equal(JSON.parse(await health(e)).health, 'true');
});

test('a missing etcd binary fails with the install hint, never skips', async () => {
  await assert.rejects(
    startEtcdCluster({ bin: '/nonexistent/etcd' }),
    /etcd not found.*apt-get install etcd-server/,
  );
});

test('close kills members and is idempotent', async () => {
  const c = await startEtcdCluster({ members: 1 });
  const endpoint = c.endpoints[0]!;
  await c.close();
  await c.close();
  assert.equal(c.running(0), false);
  assert.match(await health(endpoint), /^error: ECONNREFUSED/);
});
