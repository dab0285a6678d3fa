/** Strict request-head parser: unit cases, and fast-check against what Node's llhttp makes of the same bytes. */
import assert from 'node:assert/strict';
import http, { type IncomingMessage } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { isNotFast, parseRequestHead, type RequestHead } from './request-head.ts';

const b = (s: string) => Buffer.from(s, 'latin1');

function fast(s: string): RequestHead {
  const r = parseRequestHead(b(s));
  assert.ok(
    r !== undefined && !isNotFast(r),
    `expected a fast-path head for ${JSON.stringify(s)}: ${JSON.stringify(r)}`,
  );
  return r;
}

function rejected(s: string): string {
  const r = parseRequestHead(b(s));
  assert.ok(r !== undefined && isNotFast(r), `expected NotFast for ${JSON.stringify(s)}`);
  return r.notFast;
}

test('a plain GET parses with keep-alive by default on 1.1', () => {
  const h = fast('GET /a?b=1 HTTP/1.1\r\nHost: x:80\r\nX-A:  v w \r\n\r\nNEXT');
  assert.equal(h.method, 'GET');
  assert.equal(h.target, '/a?b=1');
  assert.equal(h.minor, 1);
  assert.deepEqual(h.rawHeaders, ['Host', 'x:80', 'X-A', 'v w']);
  assert.equal(h.headEnd, 'GET /a?b=1 HTTP/1.1\r\nHost: x:80\r\nX-A:  v w \r\n\r\n'.length);
  assert.deepEqual(h.framing, { kind: 'none' });
  assert.equal(h.keepAlive, true);
});

test('framing and keep-alive follow Content-Length, chunked, Connection and the version', () => {
  assert.deepEqual(fast('POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n').framing, {
    kind: 'length',
    length: 12,
  });
  assert.deepEqual(fast('POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n').framing, {
    kind: 'chunked',
  });
  assert.equal(fast('GET / HTTP/1.1\r\nConnection: close\r\n\r\n').keepAlive, false);
  assert.equal(fast('GET / HTTP/1.0\r\n\r\n').keepAlive, false);
  assert.equal(fast('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n').keepAlive, true);
  assert.equal(fast('GET http://svc:8080/p HTTP/1.1\r\n\r\n').target, 'http://svc:8080/p');
});

test('an incomplete head is undefined until it exceeds the size limit', () => {
  assert.equal(parseRequestHead(b('GET / HTTP/1.1\r\nHost: x\r\n')), undefined);
  const long = `GET / HTTP/1.1\r\nX: ${'a'.repeat(100)}`;
  assert.deepEqual(parseRequestHead(b(long), 0, 64), { notFast: 'head too large' });
  assert.deepEqual(parseRequestHead(b(`${long}\r\n\r\n`), 0, 64), { notFast: 'head too large' });
});

test('a head is parsed from an offset (pipelining)', () => {
  const two = b('GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n');
  const one = parseRequestHead(two) as RequestHead;
  const next = parseRequestHead(two, one.headEnd) as RequestHead;
  assert.equal(next.target, '/2');
  assert.equal(next.headEnd, two.length);
});

test('smuggling shapes and unusual requests are never fast-path', () => {
  const cases = [
    'POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n',
    'POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
    'POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n',
    'POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n',
    'POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n',
    'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n',
    'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n',
    'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\t\r\n\r\n',
    'GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n',
    'GET / HTTP/1.1\r\nX : a\r\n\r\n',
    'GET / HTTP/1.1\r\nX: a\nY: b\r\n\r\n',
    'GET / HTTP/1.1\r\nX: a\rb\r\n\r\n',
    'GET / HTTP/1.1\r\nX: \x00\r\n\r\n',
    'GET / HTTP/1.1\r\nX: caf\xe9\r\n\r\n',
    'GET / HTTP/1.1\r\nX(: a\r\n\r\n',
    'GET / HTTP/1.1\r\n: a\r\n\r\n',
    'GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n',
    'GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
    'CONNECT a:443 HTTP/1.1\r\n\r\n',
    'BREW / HTTP/1.1\r\n\r\n',
    'OPTIONS * HTTP/1.1\r\n\r\n',
    'GET / HTTP/2.0\r\n\r\n',
    'GET / HTTP/1.2\r\n\r\n',
    'GET /\r\n\r\n',
    'GET  / HTTP/1.1\r\n\r\n',
    'get / HTTP/1.1\r\n\r\n',
    'GET / HTTP/1.1 \r\n\r\n',
  ];
  for (const c of cases) rejected(c);
});

// --- property: agree with llhttp on valid requests, never accept malformed ones ---------------

let server: http.Server;
let port = 0;
/** Pending parses by the client socket's local port. */
const seen = new Map<number, (req: IncomingMessage) => void>();

before(async () => {
  server = http.createServer({ requireHostHeader: false }, (req, res) => {
    seen.get(req.socket.remotePort ?? 0)?.(req);
    req.resume();
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((r) => server.close(() => r())));

/** What Node's parser makes of `bytes`: its request, or undefined when it rejects them. */
function nodeParse(bytes: Buffer): Promise<IncomingMessage | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let done = false;
    const finish = (r: IncomingMessage | undefined) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(r);
    };
    socket.on('connect', () => {
      const key = socket.localPort ?? 0;
      seen.set(key, (req) => finish(req));
      socket.once('close', () => seen.delete(key));
      socket.end(bytes);
    });
    socket.on('data', (d) => {
      if (/^HTTP\/1\.1 4/.test(d.toString('latin1'))) finish(undefined);
    });
    socket.on('error', () => finish(undefined));
    socket.on('close', () => finish(undefined));
  });
}

const tokenChars = "abcXYZ09-_.!#$%&'*+^`|~";
const token = fc.string({ unit: fc.constantFrom(...tokenChars), minLength: 1, maxLength: 12 });
const value = fc.string({ unit: fc.constantFrom(...'abc XYZ09-_/;=,"()\t'), maxLength: 20 });
const safeName = token.filter(
  (n) =>
    !['content-length', 'transfer-encoding', 'connection', 'expect', 'upgrade'].includes(n.toLowerCase()),
);
const validRequest = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
  path: fc.string({ unit: fc.constantFrom(...'abz09/?=&%-._~'), maxLength: 20 }).map((p) => `/${p}`),
  minor: fc.constantFrom(0, 1),
  headers: fc.array(fc.tuple(safeName, value), { maxLength: 6 }),
});

test('property: valid generated requests parse exactly as llhttp parses them', async () => {
  await fc.assert(
    fc.asyncProperty(validRequest, async (r) => {
      const text = `${r.method} ${r.path} HTTP/1.${r.minor}\r\n${r.headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
      const mine = parseRequestHead(b(text));
      const node = await nodeParse(b(text));
      assert.ok(node !== undefined, 'node accepted it');
      assert.ok(mine !== undefined && !isNotFast(mine), JSON.stringify(mine));
      assert.equal(mine.method, node.method);
      assert.equal(mine.target, node.url);
      assert.equal(`1.${mine.minor}`, node.httpVersion);
      assert.deepEqual(mine.rawHeaders, node.rawHeaders);
    }),
    { numRuns: 60 },
  );
});

const nasty = fc.constantFrom(
  '\n',
  '\r',
  ' ',
  '\t',
  ':',
  '\x00',
  '\x7f',
  '\xff',
  'Content-Length: 5\r\n',
  'Transfer-Encoding: chunked\r\n',
  'Transfer-Encoding: xchunked\r\n',
  '\r\n ',
);

test('property: mutated requests llhttp rejects never come out as fast-path heads', async () => {
  await fc.assert(
    fc.asyncProperty(validRequest, fc.nat(), nasty, async (r, at, junk) => {
      const text = `${r.method} ${r.path} HTTP/1.${r.minor}\r\nContent-Length: 0\r\n${r.headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
      const cut = at % (text.length - 4);
      const bytes = b(text.slice(0, cut) + junk + text.slice(cut));
      const mine = parseRequestHead(bytes);
      const node = await nodeParse(bytes);
      if (node === undefined)
        assert.ok(
          mine === undefined || isNotFast(mine),
          `accepted ${JSON.stringify(bytes.toString('latin1'))}`,
        );
      else if (mine !== undefined && !isNotFast(mine)) {
        // Both accept: they must agree on what the request is.
        assert.equal(mine.method, node.method);
        assert.equal(mine.target, node.url);
        assert.deepEqual(mine.rawHeaders, node.rawHeaders);
      }
    }),
    { numRuns: 150 },
  );
});

test('a tab after the Content-Length digits is for Node (llhttp refuses it), a space is not', () => {
  const tab = parseRequestHead(b('GET /aa HTTP/1.0\r\nContent-Length: 0\t\r\naaaaaa: aa\r\n\r\n'));
  assert.ok(tab !== undefined && isNotFast(tab), JSON.stringify(tab));
  const space = parseRequestHead(b('GET /aa HTTP/1.1\r\nContent-Length: 0 \r\n\r\n'));
  assert.ok(space !== undefined && !isNotFast(space), JSON.stringify(space));
});
