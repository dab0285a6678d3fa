// Autodiscovery: the client learns registry replicas from /registry/health (stub registries on
// loopback), keeps its seeds, fails over to a learned replica when every seed is gone, and keeps
// the last good list when the read fails. The timer runs on a ManualClock.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { AddressPool, MAX_LEARNED_ADDRESSES } from './address-pool.ts';
import { createRegistryClient } from './client.ts';
import { replicaAddresses } from './peer-discovery.ts';

const servers: Server[] = [];
after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

interface Stub {
  url: string;
  port: number;
  health: () => { status: number; body: unknown };
  hits: string[];
  stop(): Promise<void>;
}

async function stub(): Promise<Stub> {
  const st: Stub = {
    url: '',
    port: 0,
    health: () => ({ status: 200, body: {} }),
    hits: [],
    stop: async () => {},
  };
  const server = createServer((req, res) => {
    st.hits.push(req.url!);
    req.resume();
    const h = req.url!.endsWith('/registry/health') ? st.health() : { status: 200, body: { service: {} } };
    res.writeHead(h.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(h.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  st.port = (server.address() as AddressInfo).port;
  st.url = `http://127.0.0.1:${st.port}`;
  st.stop = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  return st;
}

const healthOf = (...ports: number[]) => ({
  status: 200,
  body: {
    instances: ports.map((p, i) => ({
      instanceId: `sc${i}`,
      hostName: '127.0.0.1',
      status: 'UP',
      endpoints: [`rest://127.0.0.1:${p}/`],
    })),
  },
});

test('learns replicas from health, keeps seeds, fails over to a learned one', async () => {
  const seed = await stub();
  const b = await stub();
  const c = await stub();
  seed.health = () => healthOf(seed.port, b.port, c.port);
  const clock = new ManualClock();
  const client = createRegistryClient(
    { addresses: [seed.url], project: 'p', domain: 'd', autodiscovery: true, refreshIntervalMs: 1000 },
    { clock, timeoutMs: 1000 },
  );
  try {
    await client.discoverPeers();
    assert.deepEqual(client.addresses, [seed.url, b.url, c.url]);
    assert.ok(seed.hits.includes('/v4/p/registry/health'));

    // The list shrinks: learned replicas follow it, the seed stays even when not listed.
    seed.health = () => healthOf(c.port);
    clock.advance(1000);
    await client.discoverPeers();
    assert.deepEqual(client.addresses, [seed.url, c.url]);

    // A failed read (health 400002 while the store is down) keeps the last good list.
    seed.health = () => ({ status: 400, body: { errorCode: '400002', errorMessage: 'unhealthy' } });
    await client.discoverPeers();
    assert.deepEqual(client.addresses, [seed.url, c.url]);

    // The seed dies: calls go to the learned replica.
    await seed.stop();
    assert.ok(await client.getService('x'));
    assert.equal(client.currentAddress(), c.url);
    assert.ok(c.hits.some((h) => h.startsWith('/v4/p/registry/microservices/x')));
  } finally {
    await client.close();
  }
});

test('autodiscovery off: health is never read', async () => {
  const seed = await stub();
  seed.health = () => healthOf(1);
  const client = createRegistryClient({ addresses: [seed.url], project: 'p', domain: 'd' });
  try {
    await client.discoverPeers();
    assert.deepEqual(client.addresses, [seed.url]);
    assert.equal(seed.hits.length, 0);
  } finally {
    await client.close();
  }
});

test('replicaAddresses: UP instances only, rest → http, sslEnabled → https, junk skipped', () => {
  const text = JSON.stringify({
    instances: [
      { status: 'UP', endpoints: ['rest://10.0.0.1:30100/', 'rest://10.0.0.1:30100/'] },
      { endpoints: ['rest://10.0.0.2:30100?sslEnabled=true'] },
      { status: 'DOWN', endpoints: ['rest://10.0.0.3:30100/'] },
      { status: 'UP', endpoints: ['grpc://10.0.0.4:1', 'rest://noport/', 42, 'not a url'] },
      null,
      { status: 'UP', endpoints: 'rest://10.0.0.5:1' },
    ],
  });
  assert.deepEqual(replicaAddresses(text), ['http://10.0.0.1:30100', 'https://10.0.0.2:30100']);
  assert.deepEqual(replicaAddresses('<html>'), []);
  assert.deepEqual(replicaAddresses('{"instances":{}}'), []);
});

test('AddressPool.setLearned: bounded, deduplicated, current address kept', () => {
  const pool = new AddressPool(['http://a:1', 'http://b:2']);
  pool.markFailed('http://a:1');
  assert.equal(pool.current(), 'http://b:2');
  assert.equal(pool.setLearned(['http://c:3', 'b:2', 'http://c:3/', 'ftp://x:1']), true);
  assert.deepEqual(pool.addresses, ['http://a:1', 'http://b:2', 'http://c:3']);
  assert.equal(pool.current(), 'http://b:2');
  assert.equal(pool.setLearned(['http://c:3']), false, 'no change');
  pool.markHealthy('http://c:3');
  pool.setLearned([]);
  assert.deepEqual(pool.addresses, ['http://a:1', 'http://b:2']);
  assert.equal(pool.current(), 'http://a:1', 'the learned current one left: back to the first');
  pool.setLearned(Array.from({ length: 100 }, (_, i) => `http://h${i}:1`));
  assert.equal(pool.addresses.length, 2 + MAX_LEARNED_ADDRESSES);
});
