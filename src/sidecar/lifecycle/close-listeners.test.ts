import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { request } from 'undici';
import {
  endpointOf,
  FakeDirectory,
  FakeRoundRobin,
  testSidecarConfig,
} from '../../../test/support/fake-directory.ts';
import { ManualClock } from '../../shared/clock.ts';
import { setLogLevel } from '../../shared/log.ts';
import { createDataPlane } from '../data-plane.ts';

setLogLevel(process.env.MESHER_LOG_LEVEL ?? 'silent');

/** A local app that holds `/hold` requests until `release()`, and answers anything else at once. */
async function heldApp() {
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    if (req.url === '/hold') held.push(res);
    else res.end('app');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    held,
    release: () => {
      for (const res of held.splice(0)) res.end('released');
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A raw connection that has sent part of a request head (so it is not idle) and finishes it on demand. */
async function partialRequest(port: number, host: string) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  let text = '';
  socket.on('data', (d) => (text += d.toString('latin1')));
  const ended = new Promise<void>((r) => socket.once('close', () => r()));
  socket.write(`GET /x HTTP/1.1\r\nHost: ${host}\r\n`);
  return {
    /**
     * Send the rest of the head (`extra` header lines first); resolves with the raw response once
     * the connection closes.
     */
    finish: async (extra = '') => {
      socket.write(`${extra}\r\n`);
      await ended;
      return text;
    },
    destroy: () => socket.destroy(),
  };
}

async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + 5000;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });

test('closing: inbound refuses new calls with SHUTTING_DOWN at once; outbound serves while inbound work is in flight, then refuses too', async () => {
  const app = await heldApp();
  const upstream = http.createServer((_req, res) => res.end('mesh'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const directory = new FakeDirectory();
  const upPort = (upstream.address() as AddressInfo).port;
  directory.set('up', [endpointOf({ host: '127.0.0.1', port: upPort }, 'u')]);
  const clock = new ManualClock();
  const plane = createDataPlane({
    config: testSidecarConfig({
      listeners: {
        outbound: { host: '127.0.0.1', port: 0 },
        inbound: { host: '127.0.0.1', port: 0 },
        advertise: null,
        admin: null,
      },
      localApp: { host: '127.0.0.1', port: app.port },
    }),
    directory,
    createBalancer: () => new FakeRoundRobin(),
    clock,
  });
  const { outbound, inbound } = await plane.listen();
  const inPort = inbound!.port;
  const sockets: Array<{ destroy(): void }> = [];
  try {
    // An inbound request in flight (the app holds it), and connections mid-head on both sides.
    const inFlight = request(`http://127.0.0.1:${inPort}/hold`);
    await until(() => app.held.length === 1);
    const lateInbound = await partialRequest(inPort, 'me');
    const outboundDuring = await partialRequest(outbound.port, 'up');
    const outboundAfter = await partialRequest(outbound.port, 'up');
    sockets.push(lateInbound, outboundDuring, outboundAfter);

    const closed = plane.close({ drainMs: 60_000 });
    await until(() => refused(inPort));

    const refusedIn = await lateInbound.finish();
    assert.match(refusedIn, /^HTTP\/1\.1 503 /);
    assert.match(refusedIn, /x-mesher-error: SHUTTING_DOWN/i);
    assert.match(refusedIn, /connection: close/i);
    assert.match(refusedIn, /"code":"SHUTTING_DOWN"/);
    assert.equal(app.held.length, 1, 'the refused call never reached the app');

    // The app may still need the mesh to finish its in-flight work: outbound keeps serving.
    assert.equal(await refused(outbound.port), false, 'outbound still accepts');
    const during = await outboundDuring.finish('Connection: close\r\n');
    assert.match(during, /^HTTP\/1\.1 200 /);
    assert.match(during, /mesh$/);

    // The in-flight inbound call finishes; then outbound stops and refuses calls that start later.
    app.release();
    const res = await inFlight;
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'released');
    await until(() => refused(outbound.port));
    const late = await outboundAfter.finish();
    assert.match(late, /^HTTP\/1\.1 503 /);
    assert.match(late, /x-mesher-error: SHUTTING_DOWN/i);
    await closed;
    assert.equal(clock.pending, 0, 'no drain timer left behind');
  } finally {
    for (const s of sockets) s.destroy();
    await plane.close();
    await app.close();
    upstream.closeAllConnections();
    await new Promise<void>((r) => upstream.close(() => r()));
  }
});
