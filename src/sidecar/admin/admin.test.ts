import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import {
  endpointOf,
  FakeDirectory,
  FakeRoundRobin,
  testSidecarConfig,
} from '../../../test/support/fake-directory.ts';
import { startUpstream, type TestUpstream } from '../../../test/support/upstream.ts';
import { setLogLevel } from '../../shared/log.ts';
import { createDataPlane, type DataPlane } from '../data-plane.ts';
import { tcpProbe } from './probes.ts';
import { createAdminRouter } from './router.ts';
import type { AdminDeps } from './types.ts';

setLogLevel(process.env.MESHER_LOG_LEVEL ?? 'silent');

const directory = new FakeDirectory();
directory.set('server2', [endpointOf({ host: '127.0.0.1', port: 8080 }, 'i1')]);
const config = testSidecarConfig({
  flat: {
    'servicecomb.credentials.secretKey': 'hunter2',
    'servicecomb.registry.address': 'http://u:pw@reg:30100',
  },
});

function deps(over: Partial<AdminDeps> = {}): AdminDeps {
  return {
    config: () => config,
    directory,
    probes: {},
    readiness: {},
    listening: () => true,
    maskSecrets: (c) => c,
    ...over,
  };
}

const get = (path: string, query = '') => ({ method: 'GET', path, query: new URLSearchParams(query) });

test('version reports the package version', async () => {
  const r = await createAdminRouter(deps()).handle(get('/v1/mesher/version'));
  assert.equal(r.status, 200);
  assert.equal((r.body as { version: string }).version, '0.1.0');
});

test('health is 200 green only when every probe passes, 503 red with details otherwise', async () => {
  const ok = await createAdminRouter(
    deps({ probes: { registry: () => true, registered: async () => ({ ok: true, detail: 'id-1' }) } }),
  ).handle(get('/v1/mesher/health'));
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, {
    serviceName: 'client',
    version: '0.0.1',
    status: 'green',
    checks: { registry: { ok: true }, registered: { ok: true, detail: 'id-1' } },
  });
  const bad = await createAdminRouter(
    deps({
      probes: {
        registry: () => false,
        throws: () => {
          throw new Error('boom');
        },
        slow: () => new Promise(() => {}),
      },
      probeTimeoutMs: 50,
    }),
  ).handle(get('/v1/mesher/health'));
  assert.equal(bad.status, 503);
  const body = bad.body as { status: string; checks: Record<string, { ok: boolean; detail?: string }> };
  assert.equal(body.status, 'red');
  assert.deepEqual(body.checks.registry, { ok: false });
  assert.deepEqual(body.checks.throws, { ok: false, detail: 'boom' });
  assert.deepEqual(body.checks.slow, { ok: false, detail: 'no answer within 50 ms' });
});

test('ready needs listeners up and every readiness probe', async () => {
  assert.equal((await createAdminRouter(deps()).handle(get('/v1/mesher/ready'))).status, 200);
  assert.equal(
    (await createAdminRouter(deps({ listening: () => false })).handle(get('/v1/mesher/ready'))).status,
    503,
  );
  const r = await createAdminRouter(deps({ readiness: { app: () => false } })).handle(
    get('/v1/mesher/ready'),
  );
  assert.equal(r.status, 503);
  assert.deepEqual(r.body, { ready: false, checks: { listeners: { ok: true }, app: { ok: false } } });
});

test('instances lists the discovery cache, filterable by service', async () => {
  directory.set('other', []);
  const all = (await createAdminRouter(deps()).handle(get('/v1/mesher/instances'))).body as {
    services: Array<{ serviceName: string; endpoints: Array<{ host: string; port: number }> }>;
  };
  assert.deepEqual(all.services.map((s) => s.serviceName).sort(), ['other', 'server2']);
  const one = (await createAdminRouter(deps()).handle(get('/v1/mesher/instances', 'service=server2')))
    .body as typeof all;
  assert.equal(one.services.length, 1);
  assert.deepEqual(
    one.services[0]!.endpoints.map((e) => `${e.host}:${e.port}`),
    ['127.0.0.1:8080'],
  );
});

test('unknown path is 404 JSON, other methods 405', async () => {
  const r = await createAdminRouter(deps()).handle(get('/v1/mesher/nope'));
  assert.equal(r.status, 404);
  assert.equal((r.body as { code: string }).code, 'NOT_FOUND');
  const m = await createAdminRouter(deps()).handle({ ...get('/v1/mesher/health'), method: 'POST' });
  assert.equal(m.status, 405);
});

test('tcpProbe tells a listening port from a closed one', async () => {
  const up = await startUpstream();
  try {
    assert.equal(((await tcpProbe(up)()) as { ok: boolean }).ok, true);
  } finally {
    await up.close();
  }
  assert.equal(((await tcpProbe({ host: '127.0.0.1', port: up.port })()) as { ok: boolean }).ok, false);
});

let plane: DataPlane;
let app: TestUpstream;
let adminUrl: string;

before(async () => {
  app = await startUpstream({ id: 'app' });
  plane = createDataPlane({
    config: testSidecarConfig({
      ...config,
      listeners: { ...config.listeners, admin: { host: '127.0.0.1', port: 0 } },
      localApp: { host: '127.0.0.1', port: app.port },
    }),
    directory,
    createBalancer: () => new FakeRoundRobin(),
    probes: { registry: () => true },
  });
  adminUrl = `http://127.0.0.1:${(await plane.listen()).admin!.port}`;
});

after(async () => {
  await plane.close();
  await app.close();
});

test('over a socket: config is masked, health includes the local app probe, unknown path is 404', async () => {
  const cfg = await request(`${adminUrl}/v1/mesher/config`);
  assert.equal(cfg.statusCode, 200);
  assert.equal(cfg.headers['content-type'], 'application/json');
  const text = await cfg.body.text();
  assert.ok(!text.includes('hunter2'), 'secret value masked');
  assert.ok(!text.includes('u:pw@'), 'URL credentials masked');
  const body = JSON.parse(text) as { flat: Record<string, string> };
  assert.equal(body.flat['servicecomb.credentials.secretKey'], '******');

  const health = await request(`${adminUrl}/v1/mesher/health`);
  assert.equal(health.statusCode, 200);
  const h = (await health.body.json()) as { checks: Record<string, { ok: boolean }> };
  assert.deepEqual(Object.keys(h.checks).sort(), ['localApp', 'registry']);

  const ready = await request(`${adminUrl}/v1/mesher/ready`);
  assert.equal(ready.statusCode, 200);
  await ready.body.dump();

  const missing = await request(`${adminUrl}/nope`);
  assert.equal(missing.statusCode, 404);
  assert.equal(((await missing.body.json()) as { code: string }).code, 'NOT_FOUND');
});

test('health turns 503 when the local app goes away', async () => {
  const extraApp = await startUpstream();
  const p = createDataPlane({
    config: testSidecarConfig({
      listeners: { ...config.listeners, admin: { host: '127.0.0.1', port: 0 } },
      localApp: { host: '127.0.0.1', port: extraApp.port },
    }),
    directory,
    createBalancer: () => new FakeRoundRobin(),
  });
  const url = `http://127.0.0.1:${(await p.listen()).admin!.port}/v1/mesher/health`;
  try {
    const up = await request(url);
    assert.equal(up.statusCode, 200);
    await up.body.dump();
    await extraApp.close();
    const down = await request(url);
    assert.equal(down.statusCode, 503);
    assert.equal(((await down.body.json()) as { status: string }).status, 'red');
  } finally {
    await p.close();
  }
});

test('extra routes plug in with any method and see the request body; built-ins cannot be replaced', async () => {
  const seen: Array<{ method: string; body?: unknown }> = [];
  const extra = createDataPlane({
    config: testSidecarConfig({ listeners: { ...config.listeners, admin: { host: '127.0.0.1', port: 0 } } }),
    directory,
    createBalancer: () => new FakeRoundRobin(),
    adminRoutes: {
      '/v1/mesher/log-level': async (req) => {
        seen.push({ method: req.method, ...(req.body === undefined ? {} : { body: req.body }) });
        return { status: 200, body: { ok: true } };
      },
      '/v1/mesher/version': async () => ({ status: 418, body: {} }),
    },
  });
  const url = `http://127.0.0.1:${(await extra.listen()).admin!.port}`;
  try {
    const put = await request(`${url}/v1/mesher/log-level`, { method: 'PUT', body: '{"level":"debug"}' });
    assert.equal(put.statusCode, 200);
    await put.body.dump();
    assert.deepEqual(seen, [{ method: 'PUT', body: '{"level":"debug"}' }]);
    const version = await request(`${url}/v1/mesher/version`);
    assert.equal(version.statusCode, 200);
    await version.body.dump();
    const big = await request(`${url}/v1/mesher/log-level`, { method: 'POST', body: 'x'.repeat(70 * 1024) });
    assert.equal(big.statusCode, 413);
    await big.body.dump();
  } finally {
    await extra.close();
  }
});
