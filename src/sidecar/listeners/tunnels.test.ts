import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { ProxyAgent, request } from 'undici';
import WebSocket from 'ws';
import {
  endpointOf,
  FakeDirectory,
  FakeRoundRobin,
  testSidecarConfig,
} from '../../../test/support/fake-directory.ts';
import { bodyOf, startUpstream, type TestUpstream } from '../../../test/support/upstream.ts';
import { setLogLevel } from '../../shared/log.ts';
import { createDataPlane, type DataPlane } from '../data-plane.ts';
import type { EdgeEngine } from './server.ts';

/** Which edge engine serves this run (the `*.fast.test.ts` twin sets 'fast'). */
const ENGINE: EdgeEngine = process.env.MESHER_TEST_EDGE_ENGINE === 'fast' ? 'fast' : 'node';

setLogLevel(process.env.MESHER_LOG_LEVEL ?? 'silent');

let app: TestUpstream;
let provider: DataPlane;
let consumer: DataPlane;
let inboundPort: number;
let outboundPort: number;
const directory = new FakeDirectory();

before(async () => {
  app = await startUpstream({ id: 'app' });
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
      servicePorts: { rest: app.port },
      localApp: { host: '127.0.0.1', port: app.port },
    }),
    directory: new FakeDirectory(),
    createBalancer: () => new FakeRoundRobin(),
  });
  inboundPort = (await provider.listen()).inbound!.port;
  // server2 is reached through its sidecar; direct-app is the app itself (no sidecar).
  directory.set('server2', [endpointOf({ host: '127.0.0.1', port: inboundPort }, 'p1')]);
  directory.set('direct-app', [endpointOf(app, 'app')]);
  consumer = createDataPlane({
    limits: { engine: ENGINE },
    config: testSidecarConfig(),
    directory,
    createBalancer: () => new FakeRoundRobin(),
  });
  outboundPort = (await consumer.listen()).outbound.port;
});

after(async () => {
  await consumer.close();
  await provider.close();
  await app.close();
});

function wsRoundTrip(ws: WebSocket, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send(message));
    ws.once('message', (data) => {
      resolve(data.toString());
      ws.close();
    });
  });
}

/** Open a CONNECT tunnel through the outbound listener; resolves with the socket and the status line. */
function connectTunnel(authority: string): Promise<{ socket: net.Socket; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(outboundPort, '127.0.0.1');
    let buf = '';
    const onData = (c: Buffer) => {
      buf += c.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.removeListener('data', onData);
      resolve({ socket, head: buf });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  });
}

test('WebSocket through the forward proxy (origin-form upgrade) and on through the provider sidecar', async () => {
  const ws = new WebSocket('ws://server2/chat', {
    createConnection: () => net.connect(outboundPort, '127.0.0.1'),
  });
  assert.equal(await wsRoundTrip(ws, 'hello'), 'app:hello');
});

test('WebSocket straight into the reverse proxy', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${inboundPort}/chat`);
  assert.equal(await wsRoundTrip(ws, 'direct'), 'app:direct');
});

test('an upgrade to an unknown service is a 404 SERVICE_NOT_FOUND response, not a hang', async () => {
  const ws = new WebSocket('ws://nosuch/chat', {
    createConnection: () => net.connect(outboundPort, '127.0.0.1'),
  });
  const res = await new Promise<{ status: number; code: string | undefined }>((resolve) => {
    ws.once('unexpected-response', (_req, r) =>
      resolve({ status: r.statusCode ?? 0, code: r.headers['x-mesher-error'] as string }),
    );
    ws.once('error', () => {});
  });
  assert.deepEqual(res, { status: 404, code: 'SERVICE_NOT_FOUND' });
  ws.terminate();
});

test('undici ProxyAgent (CONNECT tunnel by default) reaches the service end to end', async () => {
  const agent = new ProxyAgent(`http://127.0.0.1:${outboundPort}`);
  try {
    for (let i = 0; i < 3; i++) {
      const res = await request('http://server2/hello', {
        dispatcher: agent,
        headers: { 'x-test-echo': '1' },
      });
      assert.equal(res.statusCode, 200);
      const e = (await res.body.json()) as { id: string; url: string };
      assert.equal(e.id, 'app');
      assert.equal(e.url, '/hello');
    }
  } finally {
    await agent.close();
  }
});

test('CONNECT then WebSocket inside the tunnel', async () => {
  const { socket, head } = await connectTunnel('server2:80');
  assert.match(head, /^HTTP\/1\.1 200 /);
  const ws = new WebSocket('ws://server2/chat', { createConnection: () => socket });
  assert.equal(await wsRoundTrip(ws, 'tunnelled'), 'app:tunnelled');
});

test('CONNECT straight to an app without sidecar carries plain HTTP', async () => {
  const { socket, head } = await connectTunnel('direct-app:8080');
  assert.match(head, /^HTTP\/1\.1 200 /);
  const text = await new Promise<string>((resolve) => {
    let out = '';
    socket.on('data', (c) => (out += c.toString()));
    socket.on('close', () => resolve(out));
    socket.write('GET /x HTTP/1.1\r\nHost: direct-app\r\nConnection: close\r\n\r\n');
  });
  assert.match(text, /^HTTP\/1\.1 200 /);
  assert.equal(bodyOf(text), 'app');
});

test('CONNECT to an unknown service answers 404 before any tunnel', async () => {
  const { socket, head } = await connectTunnel('nosuch:443');
  assert.match(head, /^HTTP\/1\.1 404 /);
  assert.match(head, /x-mesher-error: SERVICE_NOT_FOUND/);
  socket.destroy();
});

test('close() tears down open tunnels', async () => {
  const extra = createDataPlane({
    limits: { engine: ENGINE },
    config: testSidecarConfig(),
    directory,
    createBalancer: () => new FakeRoundRobin(),
  });
  const port = (await extra.listen()).outbound.port;
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => {
    socket.once('data', () => resolve());
    socket.write('CONNECT direct-app:80 HTTP/1.1\r\nHost: direct-app\r\n\r\n');
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await extra.close();
  await closed;
});
