/**
 * The http.Agent transport must not keep a finished call reachable from a pooled socket: the
 * connect-timeout listeners it puts on a new connection go once the connection is up (issue 7:
 * each pooled socket used to keep its first call's whole object graph alive).
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import http, { type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { fakeCall } from '../../../test/support/fake-call.ts';
import { createHttpAgentUpstream } from './http-agent.ts';

let server: Server;
let port: number;

before(async () => {
  server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

test('a pooled socket keeps no listener of the call that opened it', async () => {
  const opened: Socket[] = [];
  const onSocket = (msg: unknown) => opened.push((msg as { socket: Socket }).socket);
  subscribe('net.client.socket', onSocket);
  const upstream = createHttpAgentUpstream({ connectTimeoutMs: 5000 });
  try {
    const target = { key: 'k', host: '127.0.0.1', port };
    for (let i = 0; i < 2; i++) {
      const out = await upstream.request(fakeCall({ headers: ['host', 'svc'] }), target);
      assert.equal(out.status, 200);
      const body = out.body as NodeJS.ReadableStream;
      body.resume();
      await new Promise((r) => body.once('end', r));
    }
    // one connection, reused by the second call
    assert.equal(opened.length, 1);
    const socket = opened[0]!;
    await new Promise((r) => setImmediate(r)); // the agent takes the socket back on 'free'
    for (const event of ['close', 'connect'] as const) {
      const ours = socket.listeners(event).filter((fn) => String(fn).includes('timer.cancel()'));
      assert.deepEqual(ours, [], `${event} listeners left by the connect timeout`);
    }
  } finally {
    unsubscribe('net.client.socket', onSocket);
    upstream.close();
  }
});
