import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { ProxyAgent, request } from 'undici';
import {
  endpointOf,
  FakeDirectory,
  FakeRoundRobin,
  testSidecarConfig,
} from '../../../test/support/fake-directory.ts';
import { startUpstream, type TestUpstream } from '../../../test/support/upstream.ts';
import { setLogLevel } from '../../shared/log.ts';
import { createDataPlane, type DataPlane } from '../data-plane.ts';
import type { EdgeEngine } from './server.ts';

/** Which edge engine serves this run (the `*.fast.test.ts` twin sets 'fast'). */
const ENGINE: EdgeEngine = process.env.MESHER_TEST_EDGE_ENGINE === 'fast' ? 'fast' : 'node';

setLogLevel(process.env.MESHER_LOG_LEVEL ?? 'silent');

// consumer app -> consumer sidecar (outbound) -> provider sidecar (inbound) -> provider app
let app: TestUpstream;
let admin: TestUpstream;
let provider: DataPlane;
let consumer: DataPlane;
let noApp: DataPlane;
let inboundPort: number;
let noAppPort: number;
let agent: ProxyAgent;
let closedPort: number;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

before(async () => {
  app = await startUpstream({ id: 'app' });
  admin = await startUpstream({ id: 'app-admin' });
  closedPort = await freePort();
  provider = createDataPlane({
    limits: { engine: ENGINE },
    config: testSidecarConfig({
      service: { ...testSidecarConfig().service, name: 'server2' },
      listeners: {
        outbound: { host: '127.0.0.1', port: 0 },
        inbound: { host: '127.0.0.1', port: 0 },
        advertise: null,
        admin: null,
      },
      servicePorts: { rest: app.port, 'rest-admin': admin.port, dead: closedPort },
      localApp: { host: '127.0.0.1', port: app.port },
    }),
    directory: new FakeDirectory(),
    createBalancer: () => new FakeRoundRobin(),
  });
  inboundPort = (await provider.listen()).inbound!.port;
  noApp = createDataPlane({
    limits: { engine: ENGINE },
    config: testSidecarConfig({
      listeners: {
        outbound: { host: '127.0.0.1', port: 0 },
        inbound: { host: '127.0.0.1', port: 0 },
        advertise: null,
        admin: null,
      },
    }),
    directory: new FakeDirectory(),
    createBalancer: () => new FakeRoundRobin(),
  });
  noAppPort = (await noApp.listen()).inbound!.port;

  const directory = new FakeDirectory();
  directory.set('server2', [endpointOf({ host: '127.0.0.1', port: inboundPort }, 'p1')]);
  consumer = createDataPlane({
    limits: { engine: ENGINE },
    config: testSidecarConfig(),
    directory,
    createBalancer: () => new FakeRoundRobin(),
  });
  const { outbound } = await consumer.listen();
  agent = new ProxyAgent({ uri: `http://127.0.0.1:${outbound.port}`, proxyTunnel: false });
});

after(async () => {
  await agent.close();
  await consumer.close();
  await provider.close();
  await noApp.close();
  await app.close();
  await admin.close();
});

type Echo = { id: string; url: string; rawHeaders: string[]; body: string };
function header(e: Echo, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < e.rawHeaders.length; i += 2) {
    if (e.rawHeaders[i]!.toLowerCase() === name) out.push(e.rawHeaders[i + 1]!);
  }
  return out;
}

test('two hops: consumer sidecar -> provider sidecar -> app, identity carried through', async () => {
  const res = await request('http://server2/hello?q=1', {
    dispatcher: agent,
    method: 'POST',
    body: 'ping',
    headers: { 'x-test-echo': '1', 'content-type': 'text/plain' },
  });
  assert.equal(res.statusCode, 200);
  const e = (await res.body.json()) as Echo;
  assert.equal(e.id, 'app');
  assert.equal(e.url, '/hello?q=1');
  assert.equal(e.body, 'ping');
  assert.deepEqual(header(e, 'x-cse-src-microservice'), ['client']);
  assert.deepEqual(JSON.parse(header(e, 'x-cse-context')[0]!), { 'x-cse-src-microservice': 'client' });
  // Two proxies appended the peer address each.
  assert.deepEqual(header(e, 'x-forwarded-for'), ['127.0.0.1, 127.0.0.1']);
  assert.deepEqual(header(e, 'host'), ['server2']);
});

test('X-Forwarded-Port selects a declared service port', async () => {
  const res = await request(`http://server2:${admin.port}/x`, { dispatcher: agent });
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), 'app-admin');
});

test('X-Forwarded-Port naming an undeclared port is 403 FORBIDDEN_PORT (no SSRF to local ports)', async () => {
  const res = await request(`http://127.0.0.1:${inboundPort}/x`, { headers: { 'x-forwarded-port': '22' } });
  assert.equal(res.statusCode, 403);
  assert.equal(res.headers['x-mesher-error'], 'FORBIDDEN_PORT');
  const body = (await res.body.json()) as { code: string; service: string };
  assert.equal(body.code, 'FORBIDDEN_PORT');
  assert.equal(body.service, 'server2');
  const garbage = await request(`http://127.0.0.1:${inboundPort}/x`, {
    headers: { 'x-forwarded-port': 'abc' },
  });
  assert.equal(garbage.statusCode, 403);
  await garbage.body.dump();
});

test('local app down is 502 LOCAL_APP_UNAVAILABLE', async () => {
  const res = await request(`http://127.0.0.1:${inboundPort}/x`, {
    headers: { 'x-forwarded-port': String(closedPort) },
  });
  assert.equal(res.statusCode, 502);
  assert.equal(res.headers['x-mesher-error'], 'LOCAL_APP_UNAVAILABLE');
  await res.body.dump();
});

test('no local app configured is 502 LOCAL_APP_UNAVAILABLE', async () => {
  const res = await request(`http://127.0.0.1:${noAppPort}/x`);
  assert.equal(res.statusCode, 502);
  assert.equal(res.headers['x-mesher-error'], 'LOCAL_APP_UNAVAILABLE');
  assert.match(((await res.body.json()) as { message: string }).message, /service-ports/);
});

test('the consumer sees the provider-side error unchanged (x-mesher-error passes through)', async () => {
  const res = await request('http://server2:22/x', { dispatcher: agent });
  assert.equal(res.statusCode, 403);
  assert.equal(res.headers['x-mesher-error'], 'FORBIDDEN_PORT');
  await res.body.dump();
});

test('CONNECT on the inbound listener is refused with 400', async () => {
  const text = await new Promise<string>((resolve) => {
    const s = net.connect(inboundPort, '127.0.0.1');
    let out = '';
    s.on('data', (c) => (out += c.toString()));
    s.on('close', () => resolve(out));
    s.write('CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n');
  });
  assert.match(text, /^HTTP\/1\.1 400/);
  assert.match(text, /x-mesher-error: BAD_REQUEST/);
});
