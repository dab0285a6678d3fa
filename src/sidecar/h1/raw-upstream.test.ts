/**
 * The raw HTTP/1.1 upstream against scripted raw-TCP upstreams: partial and coalesced reads, 1xx,
 * chunked, HEAD/204/304, close-delimited bodies, malformed responses, mid-body death, keep-alive
 * reuse (counted connections), pool limits, request-body framing, aborts and idle expiry.
 * (The shared behaviour with the other transports is in ../upstream/transports.test.ts.)
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { request as undiciRequest } from 'undici';
import { fakeCall } from '../../../test/support/fake-call.ts';
import {
  endpointOf,
  FakeDirectory,
  FakeRoundRobin,
  testSidecarConfig,
} from '../../../test/support/fake-directory.ts';
import { framedBody, splitAt } from '../../../test/support/h1-wire.ts';
import { ManualClock } from '../../shared/clock.ts';
import { isMeshError } from '../../shared/errors.ts';
import { setLogLevel } from '../../shared/log.ts';
import type { Outcome } from '../chain/types.ts';
import { createDataPlane } from '../data-plane.ts';
import { createRawUpstream } from './raw-upstream.ts';

setLogLevel(process.env.MESHER_LOG_LEVEL ?? 'silent');

type Script = (path: string, socket: net.Socket, head: string) => void;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw TCP upstream: every request head (requests carry no body here) goes to `scripts[path]`. */
class RawServer {
  readonly server: net.Server;
  connections = 0;
  readonly sockets = new Set<net.Socket>();
  readonly scripts = new Map<string, Script>();
  port = 0;
  constructor() {
    this.server = net.createServer((s) => {
      this.connections++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {});
      let buf = '';
      s.on('data', (d) => {
        buf += d.toString('latin1');
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buf.slice(0, end);
          buf = buf.slice(end + 4);
          const path = head.split(' ')[1] ?? '/';
          const script = this.scripts.get(path.split('?')[0]!);
          if (script === undefined) s.write('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
          else script(path, s, head);
        }
      });
    });
  }
  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

async function text(out: Outcome): Promise<string> {
  if (out.body === null) return '';
  if (Buffer.isBuffer(out.body)) return out.body.toString();
  const parts: Buffer[] = [];
  for await (const p of out.body) parts.push(p as Buffer);
  return Buffer.concat(parts).toString('latin1');
}

const srv = new RawServer();
const BIG = 16 * 1024 * 1024;
let bigSocket: net.Socket | undefined;
const upstream = createRawUpstream({ idleTimeoutMs: 60_000 });
let target: { key: string; host: string; port: number };
const get = (path: string, over: Parameters<typeof fakeCall>[0] = {}) =>
  upstream.request(fakeCall({ path, headers: ['Host', 'svc'], ...over }), target);

before(async () => {
  await srv.start();
  target = { key: 'raw', host: '127.0.0.1', port: srv.port };
  srv.scripts.set('/ok', (p, s) =>
    s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${p.length}\r\nX-A: 1\r\n\r\n${p}`),
  );
  srv.scripts.set('/slow-head', async (_p, s) => {
    for (const piece of ['HTTP/1.', '1 200 OK\r\nContent-Le', 'ngth: 5\r\n\r', '\nhel', 'lo']) {
      s.write(piece);
      await sleep(5);
    }
  });
  srv.scripts.set('/interim', (_p, s) =>
    s.write(
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    ),
  );
  srv.scripts.set('/chunked', async (_p, s) => {
    s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3;ext=1\r\nabc\r');
    await sleep(5);
    s.write('\n10\r\n0123456789abcdef\r\n0\r\nX-T: v\r\n\r\n');
  });
  srv.scripts.set('/head', (_p, s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'));
  srv.scripts.set('/204', (_p, s) => s.write('HTTP/1.1 204 No Content\r\n\r\n'));
  srv.scripts.set('/304', (_p, s) => s.write('HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n'));
  srv.scripts.set('/close-delimited', (_p, s) => {
    s.write('HTTP/1.1 200 OK\r\n\r\nuntil ');
    setTimeout(() => s.end('the end'), 5);
  });
  srv.scripts.set('/malformed', (_p, s) =>
    s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\nok'),
  );
  srv.scripts.set('/bad-chunk', (_p, s) =>
    s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'),
  );
  srv.scripts.set('/mid-body', (_p, s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    setTimeout(() => s.destroy(), 10);
  });
  srv.scripts.set('/extra', (_p, s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokGARBAGE'));
  srv.scripts.set('/close', (_p, s) =>
    s.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'),
  );
  srv.scripts.set('/http10', (_p, s) => s.write('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  srv.scripts.set('/hang', () => {});
  srv.scripts.set('/big', (_p, s) => {
    s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${BIG}\r\n\r\n`);
    s.write(Buffer.alloc(BIG, 'b'));
    bigSocket = s;
  });
  srv.scripts.set('/delay', (p, s) =>
    setTimeout(() => s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${p.length}\r\n\r\n${p}`), 30),
  );
});

after(async () => {
  upstream.close();
  await srv.close();
});

describe('raw upstream: response parsing', () => {
  test('keep-alive: sequential calls reuse one connection, headers keep case and order', async () => {
    const before = srv.connections;
    for (let i = 0; i < 5; i++) {
      const out = await get(`/ok?i=${i}`);
      assert.equal(out.status, 200);
      assert.deepEqual(out.headers, ['Content-Length', String(`/ok?i=${i}`.length), 'X-A', '1']);
      assert.equal(await text(out), `/ok?i=${i}`);
    }
    assert.equal(srv.connections - before, 1);
  });

  test('a body that arrives with its head is one Buffer; one still on the wire streams', async () => {
    const whole = await get('/ok?whole');
    assert.ok(Buffer.isBuffer(whole.body), 'whole body handed on as a Buffer');
    assert.equal(whole.body.toString(), '/ok?whole');
    const streamed = await get('/mid-body');
    assert.ok(streamed.body instanceof Readable, 'a partial body streams');
    (streamed.body as Readable).destroy();
  });

  test('a head and body split over several reads', async () => {
    const out = await get('/slow-head');
    assert.equal(await text(out), 'hello');
  });

  test('interim 100 and 103 responses are skipped', async () => {
    const out = await get('/interim');
    assert.equal(out.status, 200);
    assert.equal(await text(out), 'ok');
  });

  test('chunked response: payload decoded, hop-by-hop headers dropped, connection reused', async () => {
    const before = srv.connections;
    const out = await get('/chunked');
    assert.deepEqual(out.headers, []);
    assert.equal(await text(out), 'abc0123456789abcdef');
    assert.equal(await text(await get('/ok')), '/ok');
    assert.equal(srv.connections - before, 0);
  });

  test('HEAD, 204 and 304 have no body whatever Content-Length says; the connection stays usable', async () => {
    const before = srv.connections;
    const head = await get('/head', { method: 'HEAD' });
    assert.equal(head.body, null);
    assert.deepEqual(head.headers, ['Content-Length', '10']);
    assert.equal((await get('/204')).body, null);
    assert.equal((await get('/304')).status, 304);
    assert.equal(await text(await get('/ok')), '/ok');
    assert.equal(srv.connections - before, 0);
  });

  test('close-delimited body ends with the connection, which is not reused', async () => {
    const before = srv.connections;
    assert.equal(await text(await get('/close-delimited')), 'until the end');
    assert.equal(await text(await get('/ok')), '/ok');
    assert.equal(srv.connections - before, 1);
  });

  test('Connection: close, HTTP/1.0 without keep-alive and bytes after the body are not reused', async () => {
    for (const path of ['/close', '/http10', '/extra']) {
      const before = srv.connections;
      assert.equal(await text(await get(path)), 'ok');
      assert.equal(await text(await get('/ok')), '/ok');
      assert.equal(srv.connections - before, 1, path);
    }
  });

  test('a malformed head rejects UPSTREAM_PROTOCOL; a malformed chunk cuts the body', async () => {
    await assert.rejects(get('/malformed'), (e: unknown) => isMeshError(e) && e.code === 'UPSTREAM_PROTOCOL');
    const out = await get('/bad-chunk');
    await assert.rejects(text(out));
    assert.equal(await text(await get('/ok')), '/ok');
  });

  test('a body nobody reads pauses the upstream socket (backpressure), and then arrives whole', async () => {
    const out = await get('/big');
    await sleep(100);
    assert.ok(
      bigSocket !== undefined && bigSocket.writableLength > 0,
      'the upstream could not write everything',
    );
    const body = out.body as Readable;
    let n = 0;
    for await (const p of body) n += (p as Buffer).length;
    assert.equal(n, BIG);
  });

  test('an upstream dying mid-body destroys the body stream', async () => {
    const out = await get('/mid-body');
    await assert.rejects(text(out));
  });
});

describe('raw upstream: property', () => {
  test('any sequence of framed responses, split anywhere, arrives whole on one kept-alive connection', async () => {
    const response = fc.record({
      status: fc.constantFrom(200, 201, 404, 500),
      body: fc.stringMatching(/^[a-z0-9]{0,2000}$/),
      chunked: fc.boolean(),
      chunkSize: fc.integer({ min: 1, max: 700 }),
      cuts: fc.array(fc.integer({ min: 1, max: 2200 }), { maxLength: 4 }),
      interim: fc.boolean(),
    });
    type Spec = {
      status: number;
      body: string;
      chunked: boolean;
      chunkSize: number;
      cuts: number[];
      interim: boolean;
    };
    const queue: Spec[] = [];
    srv.scripts.set('/prop', async (_p, s) => {
      const r = queue.shift()!;
      let wire = r.interim ? 'HTTP/1.1 100 Continue\r\n\r\n' : '';
      wire += `HTTP/1.1 ${r.status} X\r\nX-Len: ${r.body.length}\r\n`;
      wire += framedBody(r.body, r.chunked, r.chunkSize);
      for (const part of splitAt(wire, r.cuts)) {
        s.write(part);
        await new Promise((done) => setImmediate(done));
      }
    });
    const own = createRawUpstream({ idleTimeoutMs: 60_000 });
    const t = { key: 'prop', host: '127.0.0.1', port: srv.port };
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(response, { minLength: 1, maxLength: 5 }), async (specs) => {
          const before = srv.connections;
          for (const r of specs) {
            queue.push(r);
            const out = await own.request(fakeCall({ path: '/prop', headers: ['Host', 'x'] }), t);
            assert.equal(out.status, r.status);
            assert.equal(await text(out), r.body);
          }
          assert.ok(srv.connections - before <= 1, 'one connection (at most a new one per run)');
        }),
        { numRuns: 150 },
      );
    } finally {
      own.close();
      srv.scripts.delete('/prop');
    }
  });
});

describe('raw upstream: pool', () => {
  test('at most maxSocketsPerEndpoint connections; the rest wait in order and all complete', async () => {
    const own = createRawUpstream({ maxSocketsPerEndpoint: 2 });
    const t = { key: 'limited', host: '127.0.0.1', port: srv.port };
    const before = srv.connections;
    try {
      const outs = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          own.request(fakeCall({ path: `/delay?${i}`, headers: ['Host', 'x'] }), t),
        ),
      );
      assert.deepEqual(
        await Promise.all(outs.map(text)),
        Array.from({ length: 6 }, (_, i) => `/delay?${i}`),
      );
      assert.equal(srv.connections - before, 2);
    } finally {
      own.close();
    }
  });

  test('idle connections expire on the injected clock', async () => {
    const clock = new ManualClock();
    const own = createRawUpstream({ idleTimeoutMs: 800, clock });
    const t = { key: 'idle', host: '127.0.0.1', port: srv.port };
    try {
      const before = srv.connections;
      assert.equal(
        await text(await own.request(fakeCall({ path: '/ok', headers: ['Host', 'x'] }), t)),
        '/ok',
      );
      clock.advance(500);
      assert.equal(
        await text(await own.request(fakeCall({ path: '/ok', headers: ['Host', 'x'] }), t)),
        '/ok',
      );
      assert.equal(srv.connections - before, 1, 'reused within the idle timeout');
      clock.advance(1000);
      await sleep(20);
      assert.equal(
        await text(await own.request(fakeCall({ path: '/ok', headers: ['Host', 'x'] }), t)),
        '/ok',
      );
      assert.equal(srv.connections - before, 2, 'a new connection after expiry');
    } finally {
      own.close();
    }
  });

  test('an abort destroys the connection and rejects the call', async () => {
    const call = fakeCall({ path: '/hang', headers: ['Host', 'x'] });
    const p = get('/hang', { signal: call.signal });
    await sleep(20);
    const open = srv.sockets.size;
    call.signal.abort();
    await assert.rejects(p, (e: unknown) => isMeshError(e));
    await sleep(20);
    assert.ok(srv.sockets.size < open);
  });

  test('a refused connect is UPSTREAM_CONNECT, inbound LOCAL_APP_UNAVAILABLE', async () => {
    const clock = new ManualClock();
    const own = createRawUpstream({ connectTimeoutMs: 1000, clock });
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    try {
      const t = { key: 'down', host: '127.0.0.1', port };
      await assert.rejects(
        own.request(fakeCall(), t),
        (e: unknown) => isMeshError(e) && e.code === 'UPSTREAM_CONNECT',
      );
      await assert.rejects(
        own.request(fakeCall({ direction: 'inbound' }), t),
        (e: unknown) => isMeshError(e) && e.code === 'LOCAL_APP_UNAVAILABLE',
      );
    } finally {
      own.close();
    }
  });
});

test('a header value with CR/LF is never written: INTERNAL, and nothing reaches the upstream', async () => {
  const before = srv.connections;
  await assert.rejects(
    get('/ok', { headers: ['Host', 'svc', 'X-Bad', 'a\r\nContent-Length: 5'] }),
    (e: unknown) => isMeshError(e) && e.code === 'INTERNAL',
  );
  await assert.rejects(get('/ok HTTP/1.1\r\nX: y'), (e: unknown) => isMeshError(e) && e.code === 'INTERNAL');
  assert.equal(await text(await get('/ok')), '/ok');
  assert.ok(srv.connections - before <= 1);
});

describe('raw upstream: request bodies', () => {
  let echo: http.Server;
  let echoTarget: { key: string; host: string; port: number };
  before(async () => {
    echo = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d) => parts.push(d));
      req.on('end', () =>
        res.end(
          JSON.stringify({
            te: req.headers['transfer-encoding'] ?? null,
            body: Buffer.concat(parts).toString(),
          }),
        ),
      );
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoTarget = { key: 'echo', host: '127.0.0.1', port: (echo.address() as AddressInfo).port };
  });
  after(async () => {
    echo.closeAllConnections();
    await new Promise((r) => echo.close(r));
  });

  test('with Content-Length the body goes as is, without it chunked', async () => {
    const a = await upstream.request(
      fakeCall({
        method: 'POST',
        headers: ['Host', 'e', 'Content-Length', '5'],
        body: Readable.from([Buffer.from('hel'), Buffer.from('lo')]),
        hasBody: true,
      }),
      echoTarget,
    );
    assert.deepEqual(JSON.parse(await text(a)), { te: null, body: 'hello' });
    const big = 'x'.repeat(200_000);
    const b = await upstream.request(
      fakeCall({
        method: 'POST',
        headers: ['Host', 'e'],
        body: Readable.from([Buffer.from(big), Buffer.from('!')]),
        hasBody: true,
      }),
      echoTarget,
    );
    assert.deepEqual(JSON.parse(await text(b)), { te: 'chunked', body: `${big}!` });
  });
});

describe('raw upstream through the data plane', () => {
  test('a malformed upstream response is 502 UPSTREAM_PROTOCOL to the client', async () => {
    const directory = new FakeDirectory();
    directory.set('raw', [endpointOf({ host: '127.0.0.1', port: srv.port }, 'r')]);
    const plane = createDataPlane({
      config: testSidecarConfig(),
      directory,
      createBalancer: () => new FakeRoundRobin(),
      upstream: createRawUpstream({}),
    });
    const port = (await plane.listen()).outbound.port;
    try {
      const res = await undiciRequest(`http://127.0.0.1:${port}/malformed`, { headers: { host: 'raw' } });
      assert.equal(res.statusCode, 502);
      assert.equal(res.headers['x-mesher-error'], 'UPSTREAM_PROTOCOL');
      await res.body.dump();
      const ok = await undiciRequest(`http://127.0.0.1:${port}/ok`, { headers: { host: 'raw' } });
      assert.equal(await ok.body.text(), '/ok');
    } finally {
      await plane.close();
    }
  });
});
