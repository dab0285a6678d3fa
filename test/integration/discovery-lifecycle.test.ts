/**
 * Discovery and balancing through real sidecars: round-robin spread, failover when an instance's
 * sidecar is killed (-9), instances appearing and disappearing through the registry's watch, and
 * the registry going away after start or being absent at start.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ProxyAgent, request } from 'undici';
import { startRegistry } from '../../src/registry/main.ts';
import { fileClosers, proxyFor } from '../support/closers.ts';
import {
  eventually,
  freePort,
  registerProvider,
  startTestSidecar,
  writeSidecarConf,
} from '../support/mesh.ts';
import { type MesherProcess, startMesher } from '../support/mesher-process.ts';
import { startUpstream, type TestUpstream } from '../support/upstream.ts';

const closers = fileClosers();

async function upstreams(n: number, prefix: string): Promise<TestUpstream[]> {
  const ups = await Promise.all(Array.from({ length: n }, (_, i) => startUpstream({ id: `${prefix}${i}` })));
  for (const u of ups) closers.push(() => u.close());
  return ups;
}

/** GET through the proxy; resolves with the status and which upstream answered. */
async function call(proxy: ProxyAgent, url: string): Promise<{ status: number; id: string; error?: string }> {
  const res = await request(url, { dispatcher: proxy });
  const body = await res.body.text();
  return {
    status: res.statusCode,
    id: String(res.headers['x-upstream-id'] ?? ''),
    error: res.headers['x-mesher-error'] as string | undefined,
    ...(res.statusCode >= 400 ? { body } : {}),
  };
}

describe('discovery and balancing through sidecars', () => {
  test('RoundRobin spreads calls exactly evenly over 3 instances', { timeout: 60_000 }, async () => {
    const registry = await startRegistry({ port: 0, dataDir: null });
    closers.push(() => registry.close());
    const ups = await upstreams(3, 'rr');
    for (const u of ups)
      await registerProvider(registry.url, { name: 'rr', endpoint: `rest://127.0.0.1:${u.port}` });
    const consumer = await startTestSidecar({
      name: 'rrclient',
      registryUrl: registry.url,
      chassisExtra: '  loadbalance:\n    strategy: { name: RoundRobin }',
    });
    closers.push(() => consumer.close());
    const proxy = proxyFor(consumer, closers);
    const counts = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const r = await call(proxy, 'http://rr/x');
      assert.equal(r.status, 200);
      counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
    }
    assert.deepEqual([...counts.values()], [10, 10, 10]);
  });

  test('an instance whose sidecar is killed -9 is failed over, with no failed call', {
    timeout: 60_000,
  }, async () => {
    const registry = await startRegistry({ port: 0, dataDir: null });
    closers.push(() => registry.close());
    const ups = await upstreams(3, 'fo');
    const providers: MesherProcess[] = [];
    for (const [i, u] of ups.entries()) {
      const dir = writeSidecarConf({ name: 'fo', registryUrl: registry.url, listenIp: `127.0.0.${i + 2}` });
      const p = startMesher(['sidecar', '--config-dir', dir], { env: { SERVICE_PORTS: `rest:${u.port}` } });
      closers.push(() => p.stop('SIGKILL'));
      await p.waitFor(/listening/);
      providers.push(p);
    }
    await eventually(async () => {
      const r = await fetch(`${registry.url}/v4/default/registry/instances?appId=default&serviceName=fo`);
      const body = (await r.json()) as { instances?: unknown[] };
      return (body.instances?.length ?? 0) === 3;
    });
    const consumer = await startTestSidecar({
      name: 'foclient',
      registryUrl: registry.url,
      chassisExtra: '  loadbalance:\n    strategy: { name: RoundRobin }',
    });
    closers.push(() => consumer.close());
    const proxy = proxyFor(consumer, closers);
    for (let i = 0; i < 6; i++) assert.equal((await call(proxy, 'http://fo/warm')).status, 200);

    await providers[0]!.stop('SIGKILL'); // no deregistration: the registry still lists it
    const seen = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const r = await call(proxy, 'http://fo/after-kill');
      assert.equal(r.status, 200, JSON.stringify(r));
      seen.set(r.id, (seen.get(r.id) ?? 0) + 1);
    }
    assert.equal(seen.has('fo0'), false);
    assert.deepEqual([...seen.keys()].sort(), ['fo1', 'fo2']);
  });

  test('instances appear and disappear through watch, long before the next refresh', {
    timeout: 60_000,
  }, async () => {
    const registry = await startRegistry({ port: 0, dataDir: null });
    closers.push(() => registry.close());
    const [a, b] = await upstreams(2, 'w');
    await registerProvider(registry.url, { name: 'watched', endpoint: `rest://127.0.0.1:${a!.port}` });
    const consumer = await startTestSidecar({
      name: 'wclient',
      registryUrl: registry.url,
      refreshInterval: '10m', // only watch events can bring changes within this test
    });
    closers.push(() => consumer.close());
    await consumer.registration.whenRegistered();
    const proxy = proxyFor(consumer, closers);
    assert.equal((await call(proxy, 'http://watched/x')).id, 'w0');
    await eventually(() => consumer.directory.watching, 5000);

    const added = await registerProvider(registry.url, {
      name: 'watched',
      endpoint: `rest://127.0.0.1:${b!.port}`,
    });
    await eventually(async () => (await call(proxy, 'http://watched/x')).id === 'w1', 5000);

    const del = await fetch(
      `${registry.url}/v4/default/registry/microservices/${added.serviceId}/instances/${added.instanceId}`,
      { method: 'DELETE' },
    );
    assert.equal(del.status, 200);
    await eventually(() => consumer.directory.peek('watched')?.endpoints.length === 1, 5000);
    for (let i = 0; i < 10; i++) assert.equal((await call(proxy, 'http://watched/x')).id, 'w0');
  });

  test('the registry going away after start does not stop traffic', { timeout: 60_000 }, async () => {
    const registry = await startRegistry({ port: 0, dataDir: null });
    let registryClosed = false;
    closers.push(() => (registryClosed ? Promise.resolve() : registry.close()));
    const [u] = await upstreams(1, 'down');
    await registerProvider(registry.url, { name: 'survivor', endpoint: `rest://127.0.0.1:${u!.port}` });
    const consumer = await startTestSidecar({
      name: 'dclient',
      registryUrl: registry.url,
      refreshInterval: '200ms',
    });
    closers.push(() => consumer.close());
    const proxy = proxyFor(consumer, closers);
    assert.equal((await call(proxy, 'http://survivor/x')).status, 200);
    await registry.close();
    registryClosed = true;
    for (let i = 0; i < 20; i++) {
      const r = await call(proxy, 'http://survivor/x');
      assert.equal(r.status, 200);
      await new Promise((r) => setTimeout(r, 25)); // spans several failed refreshes
    }
  });

  test('the registry absent at start: the proxy serves at once and registers once the registry appears', {
    timeout: 60_000,
  }, async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const consumer = await startTestSidecar({ name: 'early', registryUrl: url, refreshInterval: '200ms' });
    closers.push(() => consumer.close());
    const proxy = proxyFor(consumer, closers);
    const before = await call(proxy, 'http://late/x');
    assert.equal(before.status, 503);
    assert.equal(before.error, 'NO_ENDPOINTS');
    const health = await fetch(`http://127.0.0.1:${consumer.addresses.admin!.port}/v1/mesher/health`);
    assert.equal(health.status, 503);
    await health.text();

    const registry = await startRegistry({ port, dataDir: null });
    closers.push(() => registry.close());
    const [u] = await upstreams(1, 'late');
    await registerProvider(registry.url, { name: 'late', endpoint: `rest://127.0.0.1:${u!.port}` });
    await consumer.registration.whenRegistered();
    await eventually(async () => (await call(proxy, 'http://late/x')).status === 200, 10_000, 100);
    await eventually(async () => {
      const h = await fetch(`http://127.0.0.1:${consumer.addresses.admin!.port}/v1/mesher/health`);
      await h.text();
      return h.status === 200;
    });
  });
});
