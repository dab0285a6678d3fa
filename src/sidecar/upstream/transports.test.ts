import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
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
import { createRawUpstream } from '../h1/raw-upstream.ts';
import { createHttpAgentUpstream } from './http-agent.ts';
import { createLazyUndiciUpstream } from './lazy-undici.ts';
import type { Upstream, UpstreamOptions } from './types.ts';
import { createUndiciUpstream } from './undici-pool.ts';

setLogLevel(process.env.MESHER_LOG_LEVEL ?? 'silent');

// The same behaviour is required of every upstream transport (a small contract suite).
const transports: Array<[string, (o: UpstreamOptions) => Upstream]> = [
  ['http.Agent', createHttpAgentUpstream],
  ['undici', createUndiciUpstream],
  // What `transport: undici` builds in the data plane: the same pool, loaded on first use.
  ['undici (loaded on first use)', createLazyUndiciUpstream],
  ['raw h1', createRawUpstream],
];

for (const [name, make] of transports) {
  describe(`upstream transport: ${name}`, () => {
    let up: TestUpstream;
    let plane: DataPlane;
    let agent: ProxyAgent;
    let proxyPort: number;
    const directory = new FakeDirectory();
    const sockets = new Set<net.Socket>();
    let flaky: net.Server;
    let flakyConnections = 0;

    /** Polls `cond` every 10 ms until it holds or `ms` passes. */
    async function eventually(cond: () => boolean, ms = 3000): Promise<void> {
      const end = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > end) throw new Error('condition not met in time');
        await new Promise((r) => setTimeout(r, 10));
      }
    }

    before(async () => {
      up = await startUpstream({ id: 'u' });
      // An upstream that answers the first request on each connection with keep-alive, then resets the
      // connection when the next request arrives: a peer closing an idle socket just as it is reused.
      flaky = net.createServer((s) => {
        flakyConnections++;
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        let served = false;
        s.on('data', () => {
          if (served) {
            s.resetAndDestroy();
            return;
          }
          served = true;
          s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok');
        });
        s.on('error', () => {});
      });
      await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', r));
      const closed = net.createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const closedPort = (closed.address() as net.AddressInfo).port;
      await new Promise<void>((r) => closed.close(() => r()));

      directory.set('up', [endpointOf(up, 'u')]);
      directory.set('flaky', [
        endpointOf({ host: '127.0.0.1', port: (flaky.address() as net.AddressInfo).port }, 'f'),
      ]);
      directory.set('down', [endpointOf({ host: '127.0.0.1', port: closedPort }, 'd')]);
      plane = createDataPlane({
        config: testSidecarConfig(),
        directory,
        createBalancer: () => new FakeRoundRobin(),
        upstream: make({ idleTimeoutMs: 150 }),
      });
      proxyPort = (await plane.listen()).outbound.port;
      agent = new ProxyAgent({ uri: `http://127.0.0.1:${proxyPort}`, proxyTunnel: false });
    });

    after(async () => {
      await agent.close();
      await plane.close();
      await up.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => flaky.close(() => r()));
    });

    test('connection refused is 502 UPSTREAM_CONNECT with the JSON body', async () => {
      const res = await request('http://down/x', { dispatcher: agent });
      assert.equal(res.statusCode, 502);
      assert.equal(res.headers['x-mesher-error'], 'UPSTREAM_CONNECT');
      assert.deepEqual(await res.body.json(), {
        code: 'UPSTREAM_CONNECT',
        message: 'Could not connect to the upstream instance',
        service: 'down',
      });
    });

    test('reset before the response is 502 UPSTREAM_RESET', async () => {
      const res = await request('http://up/x', { dispatcher: agent, headers: { 'x-test-reset': 'before' } });
      assert.equal(res.statusCode, 502);
      assert.equal(res.headers['x-mesher-error'], 'UPSTREAM_RESET');
      await res.body.dump();
    });

    test('a reused socket reset by the peer is retried once on a fresh connection (bodiless request)', async () => {
      const first = await request('http://flaky/1', { dispatcher: agent });
      assert.equal(await first.body.text(), 'ok');
      const before = flakyConnections;
      const second = await request('http://flaky/2', { dispatcher: agent });
      assert.equal(second.statusCode, 200);
      assert.equal(await second.body.text(), 'ok');
      assert.equal(flakyConnections, before + 1, 'the retry used a new connection');
    });

    test('with a body the same reset is not replayed: 502 UPSTREAM_RESET', async () => {
      await (await request('http://flaky/warm', { dispatcher: agent })).body.dump();
      const res = await request('http://flaky/post', { dispatcher: agent, method: 'POST', body: 'data' });
      // Either the pool had the reused socket (reset → 502) or a fresh one (200); with lifo
      // scheduling the warm socket is reused.
      assert.equal(res.statusCode, 502);
      assert.equal(res.headers['x-mesher-error'], 'UPSTREAM_RESET');
      await res.body.dump();
    });

    test('idle pooled connections are closed after idleTimeoutMs, and the next call opens a new one', async () => {
      await (await request('http://up/a', { dispatcher: agent })).body.dump();
      const conns = up.connections;
      await (await request('http://up/b', { dispatcher: agent })).body.dump();
      assert.equal(up.connections, conns, 'keep-alive reuse');
      await new Promise((r) => setTimeout(r, 400));
      const res = await request('http://up/c', { dispatcher: agent });
      assert.equal(res.statusCode, 200);
      await res.body.dump();
      assert.equal(up.connections, conns + 1);
    });

    test('an upstream closing its idle keep-alive connections first causes no error', async () => {
      const short = await startUpstream({ id: 'short', keepAliveTimeoutMs: 100 });
      directory.set('short', [endpointOf(short, 'short')]);
      try {
        for (let i = 0; i < 3; i++) {
          const res = await request('http://short/x', { dispatcher: agent });
          assert.equal(res.statusCode, 200);
          assert.equal(await res.body.text(), 'short');
          await new Promise((r) => setTimeout(r, 250)); // the upstream closes the idle socket
        }
        assert.equal(short.connections, 3, 'a fresh connection each time, never a reused dead one');
      } finally {
        await short.close();
      }
    });

    test('provider dying mid-response closes the client connection; the proxy keeps serving', async () => {
      const res = await request('http://up/big', {
        dispatcher: agent,
        headers: { 'x-test-body-bytes': String(4 * 1024 * 1024), 'x-test-reset': 'mid-body' },
      });
      assert.equal(res.statusCode, 200);
      await assert.rejects(async () => {
        for await (const _ of res.body) {
          // drain until the truncation surfaces
        }
      });
      const ok = await request('http://up/after', { dispatcher: agent });
      assert.equal(ok.statusCode, 200);
      await ok.body.dump();
    });

    test('a client disconnecting mid-body aborts the upstream request', async () => {
      const abortedBefore = up.aborted;
      const s = net.connect(proxyPort, '127.0.0.1');
      await new Promise<void>((r) => s.once('connect', () => r()));
      s.write(
        'POST http://up/slow HTTP/1.1\r\nHost: up\r\nContent-Length: 1000000\r\nX-Test-Echo: digest\r\n\r\n' +
          'x'.repeat(1000),
      );
      await eventually(() => up.requests > 0 && up.aborted === abortedBefore);
      await new Promise((r) => setTimeout(r, 50));
      s.destroy();
      await eventually(() => up.aborted === abortedBefore + 1);
    });
  });
}
