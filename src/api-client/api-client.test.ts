/**
 * The typed client against the real registry and config center on loopback (ephemeral ports), a
 * small fake sidecar admin server, and table tests of the route-rule shape check.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { type ConfigCenterServer, serveConfigCenter } from '../registry/config-center/index.ts';
import { type RegistryServer, startRegistry } from '../registry/main.ts';
import { ManualClock, systemClock } from '../shared/clock.ts';
import {
  type ApiError,
  checkRouteRuleYaml,
  createApiClient,
  isApiError,
  SidecarAdminClient,
} from './index.ts';

let registry: RegistryServer;
let cc: ConfigCenterServer;

/** Poll (real time, bounded) until the config center holds a long poll: never a silent hang. */
async function waitForWaiter(server: ConfigCenterServer, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (server.configCenter.pendingWaiters === 0) {
    if (Date.now() > deadline) throw new Error(`no long poll held within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
let admin: Server;
let adminUrl: string;

before(async () => {
  registry = await startRegistry({ port: 0, dataDir: null, clock: new ManualClock() });
  cc = await serveConfigCenter({ store: registry.store, clock: systemClock });
  admin = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/v1/mesher/health')
      send(503, { serviceName: 's', version: '1', status: 'red', checks: {} });
    else if (req.url === '/v1/mesher/routeRule/server2') send(200, [{ precedence: 1, route: [] }]);
    else if (req.url === '/v1/mesher/config') send(200, { service: { name: 's' }, flat: { a: 1 } });
    else send(404, { code: 'NOT_FOUND', message: `No admin endpoint ${req.url}` });
  });
  await new Promise<void>((r) => admin.listen(0, '127.0.0.1', r));
  adminUrl = `http://127.0.0.1:${(admin.address() as AddressInfo).port}`;
});

after(async () => {
  await cc.close();
  await registry.close();
  await new Promise<void>((r) => admin.close(() => r()));
});

test('registry: list services, find instances, unknown service is the registry 400012', async () => {
  const api = createApiClient({ registry: registry.url });
  const reg = await fetch(`${registry.url}/v4/default/registry/microservices`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ service: { serviceName: 'server2', appId: 'default', version: '1.0.0' } }),
  });
  const { serviceId } = (await reg.json()) as { serviceId: string };
  await fetch(`${registry.url}/v4/default/registry/microservices/${serviceId}/instances`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instance: { hostName: 'h1', endpoints: ['rest://127.0.0.1:8080'] } }),
  });
  const services = await api.registry.listServices();
  assert.ok(services.some((s) => s.serviceName === 'server2' && s.version === '1.0.0'));
  assert.equal((await api.registry.getService(serviceId)).serviceName, 'server2');
  const found = await api.registry.findInstances({ serviceName: 'server2' });
  assert.equal(found.length, 1);
  assert.deepEqual(found[0]?.endpoints, ['rest://127.0.0.1:8080']);
  assert.equal((await api.registry.listInstances(serviceId)).length, 1);
  await assert.rejects(api.registry.findInstances({ serviceName: 'nope' }), (err: unknown) => {
    assert.ok(isApiError(err));
    assert.equal(err.status, 400);
    assert.equal(err.code, '400012');
    return true;
  });
});

test('config center: put creates then updates, findExact, list by labels, delete', async () => {
  const api = createApiClient({ registry: registry.url, configCenter: cc.url });
  const labels = { app: 'default', service: 'server2' };
  const a = await api.config.put({ key: 'cse.loadbalance.strategy.name', value: 'Random', labels });
  assert.equal(a.created, true);
  const b = await api.config.put({ key: 'cse.loadbalance.strategy.name', value: 'RoundRobin', labels });
  assert.equal(b.created, false);
  assert.equal(b.kv.id, a.kv.id);
  assert.equal(b.kv.value, 'RoundRobin');
  assert.ok(b.kv.updateRevision > a.kv.updateRevision);
  assert.equal(await api.config.findExact('cse.loadbalance.strategy.name', { app: 'default' }), undefined);
  const page = await api.config.list({ labels: { service: 'server2' } });
  assert.equal(page.total, 1);
  assert.ok(page.revision > 0);
  await api.config.delete(a.kv.id);
  await assert.rejects(
    api.config.get(a.kv.id),
    (err: ApiError) => err.status === 404 && err.code === '404001',
  );
});

test('config center: poll answers at once without a revision, 304 → changed:false, and a change wakes it', async () => {
  const api = createApiClient({ registry: registry.url, configCenter: cc.url });
  const first = await api.config.poll({ labels: { app: 'pollapp' }, match: 'applicable' });
  assert.equal(first.changed, true);
  const idle = await api.config.poll({
    labels: { app: 'pollapp' },
    match: 'applicable',
    revision: first.revision,
    waitMs: 150,
  });
  assert.deepEqual(idle, { changed: false, revision: first.revision });
  const held = api.config.poll({
    labels: { app: 'pollapp' },
    match: 'applicable',
    revision: first.revision,
    waitMs: 20_000,
  });
  await waitForWaiter(cc);
  await api.config.create({ key: 'k', value: 'v', labels: { app: 'pollapp' } });
  const woke = await held;
  assert.equal(woke.changed, true);
  assert.ok(woke.changed && woke.data.some((d) => d.key === 'k'));
  // A cancelled poll is an ABORTED ApiError, not a hang.
  const ac = new AbortController();
  const cancelled = api.config.poll({ revision: woke.revision, waitMs: 20_000, signal: ac.signal });
  await waitForWaiter(cc);
  ac.abort();
  await assert.rejects(cancelled, (err: ApiError) => err.code === 'ABORTED' && err.status === 0);
});

test('transport failures are typed: unreachable, timeout, bad URL, Kie and registry envelopes', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const deadPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const dead = createApiClient({ registry: `http://127.0.0.1:${deadPort}` });
  await assert.rejects(dead.registry.listServices(), (err: ApiError) => {
    assert.equal(err.code, 'UNREACHABLE');
    assert.equal(err.status, 0);
    assert.match(
      err.message,
      /cannot reach http:\/\/127\.0\.0\.1:\d+\/v4\/default\/registry\/microservices: ECONNREFUSED/,
    );
    return true;
  });
  const silent = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const slow = createApiClient({
      registry: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      timeoutMs: 100,
    });
    await assert.rejects(slow.registry.listServices(), (err: ApiError) => err.code === 'TIMEOUT');
  } finally {
    silent.closeAllConnections();
    await new Promise<void>((r) => silent.close(() => r()));
  }
  assert.throws(
    () => createApiClient({ registry: 'not a url' }),
    (err: ApiError) => err.code === 'BAD_URL',
  );
  const api = createApiClient({ registry: registry.url, configCenter: cc.url });
  await assert.rejects(api.config.create({ key: '', value: 'v' }), (err: ApiError) => {
    assert.equal(err.status, 400);
    assert.equal(err.code, '400001');
    assert.match(err.message, /key: is required/);
    return true;
  });
});

test('sidecar admin: a red health is an answer, missing route rules are undefined', async () => {
  const sc = new SidecarAdminClient({ baseUrl: adminUrl });
  const health = await sc.health();
  assert.equal(health.ok, false);
  assert.equal(health.status, 'red');
  assert.deepEqual(await sc.routeRule('server2'), [{ precedence: 1, route: [] }]);
  assert.equal(await sc.routeRule('other'), undefined);
  assert.equal(await sc.routes(), undefined);
  assert.deepEqual((await sc.config()).flat, { a: 1 });
  await assert.rejects(sc.version(), (err: ApiError) => err.status === 404 && err.code === 'NOT_FOUND');
});

test('route rule shape check: table of good and bad rules with paths', () => {
  const cases: Array<[string, string[]]> = [
    [
      '- precedence: 2\n  match: {headers: {user: {exact: jack}}}\n  route: [{tags: {version: 2.0.0}, weight: 100}]',
      [],
    ],
    ['- route: [{tags: {version: "1.0"}}]', []],
    ['- route: [{tags: {version: v1}, weight: 20}, {tags: {version: v2}, weight: 80}]', []],
    ['a: [', ['']],
    ['{}', ['']],
    ['[]', ['']],
    ['- route: []', ['[0].route']],
    ['- route: [{tags: {v: 1}, weight: 60}, {tags: {v: 2}, weight: 50}]', ['[0].route']],
    ['- route: [{tags: {v: 1}, weight: 120}]', ['[0].route[0].weight']],
    ['- route: [{tags: {v: 1}}, {tags: {v: 2}, weight: 5}]', ['[0].route[0].weight']],
    ['- route: [{weight: 100}]', ['[0].route[0].tags']],
    ['- precedence: high\n  route: [{tags: {v: 1}}]', ['[0].precedence']],
    ['- match: {header: {}}\n  route: [{tags: {v: 1}}]', ['[0].match']],
    ['- match: {headers: {u: {regex: "("}}}\n  route: [{tags: {v: 1}}]', ['[0].match.headers.u.regex']],
    ['- match: {headers: {u: {like: x}}}\n  route: [{tags: {v: 1}}]', ['[0].match.headers.u.like']],
    ['- routes: [{tags: {v: 1}}]', ['[0]', '[0].route']],
  ];
  for (const [yaml, at] of cases) {
    assert.deepEqual(
      checkRouteRuleYaml(yaml).map((i) => i.at),
      at,
      yaml,
    );
  }
});
