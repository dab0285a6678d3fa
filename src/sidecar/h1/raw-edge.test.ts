/** The raw edge on real sockets: pipelining order, request bodies, framing, hand-off to Node, timeouts, drain, abort. */
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { framedBody, splitAt } from '../../../test/support/h1-wire.ts';
import { ManualClock } from '../../shared/clock.ts';
import { Slot } from '../chain/compose.ts';
import type { CallContext, Outcome } from '../chain/types.ts';
import { createInboundCallFactory } from '../listeners/inbound.ts';
import { createEdgeServer, type EdgeRoute, type EdgeServer } from '../listeners/server.ts';
import { attachRawEdge } from './raw-edge.ts';

process.env.MESHER_LOG_LEVEL ??= 'silent';

const aborted: string[] = [];

async function readAll(body: Readable | null): Promise<string> {
  if (body === null) return '';
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('latin1');
}

/** Echo handler: `/slow` answers after 80 ms, `/stream` streams its body, `/hang` waits for the abort. */
async function handler(call: CallContext): Promise<Outcome> {
  if (call.path === '/hang') {
    await new Promise<void>((r) => call.signal.add(() => r()));
    aborted.push(call.path);
    return { status: 200, headers: [], body: null };
  }
  if (call.path === '/slow') await new Promise((r) => setTimeout(r, 80));
  if (call.path === '/drop') {
    call.body?.destroy();
    return { status: 200, headers: ['x-path', call.path], body: null };
  }
  const body = await readAll(call.hasBody ? call.body : null);
  if (call.path === '/big')
    return {
      status: 200,
      headers: [],
      body: Readable.from([Buffer.alloc(20_000, 'a'), Buffer.alloc(5, 'b'), Buffer.alloc(30_000, 'c')]),
    };
  if (call.path.startsWith('/stream'))
    return {
      status: 200,
      headers: ['x-path', call.path],
      body: Readable.from([Buffer.from('ab'), Buffer.from('cd')]),
    };
  return {
    status: 200,
    headers: ['x-path', call.path, 'x-body', body],
    body: Buffer.from(`${call.method} ${call.path}`),
  };
}

const route: EdgeRoute = { makeCall: createInboundCallFactory({ service: 'me' }), handler };
let edge: EdgeServer;
let port = 0;

before(async () => {
  edge = createEdgeServer(
    { engine: 'fast', timeoutCheckIntervalMs: 50, headersTimeoutMs: 500 },
    new Slot(route),
  );
  await new Promise<void>((r) => edge.server.listen(0, '127.0.0.1', r));
  port = (edge.server.address() as AddressInfo).port;
});
after(async () => {
  edge.server.closeAllConnections();
  await new Promise<void>((r) => edge.server.close(() => r()));
});

/** Send `parts` (with `gapMs` between them) and collect everything until the server closes. */
function exchange(parts: string[], gapMs = 0, p = port): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(p, '127.0.0.1');
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(got).toString('latin1')));
    s.on('connect', async () => {
      for (const part of parts) {
        s.write(part);
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}

test('pipelined requests are answered in order even when the first is slowest', async () => {
  const text = await exchange([
    'GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\nGET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
  ]);
  const paths = [...text.matchAll(/x-path: (\S+)/g)].map((m) => m[1]);
  assert.deepEqual(paths, ['/slow', '/b', '/c']);
  assert.match(text, /content-length: 9\r\n/);
  assert.match(text, /connection: close\r\n\r\nGET \/c$/);
});

test('request bodies: content-length and chunked (split across reads), then the next request', async () => {
  const text = await exchange(
    [
      'POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel',
      'loPOST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc',
      '\r\n2\r\nde\r\n0\r\n\r\n',
      'GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    ],
    20,
  );
  const bodies = [...text.matchAll(/x-body: (\S*)\r\n/g)].map((m) => m[1]);
  assert.deepEqual(bodies, ['hello', 'abcde', '']);
});

test('the last request (Connection: close, HTTP/1.0) still gets the rest of its body from later reads', async () => {
  for (const [head, tail] of [
    ['POST /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhe', 'llo'],
    ['POST /a HTTP/1.0\r\nHost: a\r\nContent-Length: 5\r\n\r\n', 'hello'],
    [
      'POST /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n',
      '5\r\nhello\r\n0\r\n\r\n',
    ],
  ] as const) {
    const text = await within(exchange([head, tail], 20), 5000, head);
    assert.match(text, /x-body: hello\r\n/, head);
  }
});

test('a malformed chunked request body gets a 400 BAD_REQUEST and the connection closes', async () => {
  for (const parts of [
    ['POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ['POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n', 'x!\r\n'],
  ]) {
    const text = await exchange(parts, 20);
    assert.match(text, /^HTTP\/1\.1 400 /, JSON.stringify(parts));
    assert.match(text, /connection: close\r\n/);
    assert.match(text, /BAD_REQUEST/);
    assert.match(text, /Malformed HTTP request body/);
  }
});

test('a body the chain destroys is discarded and the connection goes on', async () => {
  const big = 'x'.repeat(200_000);
  const text = await exchange(
    [
      `POST /drop HTTP/1.1\r\nHost: a\r\nContent-Length: ${big.length}\r\n\r\n`,
      big,
      'GET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    ],
    20,
  );
  assert.deepEqual(
    [...text.matchAll(/x-path: (\S+)/g)].map((m) => m[1]),
    ['/drop', '/after'],
  );
});

test('a streamed response is chunked for HTTP/1.1 and close-delimited for HTTP/1.0', async () => {
  const v11 = await exchange(['GET /stream HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n']);
  assert.match(v11, /transfer-encoding: chunked\r\n/);
  assert.match(v11, /\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n$/);
  const v10 = await exchange(['GET /stream HTTP/1.0\r\nHost: a\r\n\r\n']);
  assert.doesNotMatch(v10, /transfer-encoding/);
  assert.match(v10, /connection: close\r\n\r\nabcd$/);
});

test('a large streamed response arrives whole and correctly framed', async () => {
  const text = await exchange(['GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n']);
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  const expected = `${(20_000).toString(16)}\r\n${'a'.repeat(20_000)}\r\n5\r\nbbbbb\r\n${(30_000).toString(16)}\r\n${'c'.repeat(30_000)}\r\n0\r\n\r\n`;
  assert.equal(body, expected);
});

test('HEAD gets no body', async () => {
  const text = await exchange(['HEAD /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n']);
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(text, /\r\n\r\n$/);
});

test('smuggling shapes go to Node, which answers 400', async () => {
  for (const req of [
    'POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    'GET /a HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n',
    'GET /a HTTP/1.1\r\nHost : a\r\n\r\n',
  ]) {
    const text = await exchange([req]);
    assert.match(text, /^HTTP\/1\.1 400 /, JSON.stringify(req));
    assert.doesNotMatch(text, /x-path/);
  }
});

test('a fast-path request, then one for Node on the same connection: both answered, in order', async () => {
  const text = await exchange([
    'GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
  ]);
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*x-path: \/slow[\s\S]*HTTP\/1\.1 400 /);
});

test('a head split over slow writes is still served', async () => {
  const text = await exchange(['GET /sp', 'lit HTTP/1.1\r\nHo', 'st: a\r\nConnection: close\r\n\r\n'], 30);
  assert.match(text, /x-path: \/split/);
});

test('a client that goes away aborts the call', async () => {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.on('connect', r));
  s.write('GET /hang HTTP/1.1\r\nHost: a\r\n\r\n');
  await new Promise((r) => setTimeout(r, 50));
  s.destroy();
  for (let i = 0; i < 100 && !aborted.includes('/hang'); i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(aborted, ['/hang']);
});

test('idle keep-alive connections close after the timeout on the injected clock; drain closes after the answer', async () => {
  const clock = new ManualClock(0);
  const server = http.createServer();
  let draining = false;
  attachRawEdge(
    server,
    new Slot(route),
    { keepAliveTimeoutMs: 1000, timeoutCheckIntervalMs: 100 },
    () => draining,
    clock,
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const p = (server.address() as AddressInfo).port;
  try {
    const s = net.connect(p, '127.0.0.1');
    const closed = new Promise((r) => s.on('close', r));
    let got = '';
    s.on('data', (d) => {
      got += d.toString('latin1');
    });
    s.write('GET /a HTTP/1.1\r\nHost: a\r\n\r\n');
    for (let i = 0; i < 200 && !got.includes('GET /a'); i++) await new Promise((r) => setTimeout(r, 5));
    assert.doesNotMatch(got, /connection: close/);
    clock.advance(500);
    assert.equal(s.destroyed, false);
    clock.advance(600);
    await closed;

    draining = true;
    const text = await exchange(['GET /d HTTP/1.1\r\nHost: a\r\n\r\n'], 0, p);
    assert.match(text, /connection: close\r\n/);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

/** `p`, or a rejection naming `what` after `ms` (a stalled connection fails the run instead of hanging the file). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

interface Parsed {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** Split `text` into HTTP/1.1 responses by their own framing (content-length or chunked). */
function parseResponses(text: string): Parsed[] {
  const out: Parsed[] = [];
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf('\r\n\r\n', at);
    assert.ok(end > 0, `incomplete head at ${at}: ${JSON.stringify(text.slice(at, at + 80))}`);
    const [status, ...lines] = text.slice(at, end).split('\r\n');
    const headers = new Map<string, string>();
    for (const l of lines) headers.set(l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 2));
    at = end + 4;
    let body = '';
    if (headers.get('transfer-encoding') === 'chunked') {
      for (;;) {
        const eol = text.indexOf('\r\n', at);
        const size = Number.parseInt(text.slice(at, eol), 16);
        at = eol + 2;
        if (size === 0) {
          at += 2;
          break;
        }
        body += text.slice(at, at + size);
        at += size + 2;
      }
    } else {
      const n = Number(headers.get('content-length') ?? 0);
      body = text.slice(at, at + n);
      at += n;
    }
    out.push({ status: Number(status!.split(' ')[1]), headers, body });
  }
  return out;
}

test('property: any pipelined mix of bodies, framings and read splits is answered in order', async () => {
  const request = fc.record({
    // ('/drop' is left out: after a hand-off Node owns the request, and destroying its
    // IncomingMessage destroys the socket; the fast path's discard has its own test above.)
    path: fc.constantFrom('/p', '/q', '/stream'),
    body: fc.option(fc.stringMatching(/^[a-z0-9]{0,300}$/), { nil: undefined }),
    chunked: fc.boolean(),
    chunkSize: fc.integer({ min: 1, max: 64 }),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.array(request, { minLength: 1, maxLength: 6 }),
      fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 4 }),
      async (reqs, cuts) => {
        let wire = '';
        reqs.forEach((r, i) => {
          const last = i === reqs.length - 1 ? 'Connection: close\r\n' : '';
          const method = r.body === undefined ? 'GET' : 'POST';
          wire += `${method} ${r.path}/${i} HTTP/1.1\r\nHost: a\r\n${last}`;
          wire += r.body === undefined ? '\r\n' : framedBody(r.body, r.chunked, r.chunkSize);
        });
        const parts = splitAt(wire, cuts);
        const answers = parseResponses(await within(exchange(parts, 1), 5000, JSON.stringify(parts)));
        assert.equal(answers.length, reqs.length, 'one answer per request');
        reqs.forEach((r, i) => {
          const a = answers[i]!;
          const path = `${r.path}/${i}`;
          assert.equal(a.status, 200);
          if (r.path === '/stream') assert.equal(a.body, 'abcd');
          else {
            assert.equal(a.headers.get('x-path'), path);
            assert.equal(a.headers.get('x-body'), r.body ?? '');
            assert.equal(a.body, `${r.body === undefined ? 'GET' : 'POST'} ${path}`);
          }
        });
      },
    ),
    { numRuns: 200 },
  );
});
