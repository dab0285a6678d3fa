/**
 * What the proxy tells the balancer, end to end (real registry, real sidecar, real upstreams):
 * cross-app routing (a route whose tags name another app is looked up in that app), zone-aware
 * preference from the sidecar's own region/availableZone, and SessionStickiness keyed by the
 * `go-chassisLB` cookie or the `x-mesher-session` header.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ProxyAgent, request } from 'undici';
import { startRegistry } from '../../src/registry/main.ts';
import { fileClosers, proxyFor } from '../support/closers.ts';
import { eventually, startTestSidecar } from '../support/mesh.ts';
import { startUpstream, type TestUpstream } from '../support/upstream.ts';

const closers = fileClosers();

async function upstream(id: string): Promise<TestUpstream> {
  const u = await startUpstream({ id });
  closers.push(() => u.close());
  return u;
}

async function post(url: string, body: unknown): Promise<Record<string, string>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, string>;
}

/** Create (or reuse) a service and register one instance of it, the way an SDK does. */
async function register(
  registryUrl: string,
  p: {
    name: string;
    app?: string;
    properties?: Record<string, string>;
    upstream: TestUpstream;
    zone?: string;
  },
): Promise<{ serviceId: string; instanceId: string }> {
  const base = `${registryUrl}/v4/default/registry/microservices`;
  const svc = await fetch(base, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      service: {
        serviceName: p.name,
        appId: p.app ?? 'default',
        version: '1.0.0',
        ...(p.properties ? { properties: p.properties } : {}),
      },
    }),
  });
  let serviceId: string;
  if (svc.status === 200) serviceId = ((await svc.json()) as { serviceId: string }).serviceId;
  else {
    const q = new URLSearchParams({
      type: 'microservice',
      appId: p.app ?? 'default',
      serviceName: p.name,
      version: '1.0.0',
    });
    const r = await fetch(`${registryUrl}/v4/default/registry/existence?${q}`);
    serviceId = ((await r.json()) as { serviceId: string }).serviceId;
  }
  const { instanceId } = await post(`${base}/${serviceId}/instances`, {
    instance: {
      hostName: p.upstream.id,
      endpoints: [`rest://127.0.0.1:${p.upstream.port}`],
      status: 'UP',
      ...(p.zone ? { dataCenterInfo: { name: 'r1', region: 'r1', availableZone: p.zone } } : {}),
    },
  });
  return { serviceId, instanceId: instanceId! };
}

async function get(proxy: ProxyAgent, url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { dispatcher: proxy, headers });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    id: String(res.headers['x-upstream-id'] ?? ''),
    error: res.headers['x-mesher-error'],
    text,
  };
}

describe('balancing gaps (issue 3 follow-ups)', () => {
  test('cross-app routing: a route tagged app=other reaches the service in that app; others stay in ours', {
    timeout: 60_000,
  }, async () => {
    const registry = await startRegistry({ port: 0, dataDir: null });
    closers.push(() => registry.close());
    const mine = await upstream('mine');
    const theirs = await upstream('theirs');
    await register(registry.url, { name: 'orders', upstream: mine });
    await register(registry.url, {
      name: 'orders',
      app: 'shop',
      properties: { allowCrossApp: 'true' },
      upstream: theirs,
    });
    const consumer = await startTestSidecar({
      name: 'xclient',
      registryUrl: registry.url,
      chassisExtra: [
        '  routeRule:',
        '    orders: |',
        '      - precedence: 2',
        '        match:',
        '          headers:',
        '            x-app: { exact: shop }',
        '        route:',
        '          - tags: { app: shop }',
      ].join('\n'),
    });
    closers.push(() => consumer.close());
    const proxy = proxyFor(consumer, closers);
    for (let i = 0; i < 5; i++) {
      const cross = await get(proxy, 'http://orders/x', { 'x-app': 'shop' });
      assert.deepEqual([cross.status, cross.id, cross.error], [200, 'theirs', undefined], cross.text);
      const same = await get(proxy, 'http://orders/x');
      assert.deepEqual([same.status, same.id], [200, 'mine'], same.text);
    }
  });

  test('zone-aware: a consumer in zone a sends only to zone a while it has instances, then falls back to b', {
    timeout: 60_000,
  }, async () => {
    const registry = await startRegistry({ port: 0, dataDir: null });
    closers.push(() => registry.close());
    const ups = await Promise.all(['a1', 'a2', 'b1', 'b2'].map(upstream));
    const regs = [];
    for (const u of ups)
      regs.push(await register(registry.url, { name: 'zsvc', upstream: u, zone: u.id[0]! }));
    const consumer = await startTestSidecar({
      name: 'zclient',
      registryUrl: registry.url,
      chassisExtra: 'region:\n  name: r1\n  availableZone: a\n',
    });
    closers.push(() => consumer.close());
    const proxy = proxyFor(consumer, closers);
    const seen = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const r = await get(proxy, 'http://zsvc/x');
      assert.equal(r.status, 200, r.text);
      seen.set(r.id, (seen.get(r.id) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), ['a1', 'a2'], `only zone a: ${JSON.stringify([...seen])}`);
    // Zone a's instances go away: the consumer falls back to zone b.
    for (const r of regs.slice(0, 2)) {
      const res = await fetch(
        `${registry.url}/v4/default/registry/microservices/${r.serviceId}/instances/${r.instanceId}`,
        { method: 'DELETE' },
      );
      assert.equal(res.status, 200);
    }
    await eventually(() => consumer.directory.peek('zsvc')?.endpoints.length === 2, 10_000);
    const after = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await get(proxy, 'http://zsvc/x');
      assert.equal(r.status, 200, r.text);
      after.add(r.id);
    }
    assert.deepEqual([...after].sort(), ['b1', 'b2']);
  });

  test('SessionStickiness: one session key keeps one instance over many calls; different keys spread', {
    timeout: 60_000,
  }, async () => {
    const registry = await startRegistry({ port: 0, dataDir: null });
    closers.push(() => registry.close());
    const ups = await Promise.all(['s1', 's2', 's3'].map(upstream));
    for (const u of ups) await register(registry.url, { name: 'ssvc', upstream: u });
    const consumer = await startTestSidecar({
      name: 'sclient',
      registryUrl: registry.url,
      chassisExtra: '  loadbalance:\n    ssvc:\n      strategy: { name: SessionStickiness }',
    });
    closers.push(() => consumer.close());
    const proxy = proxyFor(consumer, closers);
    const sessions: Record<string, string>[] = [
      { cookie: 'theme=dark; go-chassisLB=session-1' },
      { 'x-mesher-session': 'user-9' },
    ];
    for (const headers of sessions) {
      const ids = new Set<string>();
      for (let i = 0; i < 30; i++) {
        const r = await get(proxy, 'http://ssvc/x', headers);
        assert.equal(r.status, 200, r.text);
        ids.add(r.id);
      }
      assert.equal(ids.size, 1, `one instance per session (${JSON.stringify(headers)}): ${[...ids]}`);
    }
    const perKey = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      for (let k = 0; k < 12; k++) {
        const r = await get(proxy, 'http://ssvc/x', { 'x-mesher-session': `k${k}` });
        assert.equal(r.status, 200, r.text);
        if (round === 0) perKey.set(`k${k}`, r.id);
        else assert.equal(r.id, perKey.get(`k${k}`), `k${k} stays on its instance`);
      }
    }
    assert.equal(new Set(perKey.values()).size, 3, `12 sessions spread over the 3 instances: ${[...perKey]}`);
  });
});
