/**
 * Egress through the sidecar (issue 5 item 6), with a real registry, a real sidecar built by
 * startSidecar from a conf dir holding egress.yaml, and a local "external" HTTP server.
 *
 * Tests cannot use real DNS, and the outbound listener refuses loopback names (a call to
 * 127.0.0.1 is a call to the proxy itself), so the external server is named `api.example.test`
 * and pinned to 127.0.0.1 with `egress.resolve` — the same static-address setting an operator
 * uses for split DNS. Everything else (matching, ports, the transport, the resilience steps in
 * front) is the production path.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ProxyAgent, request } from 'undici';
import { type RegistryServer, startRegistry } from '../../src/registry/main.ts';
import { MeshError } from '../../src/shared/errors.ts';
import { setLogLevel } from '../../src/shared/log.ts';
import type { CallContext, Outcome } from '../../src/sidecar/chain/types.ts';
import { loadSidecarConfig } from '../../src/sidecar/config/index.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar/main.ts';
import { egressStepFor, parseEgressSettings } from '../../src/sidecar/steps/egress.ts';
import { fakeCall } from '../support/fake-call.ts';
import { eventually, registerProvider, writeSidecarConf } from '../support/mesh.ts';
import { type Echo, headerOf, startUpstream, type TestUpstream } from '../support/upstream.ts';

setLogLevel(process.env.MESHER_LOG_LEVEL ?? 'silent');

function egressYaml(port: number, extra = ''): string {
  return [
    'egressRule:',
    '  example:',
    '    - hosts: [api.example.test, "*.cdn.example.test"]',
    `      ports: [{ port: ${port}, protocol: HTTP }]`,
    '  secure:',
    '    - hosts: [secure.example.test]',
    `      ports: [{ port: ${port}, protocol: HTTPS }]`,
    'egress:',
    '  resolve:',
    '    api.example.test: 127.0.0.1',
    '    img.cdn.example.test: 127.0.0.1',
    '    secure.example.test: 127.0.0.1',
    '    other.example.test: 127.0.0.1',
    extra,
    '',
  ].join('\n');
}

describe('egress', () => {
  let registry: RegistryServer;
  let external: TestUpstream;
  let meshApp: TestUpstream;
  let sidecar: Sidecar;
  let confDir: string;
  let proxy: ProxyAgent;

  before(async () => {
    registry = await startRegistry({ port: 0, dataDir: null });
    external = await startUpstream({ id: 'external' });
    meshApp = await startUpstream({ id: 'mesh-app' });
    await registerProvider(registry.url, { name: 'server2', endpoint: `rest://127.0.0.1:${meshApp.port}` });
    confDir = writeSidecarConf({
      name: 'client',
      registryUrl: registry.url,
      // Resilience applies to external calls too: a 2 s budget for api.example.test only (300 ms
      // was seen to expire on an ordinary call to it on a busy machine: 504 instead of 200).
      chassisExtra: '  timeout:\n    api.example.test: { requestMs: 2000 }',
    });
    writeFileSync(join(confDir, 'egress.yaml'), egressYaml(external.port));
    const { config } = loadSidecarConfig({ confDir, env: { PATH: process.env.PATH } });
    sidecar = await startSidecar({ config, watchConfig: true });
    proxy = new ProxyAgent({
      uri: `http://127.0.0.1:${sidecar.addresses.outbound.port}`,
      proxyTunnel: false,
    });
  });

  after(async () => {
    await proxy?.close();
    await sidecar?.close();
    await Promise.all([external?.close(), meshApp?.close(), registry?.close()]);
  });

  test('a host matching an egress rule goes to the external server: path, query and Host kept, mesh identity not sent', {
    timeout: 60_000,
  }, async () => {
    const res = await request(`http://api.example.test:${external.port}/v1/things?q=a%20b&x=1`, {
      dispatcher: proxy,
      headers: { 'x-test-echo': '1' },
    });
    assert.equal(res.statusCode, 200);
    const echo = (await res.body.json()) as Echo;
    assert.equal(echo.url, '/v1/things?q=a%20b&x=1');
    assert.equal(headerOf(echo, 'host'), `api.example.test:${external.port}`);
    assert.equal(headerOf(echo, 'x-cse-context'), undefined);
    assert.equal(headerOf(echo, 'x-cse-src-microservice'), undefined);
    assert.equal(headerOf(echo, 'x-forwarded-port'), undefined);
  });

  test("no port in the URL: the rule's first HTTP port; wildcard hosts match", async () => {
    const res = await request('http://img.cdn.example.test/logo.png', { dispatcher: proxy });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-upstream-id'], 'external');
    await res.body.dump();
  });

  test('mesh services still go through discovery', { timeout: 60_000 }, async () => {
    const res = await request('http://server2/hello', { dispatcher: proxy });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-upstream-id'], 'mesh-app');
    await res.body.dump();
  });

  test('an unknown external name answers 404 SERVICE_NOT_FOUND (passthrough off)', {
    timeout: 60_000,
  }, async () => {
    const before = external.requests;
    const res = await request(`http://other.example.test:${external.port}/x`, { dispatcher: proxy });
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['x-mesher-error'], 'SERVICE_NOT_FOUND');
    await res.body.dump();
    // A port the rule does not list is not allowed either.
    const wrongPort = await request('http://api.example.test:1/x', { dispatcher: proxy });
    assert.equal(wrongPort.statusCode, 404);
    await wrongPort.body.dump();
    assert.equal(external.requests, before);
  });

  test('an HTTPS-only egress port refuses plain HTTP with 400 (no TLS origination)', {
    timeout: 60_000,
  }, async () => {
    const res = await request('http://secure.example.test/x', { dispatcher: proxy });
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['x-mesher-error'], 'BAD_REQUEST');
    assert.match(await res.body.text(), /does not originate TLS/);
  });

  test('CONNECT to an egress host is tunnelled to it', { timeout: 60_000 }, async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const s = net.connect(sidecar.addresses.outbound.port, '127.0.0.1');
      let buf = '';
      let sent = false;
      s.on('data', (c) => {
        buf += c.toString('latin1');
        if (!sent && buf.includes('\r\n\r\n')) {
          sent = true;
          if (!buf.startsWith('HTTP/1.1 200')) return resolve(buf);
          buf = '';
          s.write(`GET /inside HTTP/1.1\r\nHost: api.example.test\r\nconnection: close\r\n\r\n`);
        }
      });
      s.on('end', () => resolve(buf));
      s.on('error', reject);
      s.write(
        `CONNECT api.example.test:${external.port} HTTP/1.1\r\nHost: api.example.test:${external.port}\r\n\r\n`,
      );
    });
    assert.match(answer, /^HTTP\/1\.1 200/);
    assert.match(answer, /x-upstream-id: external/i);
  });

  test('resilience steps run before egress: a slow external call hits its 2 s request timeout', {
    timeout: 60_000,
  }, async () => {
    const res = await request(`http://api.example.test:${external.port}/slow`, {
      dispatcher: proxy,
      headers: { 'x-test-delay-ms': '10000' },
    });
    assert.equal(res.statusCode, 504);
    assert.equal(res.headers['x-mesher-error'], 'UPSTREAM_TIMEOUT');
    await res.body.dump();
  });

  test('hot reload: passthrough on sends unknown names out; an invalid change keeps the last good settings', {
    timeout: 60_000,
  }, async () => {
    writeFileSync(join(confDir, 'egress.yaml'), egressYaml(external.port, '  passthrough: true'));
    await eventually(async () => {
      const r = await request(`http://other.example.test:${external.port}/pt?a=1`, {
        dispatcher: proxy,
        headers: { 'x-test-echo': '1' },
      });
      if (r.statusCode !== 200) {
        await r.body.dump();
        return false;
      }
      const echo = (await r.body.json()) as Echo;
      assert.equal(echo.url, '/pt?a=1');
      return true;
    }, 5000);
    // Mesh names still win over passthrough.
    const mesh = await request('http://server2/hello', { dispatcher: proxy });
    assert.equal(mesh.headers['x-upstream-id'], 'mesh-app');
    await mesh.body.dump();

    // A bad host in a rule: rejected, passthrough stays on.
    writeFileSync(
      join(confDir, 'egress.yaml'),
      `${egressYaml(external.port, '  passthrough: false')}egressRule.bad:\n  - hosts: [bad_host]\n`,
    );
    await new Promise((r) => setTimeout(r, 600));
    const still = await request(`http://other.example.test:${external.port}/pt`, { dispatcher: proxy });
    assert.equal(still.statusCode, 200);
    await still.body.dump();
  });
});

// === The step alone: precedence and settings, with a fake `next` (the mesh) and a fake `send` ===

describe('egress step (no sockets)', () => {
  const ok = (id: string): Outcome => ({ status: 200, headers: ['x-by', id], body: null });
  const mesh = (err?: MeshError) => async () => {
    if (err) throw err;
    return ok('mesh');
  };
  const send = async (call: CallContext) => ok(`send:${call.target!.host}:${call.target!.port}`);
  const by = (o: Outcome) => o.headers[1];
  const settings = (flat: Record<string, unknown>) => {
    const r = parseEgressSettings(flat);
    assert.deepEqual(r.issues, []);
    return r.settings;
  };
  const RULES = {
    'egressRule.ext': [{ hosts: ['api.x.test'], ports: [{ port: 8080, protocol: 'http' }] }],
    'egress.resolve.api.x.test': '10.0.0.9',
  };

  test('rule first (even over a mesh name), then the mesh, then passthrough', {
    timeout: 60_000,
  }, async () => {
    const off = egressStepFor(settings(RULES), send);
    assert.equal(by(await off(fakeCall({ service: 'api.x.test' }), mesh())), 'send:10.0.0.9:8080');
    assert.equal(by(await off(fakeCall({ service: 'server2' }), mesh())), 'mesh');
    const notFound = new MeshError('SERVICE_NOT_FOUND', { service: 'other.test' });
    await assert.rejects(off(fakeCall({ service: 'other.test' }), mesh(notFound)), {
      code: 'SERVICE_NOT_FOUND',
    });

    const on = egressStepFor(settings({ ...RULES, 'egress.passthrough': true }), send);
    assert.equal(by(await on(fakeCall({ service: 'server2' }), mesh())), 'mesh');
    assert.equal(by(await on(fakeCall({ service: 'Other.Test' }), mesh(notFound))), 'send:other.test:80');
    assert.equal(
      by(await on(fakeCall({ service: 'other.test', requestedPort: '9000' }), mesh(notFound))),
      'send:other.test:9000',
    );
    assert.equal(
      by(await on(fakeCall({ service: 'other.test', kind: 'tunnel' }), mesh(notFound))),
      'send:other.test:443',
    );
    // The registry being unreachable is not "unknown": no passthrough.
    await assert.rejects(on(fakeCall({ service: 'other.test' }), mesh(new MeshError('NO_ENDPOINTS'))), {
      code: 'NO_ENDPOINTS',
    });
  });

  test('external calls lose the mesh identity headers and get an egress target', {
    timeout: 60_000,
  }, async () => {
    const step = egressStepFor(settings(RULES), send);
    const call = fakeCall({
      service: 'api.x.test',
      headers: [
        'Host',
        'api.x.test',
        'X-CSE-Context',
        '{}',
        'x-cse-src-microservice',
        'me',
        'x-forwarded-port',
        '8080',
        'a',
        '1',
      ],
      requestedPort: '8080',
    });
    await step(call, mesh());
    assert.deepEqual(call.headers, ['Host', 'api.x.test', 'a', '1']);
    assert.deepEqual(call.target, { key: 'egress@api.x.test:8080', host: '10.0.0.9', port: 8080 });
  });

  test('egress.resolve problems are keyed', () => {
    const r = parseEgressSettings({
      'egress.resolve.a.test': 'not-an-ip',
      'egress.resolve.*.b.test': '1.2.3.4',
      'egress.resolve.ok.test': '::1',
      'egress.resolve': 'x',
    });
    assert.deepEqual(r.issues.map((i) => i.key).sort(), [
      'egress.resolve',
      'egress.resolve.*.b.test',
      'egress.resolve.a.test',
    ]);
    assert.equal(r.settings.resolve.get('ok.test'), '::1');
  });
});
