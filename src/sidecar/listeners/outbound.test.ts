import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { ProxyAgent, request } from 'undici';
import {
  endpointOf,
  FakeDirectory,
  FakeRoundRobin,
  testSidecarConfig,
} from '../../../test/support/fake-directory.ts';
import { bodyOf, rawExchange, startUpstream, type TestUpstream } from '../../../test/support/upstream.ts';
import { createDataPlane, type DataPlane } from '../data-plane.ts';
import type { EdgeEngine } from './server.ts';

/** Which edge engine serves this run (the `*.fast.test.ts` twin sets 'fast'). */
const ENGINE: EdgeEngine = process.env.MESHER_TEST_EDGE_ENGINE === 'fast' ? 'fast' : 'node';
process.env.MESHER_LOG_LEVEL ??= 'silent';

let a: TestUpstream;
let b: TestUpstream;
let plane: DataPlane;
let proxyUrl: string;
let agent: ProxyAgent;
const directory = new FakeDirectory();
const balancers: FakeRoundRobin[] = [];

before(async () => {
  a = await startUpstream({ id: 'a' });
  b = await startUpstream({ id: 'b' });
  directory.set('server2', [endpointOf(a, 'a'), endpointOf(b, 'b')]);
  directory.set('empty', []);
  plane = createDataPlane({
    limits: { engine: ENGINE },
    config: testSidecarConfig(),
    directory,
    createBalancer: () => {
      const rr = new FakeRoundRobin();
      balancers.push(rr);
      return rr;
    },
  });
  const { outbound } = await plane.listen();
  proxyUrl = `http://127.0.0.1:${outbound.port}`;
  // proxyTunnel: false sends proxy-form requests (the default tunnels http:// through CONNECT).
  agent = new ProxyAgent({ uri: proxyUrl, proxyTunnel: false });
});

after(async () => {
  await agent.close();
  await plane.close();
  await a.close();
  await b.close();
});

async function echo(path: string, headers: Record<string, string | string[]> = {}) {
  const res = await request(`http://server2:8080${path}`, {
    dispatcher: agent,
    headers: { 'x-test-echo': '1', ...headers },
  });
  const body = (await res.body.json()) as { id: string; url: string; rawHeaders: string[]; body: string };
  const h = new Map<string, string[]>();
  for (let i = 0; i < body.rawHeaders.length; i += 2) {
    const k = body.rawHeaders[i]!.toLowerCase();
    h.set(k, [...(h.get(k) ?? []), body.rawHeaders[i + 1]!]);
  }
  return { res, body, h };
}

test('proxy-form requests reach an instance of the named service, round-robin', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await request('http://server2/hello', { dispatcher: agent });
    assert.equal(res.statusCode, 200);
    ids.push(await res.body.text());
  }
  assert.deepEqual(ids.sort(), ['a', 'a', 'b', 'b']);
  assert.equal(directory.lookups, 0, 'the hot path peeks the cache');
  const rr = balancers[0]!;
  assert.equal(rr.updates, 1, 'balancer fed once per revision');
  assert.ok(rr.finished.length >= 4, `${rr.finished.length} reports`);
  assert.ok(
    rr.finished.every((f) => f.ok && f.latencyMs >= 0),
    'every call reported ok with a latency',
  );
  assert.equal(rr.inFlight, 0);
});

test('path, query, Host and X-Forwarded-* are passed on; the URL port becomes X-Forwarded-Port', async () => {
  const { body, h } = await echo('/p/q?x=1&y=2');
  assert.equal(body.url, '/p/q?x=1&y=2');
  assert.deepEqual(h.get('host'), ['server2:8080']);
  assert.deepEqual(h.get('x-forwarded-port'), ['8080']);
  assert.deepEqual(h.get('x-forwarded-proto'), ['http']);
  assert.deepEqual(h.get('x-forwarded-host'), ['server2:8080']);
  assert.deepEqual(h.get('x-forwarded-for'), ['127.0.0.1']);
});

test('identity: x-cse-src-microservice is set and merged into x-cse-context', async () => {
  const { h } = await echo('/', {
    'x-cse-context': JSON.stringify({ traceId: 't1', 'x-cse-src-microservice': 'spoofed' }),
    'x-cse-src-microservice': 'spoofed',
  });
  assert.deepEqual(h.get('x-cse-src-microservice'), ['client']);
  assert.deepEqual(JSON.parse(h.get('x-cse-context')![0]!), {
    traceId: 't1',
    'x-cse-src-microservice': 'client',
  });
  const fresh = await echo('/');
  assert.deepEqual(JSON.parse(fresh.h.get('x-cse-context')![0]!), { 'x-cse-src-microservice': 'client' });
  const broken = await echo('/', { 'x-cse-context': '{nope' });
  assert.deepEqual(JSON.parse(broken.h.get('x-cse-context')![0]!), { 'x-cse-src-microservice': 'client' });
});

test('multi-valued headers survive; hop-by-hop headers are stripped', async () => {
  const { h } = await echo('/', {
    'x-multi': ['one', 'two'],
    'proxy-x-custom': 'hop',
    te: 'trailers',
    'x-forwarded-for': '10.0.0.1',
  });
  assert.deepEqual(h.get('x-multi'), ['one', 'two']);
  assert.equal(h.get('proxy-x-custom'), undefined);
  assert.equal(h.get('te'), undefined);
  assert.deepEqual(h.get('x-forwarded-for'), ['10.0.0.1, 127.0.0.1']);
  const res = await request('http://server2/', { dispatcher: agent });
  await res.body.dump();
  // Keep-Alive describes our own client connection (timeout=65), not the upstream's (timeout=5).
  assert.notEqual(res.headers['keep-alive'], 'timeout=5');
});

test('headers named by Connection are hop-by-hop too (raw socket, as clients send them)', async () => {
  const port = Number(new URL(proxyUrl).port);
  const text = await rawExchange(
    port,
    'GET http://server2/ HTTP/1.1\r\nHost: server2\r\nConnection: close, x-secret-hop\r\nX-Secret-Hop: drop me\r\n' +
      'Keep-Alive: timeout=5\r\nX-Test-Echo: 1\r\n\r\n',
  );
  assert.match(text, /^HTTP\/1\.1 200/);
  const body = JSON.parse(bodyOf(text)) as { rawHeaders: string[] };
  const names = body.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
  assert.ok(!names.includes('x-secret-hop'), 'header named by Connection is dropped');
  assert.ok(!names.includes('keep-alive'), 'Keep-Alive is dropped');
  assert.ok(names.includes('x-test-echo'), 'end-to-end headers stay');
});

test('response multi-valued headers (Set-Cookie) survive', async () => {
  const res = await request('http://server2/', { dispatcher: agent, headers: { 'x-test-cookies': '1' } });
  await res.body.dump();
  assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
});

test('curl with http_proxy set reaches the service (proxy-form), and origin-form with -H Host', async () => {
  const run = (args: string[], env: Record<string, string>) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('curl', ['-sS', '-i', '--max-time', '10', ...args], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      child.on('close', (code) => resolve({ code, out }));
    });
  const viaProxy = await run(['http://server2/hello'], { http_proxy: proxyUrl });
  assert.equal(viaProxy.code, 0, viaProxy.out);
  assert.match(viaProxy.out, /^HTTP\/1\.1 200/);
  assert.match(viaProxy.out, /x-upstream-id: [ab]/i);
  const originForm = await run([`${proxyUrl}/hello`, '-H', 'Host: server2'], {});
  assert.match(originForm.out, /^HTTP\/1\.1 200/);
  const unknown = await run(['http://nosuch/'], { http_proxy: proxyUrl });
  assert.match(unknown.out, /^HTTP\/1\.1 404/);
  assert.match(unknown.out, /x-mesher-error: SERVICE_NOT_FOUND/i);
});

test('origin-form with a Host header works on the same port', async () => {
  const res = await request(`${proxyUrl}/hello?z=1`, { headers: { host: 'server2', 'x-test-echo': '1' } });
  assert.equal(res.statusCode, 200);
  const body = (await res.body.json()) as { url: string };
  assert.equal(body.url, '/hello?z=1');
});

test('a request addressed to the proxy itself is 400 BAD_REQUEST', async () => {
  const res = await request(`${proxyUrl}/hello`);
  assert.equal(res.statusCode, 400);
  assert.equal(res.headers['x-mesher-error'], 'BAD_REQUEST');
  assert.equal(res.headers['content-type'], 'application/json');
  const body = (await res.body.json()) as { code: string; message: string };
  assert.equal(body.code, 'BAD_REQUEST');
  assert.match(body.message, /proxy itself/);
});

test('unknown service is 404 SERVICE_NOT_FOUND, no instance is 503 NO_ENDPOINTS', async () => {
  const r1 = await request('http://nosuch/x', { dispatcher: agent });
  assert.equal(r1.statusCode, 404);
  assert.equal(r1.headers['x-mesher-error'], 'SERVICE_NOT_FOUND');
  assert.deepEqual(await r1.body.json(), {
    code: 'SERVICE_NOT_FOUND',
    message: 'No service of that name is known to the registry',
    service: 'nosuch',
  });
  const r2 = await request('http://empty/x', { dispatcher: agent });
  assert.equal(r2.statusCode, 503);
  assert.equal(r2.headers['x-mesher-error'], 'NO_ENDPOINTS');
  assert.equal(((await r2.body.json()) as { service: string }).service, 'empty');
});

test('large bodies stream both ways', async () => {
  const size = 8 * 1024 * 1024 + 17;
  const chunk = Buffer.alloc(64 * 1024, 'y');
  const hash = createHash('sha256');
  let left = size;
  const up = Readable.from(
    (function* () {
      while (left > 0) {
        const c = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= c.length;
        hash.update(c);
        yield c;
      }
    })(),
  );
  const res = await request('http://server2/upload', {
    dispatcher: agent,
    method: 'POST',
    body: up,
    headers: { 'x-test-echo': 'digest' },
  });
  const body = (await res.body.json()) as { bytes: number; sha256: string };
  assert.equal(body.bytes, size);
  assert.equal(body.sha256, hash.digest('hex'));

  const down = await request('http://server2/download', {
    dispatcher: agent,
    headers: { 'x-test-body-bytes': String(size) },
  });
  let got = 0;
  for await (const c of down.body) got += (c as Buffer).length;
  assert.equal(got, size);
});
