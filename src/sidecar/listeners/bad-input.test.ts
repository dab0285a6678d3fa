import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import {
  endpointOf,
  FakeDirectory,
  FakeRoundRobin,
  testSidecarConfig,
} from '../../../test/support/fake-directory.ts';
import { bodyOf, rawExchange, startUpstream, type TestUpstream } from '../../../test/support/upstream.ts';
import { setLogLevel } from '../../shared/log.ts';
import { createDataPlane, type DataPlane } from '../data-plane.ts';
import type { EdgeEngine } from './server.ts';

/** Which edge engine serves this run (the `*.fast.test.ts` twin sets 'fast'). */
const ENGINE: EdgeEngine = process.env.MESHER_TEST_EDGE_ENGINE === 'fast' ? 'fast' : 'node';

setLogLevel(process.env.MESHER_LOG_LEVEL ?? 'silent');

// Every case uses raw sockets: real clients refuse to send these inputs.
let up: TestUpstream;
let plane: DataPlane;
let port: number;

before(async () => {
  up = await startUpstream({ id: 'u' });
  const directory = new FakeDirectory();
  directory.set('up', [endpointOf(up, 'u')]);
  plane = createDataPlane({
    config: testSidecarConfig(),
    directory,
    createBalancer: () => new FakeRoundRobin(),
    limits: {
      engine: ENGINE,
      maxHeaderBytes: 8192,
      headersTimeoutMs: 300,
      requestTimeoutMs: 2000,
      timeoutCheckIntervalMs: 50,
    },
  });
  port = (await plane.listen()).outbound.port;
});

after(async () => {
  await plane.close();
  await up.close();
});

function expectError(text: string, status: number, code: string): void {
  assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `), text.slice(0, 80));
  assert.match(text, new RegExp(`x-mesher-error: ${code}\\r\\n`, 'i'));
  assert.match(text, /content-type: application\/json/i);
  assert.equal((JSON.parse(bodyOf(text)) as { code: string }).code, code);
}

test('conflicting Content-Length and Transfer-Encoding is a clean 400', async () => {
  const text = await rawExchange(
    port,
    'POST http://up/ HTTP/1.1\r\nHost: up\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  );
  expectError(text, 400, 'BAD_REQUEST');
  assert.equal(up.requests, 0, 'nothing reached the upstream');
});

test('oversized headers are 431 HEADERS_TOO_LARGE', async () => {
  const text = await rawExchange(
    port,
    `GET http://up/ HTTP/1.1\r\nHost: up\r\nX-Big: ${'a'.repeat(10_000)}\r\n\r\n`,
  );
  expectError(text, 431, 'HEADERS_TOO_LARGE');
});

test('an invalid method is 400', async () => {
  const text = await rawExchange(port, 'BREW http://up/ HTTP/1.1\r\nHost: up\r\n\r\n');
  expectError(text, 400, 'BAD_REQUEST');
  const garbage = await rawExchange(port, 'hello there\r\n\r\n');
  expectError(garbage, 400, 'BAD_REQUEST');
});

test('slow headers get 408 REQUEST_TIMEOUT and the connection is closed', async () => {
  const started = Date.now();
  const text = await rawExchange(port, 'GET http://up/ HTTP/1.1\r\nHost: up\r\n', 5000);
  expectError(text, 408, 'REQUEST_TIMEOUT');
  assert.ok(Date.now() - started < 4000, 'closed by the header timeout, not by the test');
});

test('an origin-form request without Host is 400 (HTTP/1.0)', async () => {
  const text = await rawExchange(port, 'GET /x HTTP/1.0\r\n\r\n');
  expectError(text, 400, 'BAD_REQUEST');
});

test('https:// and other schemes in proxy-form are 400', async () => {
  const text = await rawExchange(port, 'GET https://up/ HTTP/1.1\r\nHost: up\r\nConnection: close\r\n\r\n');
  expectError(text, 400, 'BAD_REQUEST');
});

test('a step that throws synchronously, or an error with an unwritable header, never crashes the process', async () => {
  const { createDataPlane: make } = await import('../data-plane.ts');
  const { MeshError } = await import('../../shared/errors.ts');
  const directory = new FakeDirectory();
  directory.set('up', [endpointOf(up, 'u')]);
  const p = make({
    config: testSidecarConfig(),
    directory,
    createBalancer: () => new FakeRoundRobin(),
    extraSteps: () => ({
      outbound: [
        (call) => {
          if (call.path === '/sync') throw new MeshError('RATE_LIMITED');
          if (call.path === '/badheader') {
            return Promise.reject(new MeshError('RATE_LIMITED', { headers: { 'retry-after': 'a\r\nb' } }));
          }
          throw new TypeError('bug');
        },
      ],
    }),
  });
  const port2 = (await p.listen()).outbound.port;
  try {
    expectError(
      await rawExchange(port2, 'GET http://up/sync HTTP/1.1\r\nHost: up\r\nConnection: close\r\n\r\n'),
      429,
      'RATE_LIMITED',
    );
    expectError(
      await rawExchange(port2, 'GET http://up/bug HTTP/1.1\r\nHost: up\r\nConnection: close\r\n\r\n'),
      500,
      'INTERNAL',
    );
    const dropped = await rawExchange(
      port2,
      'GET http://up/badheader HTTP/1.1\r\nHost: up\r\nConnection: close\r\n\r\n',
    );
    assert.equal(dropped, '', 'connection dropped without a response');
  } finally {
    await p.close();
  }
});

test('a client vanishing halfway through its headers leaks nothing and the proxy keeps serving', async () => {
  for (let i = 0; i < 20; i++) {
    const s = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.write('GET http://up/ HTTP/1.1\r\nHo');
    s.destroy();
  }
  const text = await rawExchange(port, 'GET http://up/ok HTTP/1.1\r\nHost: up\r\nConnection: close\r\n\r\n');
  assert.match(text, /^HTTP\/1\.1 200 /);
  assert.equal(bodyOf(text), 'u');
});
