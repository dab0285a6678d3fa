/**
 * What the application sends is what the provider receives, through the whole data plane, for
 * random requests: a real registry, a provider app behind its own sidecar (two hops) and the same
 * app registered SDK-style (one hop), a consumer sidecar, and proxy-form requests written as raw
 * bytes so the framing is chosen by the test. For any method, path, query, end-to-end headers
 * (repeated names, mixed case, odd values), hop-by-hop headers (named in Connection or standard),
 * and a body sent with Content-Length or chunked, the app must see the same method, origin-form
 * URL, every end-to-end header with its value in order, no hop-by-hop header, and the same body.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { type RegistryServer, startRegistry } from '../../src/registry/main.ts';
import { setLogLevel } from '../../src/shared/log.ts';
import type { Sidecar } from '../../src/sidecar/main.ts';
import { framedBody } from '../support/h1-wire.ts';
import { registerProvider, startTestSidecar } from '../support/mesh.ts';
import { bodyOf, startUpstream, type TestUpstream } from '../support/upstream.ts';

setLogLevel(process.env.MESHER_LOG_LEVEL ?? 'silent');

let registry: RegistryServer;
let app: TestUpstream;
let provider: Sidecar;
let consumer: Sidecar;

before(async () => {
  registry = await startRegistry({ port: 0, dataDir: null });
  app = await startUpstream({ id: 'fwd' });
  await registerProvider(registry.url, { name: 'fwd1', endpoint: `rest://127.0.0.1:${app.port}` });
  provider = await startTestSidecar({
    name: 'fwd2',
    registryUrl: registry.url,
    listenIp: '127.0.0.2',
    appPort: app.port,
  });
  await provider.registration.whenRegistered();
  consumer = await startTestSidecar({ name: 'fwdclient', registryUrl: registry.url });
});

after(async () => {
  await consumer?.close();
  await provider?.close();
  await app?.close();
  await registry?.close();
});

/** One request on its own connection to the consumer's outbound proxy; the whole answer text. */
function send(wire: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(consumer.addresses.outbound.port, '127.0.0.1');
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no complete answer within 10 s to ${JSON.stringify(wire.slice(0, 200))}`));
    }, 10_000);
    s.on('data', (d: Buffer) => got.push(d));
    s.on('error', reject);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got).toString('latin1'));
    });
    s.write(wire);
  });
}

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,11}$/);
const endToEnd = fc.record({
  name: token.map((t) => `x-e-${t}`),
  value: fc.stringMatching(/^[!-~]([ -~]{0,38}[!-~])?$/),
});
const request = fc.record({
  service: fc.constantFrom('fwd1', 'fwd2'),
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
  path: fc.array(fc.stringMatching(/^[A-Za-z0-9._~-]{1,8}$/), { maxLength: 3 }).map((p) => `/${p.join('/')}`),
  query: fc.option(fc.stringMatching(/^[A-Za-z0-9=&%._-]{1,20}$/), { nil: undefined }),
  headers: fc.array(endToEnd, { maxLength: 6 }),
  // A header the request names in Connection, plus the standard hop-by-hop ones: all dropped.
  hop: fc.option(
    token.map((t) => `x-h-${t}`),
    { nil: undefined },
  ),
  body: fc.option(fc.stringMatching(/^[ -~]{0,3000}$/), { nil: undefined }),
  chunked: fc.boolean(),
  chunkSize: fc.integer({ min: 1, max: 1500 }),
});
type Req = typeof request extends fc.Arbitrary<infer T> ? T : never;

function wireOf(r: Req): string {
  const target = `${r.path}${r.query === undefined ? '' : `?${r.query}`}`;
  let head = `${r.method} http://${r.service}${target} HTTP/1.1\r\nHost: ${r.service}\r\nx-test-echo: 1\r\n`;
  for (const h of r.headers) head += `${h.name}: ${h.value}\r\n`;
  head += `Connection: close${r.hop === undefined ? '' : `, ${r.hop}`}\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n`;
  if (r.hop !== undefined) head += `${r.hop}: secret\r\n`;
  return head + (r.body === undefined ? '\r\n' : framedBody(r.body, r.chunked, r.chunkSize));
}

test('property: method, URL, end-to-end headers and body reach the app unchanged, hop-by-hop never', {
  timeout: 110_000,
}, async () => {
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      const text = await send(wireOf(r));
      assert.match(text, /^HTTP\/1\.1 200 /, text.slice(0, 300));
      const echo = JSON.parse(bodyOf(text)) as {
        method: string;
        url: string;
        rawHeaders: string[];
        body: string;
      };
      assert.equal(echo.method, r.method);
      assert.equal(echo.url, `${r.path}${r.query === undefined ? '' : `?${r.query}`}`);
      const received: Array<[string, string]> = [];
      const hopByHop: string[] = [];
      for (let i = 0; i < echo.rawHeaders.length; i += 2) {
        const name = echo.rawHeaders[i]!;
        const lower = name.toLowerCase();
        if (lower.startsWith('x-e-')) received.push([name, echo.rawHeaders[i + 1]!]);
        if (lower.startsWith('x-h-') || lower === 'keep-alive' || lower === 'te') hopByHop.push(name);
      }
      assert.deepEqual(
        received,
        r.headers.map((h) => [h.name, h.value]),
        'end-to-end headers, in order',
      );
      assert.deepEqual(hopByHop, [], 'no hop-by-hop header reaches the app');
      assert.equal(echo.body, r.body ?? '');
    }),
    { numRuns: 300 },
  );
});
