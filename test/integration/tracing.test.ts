/**
 * One trace across the seed's chain, with every proxy emitting its own span:
 *
 *   test client → client's sidecar (outbound, CLIENT span)
 *               → server1's sidecar (inbound, SERVER span) → server1 app
 *   server1 app → server1's sidecar (outbound, CLIENT span)   [the app forwards the trace headers]
 *               → server2's sidecar (inbound, SERVER span) → server2 app
 *
 * Spans go to a local collector (test/support/collector.ts) over OTLP/HTTP JSON or Zipkin v2 JSON.
 * Sidecars are built with createDataPlane + extraSteps (startSidecar has no extraSteps hook yet).
 */
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { setLogLevel } from '../../src/shared/log.ts';
import { type CollectedSpan, startCollector, type TestCollector } from '../support/collector.ts';
import { endpointOf, FakeDirectory } from '../support/fake-directory.ts';
import { startTelemetrySidecar, type TelemetrySidecar } from '../support/telemetry-sidecar.ts';
import { startUpstream, type TestUpstream } from '../support/upstream.ts';

setLogLevel(process.env.MESHER_LOG_LEVEL ?? 'silent');

const TRACE_HEADERS = [
  'traceparent',
  'tracestate',
  'b3',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
];

type TestSidecar = TelemetrySidecar;

function startTracedSidecar(
  name: string,
  directory: FakeDirectory,
  flat: Record<string, unknown>,
  localAppPort?: number,
): Promise<TestSidecar> {
  return startTelemetrySidecar({ name, directory, flat, localAppPort, processMetrics: false });
}

/** GET through a sidecar's outbound listener (origin-form, Host names the service). */
function get(port: number, service: string, path: string, headers: Record<string, string>) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, headers: { ...headers, host: service } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** server1's app: forwards the trace headers it got (as instrumented apps do) on a call to server2. */
async function startServer1App(outboundPort: () => number): Promise<Server> {
  const server = http.createServer((req: IncomingMessage, res) => {
    req.resume();
    const fwd: Record<string, string> = { 'x-test-echo': '1' };
    for (const h of TRACE_HEADERS) {
      const v = req.headers[h];
      if (typeof v === 'string') fwd[h] = v;
    }
    get(outboundPort(), 'server2', '/data', fwd).then(
      (r) => {
        res.writeHead(r.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ server1Saw: req.headers, server2: JSON.parse(r.body) }));
      },
      () => {
        res.writeHead(502);
        res.end();
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

let collector: TestCollector;
let server2App: TestUpstream;
let server1App: Server;
const directory = new FakeDirectory();
const sidecars: TestSidecar[] = [];
let s1OutboundPort = 0;

before(async () => {
  collector = await startCollector();
  server2App = await startUpstream({ id: 'server2-app' });
  server1App = await startServer1App(() => s1OutboundPort);
});

after(async () => {
  for (const s of sidecars) {
    await s.plane.close();
    await s.telemetry.close();
  }
  await new Promise((r) => {
    server1App.closeAllConnections();
    server1App.close(r);
  });
  await server2App.close();
  await collector.close();
});

/** Start the three sidecars with `flat` telemetry keys; returns the client's outbound port. */
async function mesh(flat: Record<string, unknown>): Promise<number> {
  const s2 = await startTracedSidecar('server2', directory, flat, server2App.port);
  const s1 = await startTracedSidecar('server1', directory, flat, (server1App.address() as AddressInfo).port);
  const client = await startTracedSidecar('client', directory, flat);
  sidecars.push(s2, s1, client);
  directory.set('server1', [endpointOf(s1.inbound!, 's1', 'server1')]);
  directory.set('server2', [endpointOf(s2.inbound!, 's2', 'server2')]);
  s1OutboundPort = s1.outboundPort;
  return client.outboundPort;
}

function spansOf(traceId: string): CollectedSpan[] {
  return collector.spans.filter((s) => s.traceId === traceId);
}

/** Assert the four proxy spans form client → server1 → server2 under `parent`. */
function assertChain(spans: CollectedSpan[], parent: string | undefined): CollectedSpan[] {
  assert.equal(spans.length, 4, `four proxy spans: ${JSON.stringify(spans.map((s) => [s.service, s.kind]))}`);
  const find = (service: string, kind: string) => {
    const s = spans.find((x) => x.service === service && x.kind === kind);
    assert.ok(s, `${service} ${kind} span`);
    return s;
  };
  const a = find('client', 'client');
  const b = find('server1', 'server');
  const c = find('server1', 'client');
  const d = find('server2', 'server');
  assert.equal(a.parentSpanId, parent, 'the first proxy span is a child of the caller (or the root)');
  assert.equal(b.parentSpanId, a.spanId);
  assert.equal(c.parentSpanId, b.spanId, "server1's outbound span is a child of its inbound span");
  assert.equal(d.parentSpanId, c.spanId);
  assert.equal(new Set(spans.map((s) => s.spanId)).size, 4, 'span ids are distinct');
  for (const s of [a, c])
    assert.ok(s.durationMicros >= spans.find((x) => x.parentSpanId === s.spanId)!.durationMicros);
  return [a, b, c, d];
}

function server2Saw(body: string, name: string): string | undefined {
  const raw = (JSON.parse(body) as { server2: { rawHeaders: string[] } }).server2.rawHeaders;
  const i = raw.findIndex((h, j) => j % 2 === 0 && h.toLowerCase() === name);
  return i < 0 ? undefined : raw[i + 1];
}

test('W3C traceparent in, OTLP out: one trace, parent/child across all hops, attributes set', {
  timeout: 60_000,
}, async () => {
  const port = await mesh({
    'servicecomb.tracing.endpoint': collector.url,
    'servicecomb.tracing.batchInterval': '20ms',
  });
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const parent = 'b7ad6b7169203331';
  const res = await get(port, 'server1', '/hello?x=1', {
    traceparent: `00-${traceId}-${parent}-01`,
    tracestate: 'congo=t61rcWkgMzE',
  });
  assert.equal(res.status, 200);
  await collector.waitFor(4);
  await new Promise((r) => setTimeout(r, 50));
  const [a, b, c, d] = assertChain(spansOf(traceId), parent);
  assert.equal(a!.format, 'otlp');
  assert.equal(a!.name, 'GET server1');
  assert.equal(a!.attributes['url.path'], '/hello');
  assert.equal(a!.attributes['http.response.status_code'], '200');
  assert.equal(a!.attributes['peer.service'], 'server1');
  assert.equal(a!.attributes['mesher.attempt'], '1');
  assert.equal(b!.attributes['peer.service'], 'client');
  assert.equal(c!.attributes['peer.service'], 'server2');
  // server2's app sees server2's server span as its parent, tracestate passed along unchanged.
  assert.equal(server2Saw(res.body, 'traceparent'), `00-${traceId}-${d!.spanId}-01`);
  assert.equal(server2Saw(res.body, 'tracestate'), 'congo=t61rcWkgMzE');
  assert.equal(server2Saw(res.body, 'x-b3-traceid'), traceId, 'B3 multi is written too by default');
  assert.equal(server2Saw(res.body, 'x-b3-parentspanid'), c!.spanId);
});

test('B3 multi headers in, Zipkin out: the same tree, 64-bit trace id widened', {
  timeout: 60_000,
}, async () => {
  const port = await mesh({
    'servicecomb.tracing.endpoint': collector.url,
    'servicecomb.tracing.format': 'zipkin',
    'servicecomb.tracing.batchInterval': '20ms',
    'servicecomb.tracing.propagation': 'b3multi',
  });
  const before = collector.spans.length;
  const res = await get(port, 'server1', '/b3', {
    'X-B3-TraceId': '463ac35c9f6413ad',
    'X-B3-SpanId': 'a2fb4a1d1a96d312',
    'X-B3-Sampled': '1',
  });
  assert.equal(res.status, 200);
  await collector.waitFor(before + 4);
  await new Promise((r) => setTimeout(r, 50));
  const traceId = '0000000000000000463ac35c9f6413ad';
  const [a, , , d] = assertChain(spansOf(traceId), 'a2fb4a1d1a96d312');
  assert.equal(a!.format, 'zipkin');
  assert.equal(a!.attributes['http.status_code'], '200');
  assert.equal(server2Saw(res.body, 'x-b3-spanid'), d!.spanId);
  assert.equal(server2Saw(res.body, 'traceparent'), undefined, 'only the configured format is written');
});

test('B3 single header in: answered in b3 as well; no trace header at all: the first sidecar starts the trace', {
  timeout: 60_000,
}, async () => {
  const port = await mesh({
    'servicecomb.tracing.endpoint': collector.url,
    'servicecomb.tracing.batchInterval': '20ms',
  });
  let before = collector.spans.length;
  const traceId = '80f198ee56343ba864fe8b2a57d3eff7';
  const res = await get(port, 'server1', '/single', { b3: `${traceId}-e457b5a2e4d86bd1-1` });
  assert.equal(res.status, 200);
  await collector.waitFor(before + 4);
  await new Promise((r) => setTimeout(r, 50));
  const [, , , d] = assertChain(spansOf(traceId), 'e457b5a2e4d86bd1');
  assert.match(server2Saw(res.body, 'b3') ?? '', new RegExp(`^${traceId}-${d!.spanId}-1-`));

  before = collector.spans.length;
  const root = await get(port, 'server1', '/root', {});
  assert.equal(root.status, 200);
  await collector.waitFor(before + 4);
  await new Promise((r) => setTimeout(r, 50));
  const fresh = collector.spans.slice(before);
  const ids = new Set(fresh.map((s) => s.traceId));
  assert.equal(ids.size, 1, 'one trace');
  assertChain(fresh, undefined);
});

test('an unreachable collector costs a counter, never a request', { timeout: 60_000 }, async () => {
  const dead = await startCollector();
  const url = dead.url;
  await dead.close();
  const port = await mesh({
    'servicecomb.tracing.endpoint': url,
    'servicecomb.tracing.batchInterval': '20ms',
  });
  for (let i = 0; i < 5; i++) assert.equal((await get(port, 'server1', '/x', {})).status, 200);
  const client = sidecars[sidecars.length - 1]!;
  await client.telemetry.flush();
  // The failed export is counted when its connect error arrives: poll (bounded) instead of a fixed
  // 100 ms sleep that a busy machine can outlast.
  let text = '';
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    text = await client.telemetry.metricsText();
    if (/mesher_trace_export_failures_total [1-9]/.test(text)) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.match(text, /mesher_trace_export_failures_total [1-9]/);
  assert.match(text, /mesher_trace_spans_dropped_total\{reason="export_failed"\} [1-9]/);
});
