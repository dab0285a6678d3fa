import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { test } from 'node:test';
import { testSidecarConfig } from '../../../test/support/fake-directory.ts';
import { ManualClock } from '../../shared/clock.ts';
import { MeshError } from '../../shared/errors.ts';
import type { CallContext, Outcome } from '../chain/types.ts';
import { createSequentialIds } from '../telemetry/ids.ts';
import { createTelemetry } from '../telemetry/telemetry.ts';
import { CALL_CHANNEL, contentLength, type ObservedCall } from './observe.ts';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';

function makeCall(over: Partial<CallContext> = {}): CallContext {
  return {
    direction: 'outbound',
    kind: 'request',
    method: 'GET',
    service: 'server1',
    app: undefined,
    path: '/hello?q=1',
    headers: ['accept', '*/*', 'traceparent', `00-${T}-00f067aa0ba902b7-01`],
    body: null,
    hasBody: false,
    source: { service: 'client', address: undefined },
    requestedPort: undefined,
    target: undefined,
    endpoint: undefined,
    exclude: undefined,
    attempt: 1,
    timings: { startMs: performance.now() },
    signal: new AbortController().signal as unknown as CallContext['signal'],
    head: undefined,
    ...over,
  };
}

function setup(flat: Record<string, unknown> = {}) {
  const sent: unknown[] = [];
  const lines: Record<string, unknown>[] = [];
  const config = testSidecarConfig({
    flat: { 'tracing.enabled': true, 'servicecomb.accessLog.enabled': true, ...flat },
  });
  const telemetry = createTelemetry({
    config,
    clock: new ManualClock(),
    ids: createSequentialIds(),
    processMetrics: false,
    sender: async (body) =>
      void sent.push(...JSON.parse(body.toString()).resourceSpans[0].scopeSpans[0].spans),
    accessLogDestination: { write: (s: string) => void lines.push(JSON.parse(s)) },
  });
  const [observe] = telemetry.steps(config).outbound;
  return { telemetry, observe: observe!, sent, lines };
}

test('contentLength reads the header in any case, -1 when absent or bad', () => {
  assert.equal(contentLength(['Content-Length', '12']), 12);
  assert.equal(contentLength(['x', 'y', 'content-length', '0']), 0);
  assert.equal(contentLength(['content-length', 'abc']), -1);
  assert.equal(contentLength(['content-type', 'a']), -1);
});

test('a streamed response is recorded when its body ends, with counted bytes, span and log line', async () => {
  const { telemetry, observe, sent, lines } = setup();
  const call = makeCall();
  const body = Readable.from([Buffer.alloc(300), Buffer.alloc(200)]);
  const outcome = await observe(call, async (c) => {
    c.target = { key: 'i1@127.0.0.1:9', host: '127.0.0.1', port: 9 };
    return { status: 200, headers: [], body } satisfies Outcome;
  });
  assert.notEqual(outcome.body, body, 'a body without length is wrapped in a counter');
  assert.match(
    await telemetry.metricsText(),
    /mesher_requests_in_flight\{direction="outbound",destination_service="server1"\} 1/,
  );
  (outcome.body as Readable).resume();
  await finished(outcome.body as Readable);
  await new Promise((r) => setImmediate(r));
  const text = await telemetry.metricsText();
  assert.match(
    text,
    /mesher_requests_total\{direction="outbound",source_service="client",destination_service="server1",destination_version="",status_class="2xx",error_code=""\} 1/,
  );
  assert.match(text, /mesher_response_size_bytes_sum\{[^}]*\} 500/);
  assert.match(text, /mesher_requests_in_flight\{direction="outbound",destination_service="server1"\} 0/);
  // The outgoing traceparent names our span as the parent of the next hop.
  assert.equal(call.headers[call.headers.indexOf('traceparent') + 1], `00-${T}-0000000000000001-01`);
  await telemetry.flush();
  assert.equal(sent.length, 1);
  const span = sent[0] as { traceId: string; spanId: string; parentSpanId: string; kind: number };
  assert.deepEqual(
    [span.traceId, span.spanId, span.parentSpanId, span.kind],
    [T, '0000000000000001', '00f067aa0ba902b7', 3],
  );
  assert.equal(lines.length, 1);
  assert.deepEqual(
    { ...lines[0], time: undefined, durationMs: undefined },
    {
      log: 'access',
      time: undefined,
      durationMs: undefined,
      direction: 'outbound',
      source: 'client',
      destination: 'server1',
      endpoint: 'i1@127.0.0.1:9',
      method: 'GET',
      path: '/hello?q=1',
      status: 200,
      bytesIn: 0,
      bytesOut: 500,
      attempt: 1,
      traceId: T,
      spanId: '0000000000000001',
    },
  );
  await telemetry.close();
});

test('a thrown MeshError is rethrown unchanged and recorded with its code, in recent errors too', async () => {
  const { telemetry, observe, lines } = setup();
  const err = new MeshError('NO_ENDPOINTS', { service: 'server1' });
  await assert.rejects(
    observe(makeCall(), async () => {
      throw err;
    }),
    (e) => e === err,
  );
  const text = await telemetry.metricsText();
  assert.match(text, /mesher_requests_total\{[^}]*status_class="5xx",error_code="NO_ENDPOINTS"\} 1/);
  const recent = telemetry.recentErrors();
  assert.equal(recent.length, 1);
  assert.equal(recent[0]!.code, 'NO_ENDPOINTS');
  assert.equal(recent[0]!.traceId, T);
  assert.equal(lines[0]!.errorCode, 'NO_ENDPOINTS');
  await telemetry.close();
});

test('proxy-made outcomes (rescue) and upstream 5xx are errors; a length-delimited body is not wrapped', async () => {
  const { telemetry, observe } = setup({ 'servicecomb.accessLog.enabled': false });
  const buf = Buffer.from('{"code":"CIRCUIT_OPEN"}');
  await observe(makeCall(), async () => ({ status: 503, headers: [], body: buf, errorCode: 'CIRCUIT_OPEN' }));
  const body = Readable.from([Buffer.from('oops')]);
  const out = await observe(makeCall(), async () => ({
    status: 502,
    headers: ['Content-Length', '4'],
    body,
  }));
  assert.equal(out.body, body);
  body.resume();
  await finished(body);
  await new Promise((r) => setImmediate(r));
  const codes = telemetry.recentErrors().map((e) => e.code);
  assert.deepEqual(codes, ['HTTP_502', 'CIRCUIT_OPEN']);
  const text = await telemetry.metricsText();
  assert.match(text, /error_code="CIRCUIT_OPEN"\} 1/);
  assert.match(text, /mesher_response_size_bytes_sum\{[^}]*status_class="5xx",error_code=""\} 4/);
  await telemetry.close();
});

test('an unsampled trace is still propagated (flag 00) and nothing is exported', async () => {
  const { telemetry, observe, sent } = setup({ 'tracing.samplingRate': 0 });
  const call = makeCall({ headers: [] });
  await observe(call, async () => ({ status: 204, headers: [], body: null }));
  const tp = call.headers[call.headers.indexOf('traceparent') + 1]!;
  assert.match(tp, /^00-[0-9a-f]{32}-0000000000000001-00$/);
  assert.equal(call.headers[call.headers.indexOf('x-b3-sampled') + 1], '0');
  await telemetry.flush();
  assert.equal(sent.length, 0);
  await telemetry.close();
});

test('tracing disabled leaves the headers untouched', async () => {
  const { telemetry, observe } = setup({ 'tracing.enabled': false });
  const headers = ['accept', '*/*', 'traceparent', `00-${T}-00f067aa0ba902b7-01`];
  const call = makeCall({ headers: [...headers] });
  await observe(call, async () => ({ status: 200, headers: [], body: null }));
  assert.deepEqual(call.headers, headers);
  await telemetry.close();
});

test('the recent-errors handler lists newest first, bounded by ?limit, and rejects a bad limit', async () => {
  const { telemetry, observe } = setup({ 'servicecomb.accessLog.enabled': false });
  for (const code of ['NO_ENDPOINTS', 'CIRCUIT_OPEN', 'UPSTREAM_TIMEOUT'] as const) {
    await observe(makeCall(), async () => {
      throw new MeshError(code);
    }).catch(() => {});
  }
  const q = (s: string) => ({ method: 'GET', path: '/v1/mesher/errors', query: new URLSearchParams(s) });
  const all = await telemetry.recentErrorsHandler(q(''));
  const body = all.body as { total: number; errors: Array<{ code: string; time: string }> };
  assert.equal(body.total, 3);
  assert.deepEqual(
    body.errors.map((e) => e.code),
    ['UPSTREAM_TIMEOUT', 'CIRCUIT_OPEN', 'NO_ENDPOINTS'],
  );
  assert.match(body.errors[0]!.time, /^\d{4}-\d\d-\d\dT/);
  const one = (await telemetry.recentErrorsHandler(q('limit=1'))).body as { errors: unknown[] };
  assert.equal(one.errors.length, 1);
  assert.equal((await telemetry.recentErrorsHandler(q('limit=0'))).status, 400);
  await telemetry.close();
});

test('finished calls are published on the mesher:sidecar:call diagnostics channel', async () => {
  const { telemetry, observe } = setup({ 'servicecomb.accessLog.enabled': false });
  const seen: ObservedCall[] = [];
  const onMessage = (m: unknown) => seen.push(m as ObservedCall);
  subscribe(CALL_CHANNEL, onMessage);
  try {
    await observe(makeCall(), async () => ({ status: 201, headers: [], body: null }));
  } finally {
    unsubscribe(CALL_CHANNEL, onMessage);
  }
  assert.equal(seen.length, 1);
  assert.deepEqual(
    { ...seen[0], durationMs: 0 },
    {
      direction: 'outbound',
      source: 'client',
      destination: 'server1',
      endpoint: '',
      status: 201,
      errorCode: '',
      durationMs: 0,
      traceId: T,
    },
  );
  await telemetry.close();
});
