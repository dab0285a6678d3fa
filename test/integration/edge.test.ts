/**
 * The edge gateway (`--mode edge`, issue 5 item 7), end to end on real sockets: a real registry, an
 * SDK-style provider (`orders`), a provider behind its own sidecar (`catalog`, on 127.0.0.2) and an
 * edge sidecar on 127.0.0.3 loaded from a conf dir with `flags: { mode: 'edge' }` and
 * `mesher.ingress.rule.http` in mesher.yaml. External clients call the edge's address directly.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import WebSocket from 'ws';
import { type RegistryServer, startRegistry } from '../../src/registry/main.ts';
import { setLogLevel } from '../../src/shared/log.ts';
import { isConfigError, loadSidecarConfig } from '../../src/sidecar/config/index.ts';
import { createDataPlane } from '../../src/sidecar/data-plane.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar/main.ts';
import { endpointOf, FakeDirectory, testSidecarConfig } from '../support/fake-directory.ts';
import { eventually, registerProvider, startTestSidecar, writeSidecarConf } from '../support/mesh.ts';
import { type Echo, headerOf, startUpstream, type TestUpstream } from '../support/upstream.ts';

setLogLevel(process.env.MESHER_LOG_LEVEL ?? 'silent');

function mesherYaml(catalogPort: number, extraRules = ''): string {
  return `mesher:
  ingress:
    type: servicecomb
    rule:
      http: |
        - host: api.example.com
          apiPath: ^/orders
          service: { name: orders }
        - apiPath: ^/api/v1/(.*)$
          service:
            name: catalog
            redirectPath: /v2/$1
            port: { value: ${catalogPort} }
        - apiPath: ^/wrong-port
          service: { name: catalog, port: { value: 1 } }
${extraRules}`;
}

describe('edge gateway', () => {
  let registry: RegistryServer;
  let ordersApp: TestUpstream;
  let catalogApp: TestUpstream;
  let catalog: Sidecar;
  let edge: Sidecar;
  let confDir: string;
  let base: string;

  before(async () => {
    registry = await startRegistry({ port: 0, dataDir: null });
    ordersApp = await startUpstream({ id: 'orders' });
    catalogApp = await startUpstream({ id: 'catalog' });
    await registerProvider(registry.url, { name: 'orders', endpoint: `rest://127.0.0.1:${ordersApp.port}` });
    catalog = await startTestSidecar({
      name: 'catalog',
      registryUrl: registry.url,
      listenIp: '127.0.0.2',
      appPort: catalogApp.port,
    });
    await catalog.registration.whenRegistered();
    confDir = writeSidecarConf({ name: 'edge', registryUrl: registry.url, listenIp: '127.0.0.3' });
    writeFileSync(join(confDir, 'mesher.yaml'), mesherYaml(catalogApp.port));
    const { config } = loadSidecarConfig({
      confDir,
      env: { PATH: process.env.PATH },
      flags: { mode: 'edge' },
    });
    assert.equal(config.mode, 'edge');
    edge = await startSidecar({ config, watchConfig: true });
    base = `http://127.0.0.3:${edge.addresses.inbound!.port}`;
  });

  after(async () => {
    await edge?.close();
    await catalog?.close();
    await Promise.all([ordersApp?.close(), catalogApp?.close(), registry?.close()]);
  });

  test('routes by host, keeping path and query string; the edge is the caller', {
    timeout: 60_000,
  }, async () => {
    const res = await request(`${base}/orders/7?x=1&y=a%20b&x=2`, {
      headers: { host: 'api.example.com', 'x-test-echo': '1', 'x-cse-src-microservice': 'spoofed' },
    });
    assert.equal(res.statusCode, 200);
    const echo = (await res.body.json()) as Echo;
    assert.equal(echo.url, '/orders/7?x=1&y=a%20b&x=2');
    assert.equal(headerOf(echo, 'host'), 'api.example.com');
    assert.equal(headerOf(echo, 'x-cse-src-microservice'), 'edge');
    assert.equal(JSON.parse(headerOf(echo, 'x-cse-context')!)['x-cse-src-microservice'], 'edge');
  });

  test('the same path under another host does not match the host rule: 404 ROUTE_NOT_FOUND', {
    timeout: 60_000,
  }, async () => {
    const res = await request(`${base}/orders/7`, { headers: { host: 'www.example.com' } });
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['x-mesher-error'], 'ROUTE_NOT_FOUND');
    const body = (await res.body.json()) as { code: string; message: string };
    assert.equal(body.code, 'ROUTE_NOT_FOUND');
    assert.match(body.message, /www\.example\.com \/orders\/7/);
  });

  test('routes by path through the provider sidecar, redirectPath rewrites, the query survives', {
    timeout: 60_000,
  }, async () => {
    const res = await request(`${base}/api/v1/items/3?sort=asc&page=2`, {
      headers: { host: 'anything', 'x-test-echo': '1' },
    });
    assert.equal(res.statusCode, 200);
    const echo = (await res.body.json()) as Echo;
    assert.equal(res.headers['x-upstream-id'], 'catalog');
    assert.equal(echo.url, '/v2/items/3?sort=asc&page=2');
  });

  test('port.value travels as X-Forwarded-Port: an undeclared port is refused by the provider sidecar', {
    timeout: 60_000,
  }, async () => {
    const res = await request(`${base}/wrong-port`, { headers: { host: 'anything' } });
    assert.equal(res.statusCode, 403);
    assert.equal(res.headers['x-mesher-error'], 'FORBIDDEN_PORT');
    await res.body.dump();
  });

  test('edge mode binds no loopback forward proxy', { timeout: 60_000 }, async () => {
    assert.equal(edge.addresses.outbound.port, edge.addresses.inbound!.port);
    assert.equal(edge.addresses.outbound.address, '127.0.0.3');
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(edge.addresses.inbound!.port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', () => resolve(true));
    });
    assert.ok(refused, 'nothing listens on 127.0.0.1 at the edge port');
  });

  test('WebSocket upgrades are routed like requests', { timeout: 60_000 }, async () => {
    const ws = new WebSocket(`ws://127.0.0.3:${edge.addresses.inbound!.port}/orders/ws`, {
      headers: { host: 'api.example.com' },
    });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('error', reject);
      ws.once('open', () => ws.send('hi'));
      ws.once('message', (d) => resolve(d.toString()));
    });
    ws.close();
    assert.equal(reply, 'orders:hi');
  });

  test('CONNECT is refused with 400', { timeout: 60_000 }, async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const s = net.connect(edge.addresses.inbound!.port, '127.0.0.3');
      let buf = '';
      s.on('data', (c) => (buf += c.toString('latin1')));
      s.on('end', () => resolve(buf));
      s.on('error', reject);
      s.write('CONNECT orders:443 HTTP/1.1\r\nHost: orders:443\r\n\r\n');
    });
    assert.match(text, /^HTTP\/1\.1 400/);
    assert.match(text, /BAD_REQUEST/);
  });

  test('hot reload: a new rule takes effect; invalid rules keep the last good ones', {
    timeout: 60_000,
  }, async () => {
    writeFileSync(
      join(confDir, 'mesher.yaml'),
      mesherYaml(
        catalogApp.port,
        '        - apiPath: ^/new\n          service: { name: orders, redirectPath: /fresh }\n',
      ),
    );
    await eventually(async () => {
      const r = await request(`${base}/new?k=v`, { headers: { host: 'h', 'x-test-echo': '1' } });
      if (r.statusCode !== 200) {
        await r.body.dump();
        return false;
      }
      assert.equal(((await r.body.json()) as Echo).url, '/fresh?k=v');
      return true;
    });
    // A bad regex: rejected as a whole, /new keeps working.
    writeFileSync(
      join(confDir, 'mesher.yaml'),
      mesherYaml(catalogApp.port, '        - apiPath: "("\n          service: { name: orders }\n'),
    );
    await new Promise((r) => setTimeout(r, 600));
    const still = await request(`${base}/new`, { headers: { host: 'h' } });
    assert.equal(still.statusCode, 200);
    await still.body.dump();
  });
});

test('invalid ingress rules at start-up are a ConfigError naming the key', () => {
  const directory = new FakeDirectory();
  directory.set('orders', [endpointOf({ host: '127.0.0.1', port: 1 }, 'o')]);
  const base = testSidecarConfig();
  assert.throws(
    () =>
      createDataPlane({
        config: {
          ...base,
          mode: 'edge',
          listeners: { ...base.listeners, inbound: { host: '127.0.0.1', port: 0 } },
          flat: {
            'mesher.ingress.rule.http': [{ apiPath: '/', service: { name: 'orders', redirectPath: 'x' } }],
          },
        },
        directory,
      }),
    (err) =>
      isConfigError(err) &&
      err.issues.some((i) => i.key === 'mesher.ingress.rule.http[0].service.redirectPath'),
  );
});

test('edge mode on 127.0.0.1 with port 0 binds one ingress socket (regression: port resolution tried to bind it twice)', {
  timeout: 60_000,
}, async () => {
  const dir = writeSidecarConf({
    name: 'edge-loopback',
    registryUrl: 'http://127.0.0.1:1',
    listenIp: '127.0.0.1',
  });
  const { config } = loadSidecarConfig({ confDir: dir, env: {}, flags: { mode: 'edge' } });
  const sidecar = await startSidecar({ config, watchConfig: false });
  try {
    const inbound = sidecar.config().listeners.inbound;
    assert.equal(inbound?.host, '127.0.0.1');
    assert.ok(inbound && inbound.port > 0);
    const res = await request(`http://127.0.0.1:${inbound.port}/nothing-matches`);
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['x-mesher-error'], 'ROUTE_NOT_FOUND');
    await res.body.text();
  } finally {
    await sidecar.close();
  }
});
