/**
 * @module bench/telemetry/span-cost
 * Micro-benchmark behind the "hand-written tracer or OpenTelemetry SDK" decision
 * (docs/observability.md): nanoseconds per proxy span for extract parent → start span → inject
 * headers → end → enqueue for export, at 100% and 1% sampling, and the encode cost per exported span.
 *
 *   node --import tsx bench/telemetry/span-cost.ts
 *   MESHER_OTEL_DIR=/tmp/otel-bench node --import tsx bench/telemetry/span-cost.ts
 *
 * The OpenTelemetry half runs only when MESHER_OTEL_DIR names a directory where
 * `@opentelemetry/{api,core,sdk-trace-base,propagator-b3,otlp-transformer}` are installed (they are
 * not project dependencies).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { systemClock } from '../../src/shared/clock.ts';
import type { CallContext } from '../../src/sidecar/chain/types.ts';
import { BatchExporter } from '../../src/sidecar/telemetry/exporter.ts';
import { createRandomIds } from '../../src/sidecar/telemetry/ids.ts';
import { encodeOtlp } from '../../src/sidecar/telemetry/otlp-json.ts';
import { FinishedSpan } from '../../src/sidecar/telemetry/span.ts';
import { Tracer, type TraceSlot } from '../../src/sidecar/telemetry/tracer.ts';

const N = Number(process.env.N ?? 300_000);
const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/**
 * Time `fn` over N calls in chunks of 1000, yielding to the event loop between chunks so each
 * implementation's exporter drains its queue as it would in a server; only the calls are timed.
 */
async function time(label: string, fn: (i: number) => void): Promise<number> {
  const yieldNow = () => new Promise((r) => setImmediate(r));
  for (let i = 0; i < 20_000; i++) {
    fn(i); // warm up
    if (i % 1000 === 999) await yieldNow();
  }
  let total = 0n;
  for (let c = 0; c < N; c += 1000) {
    const t0 = process.hrtime.bigint();
    for (let i = c; i < c + 1000; i++) fn(i);
    total += process.hrtime.bigint() - t0;
    await yieldNow();
  }
  const ns = Number(total) / N;
  console.log(`${label.padEnd(58)} ${ns.toFixed(0).padStart(6)} ns/span`);
  return ns;
}

function headers(i: number): string[] {
  // Half the calls arrive with a parent, half start a trace (unsampled parents at 1% are "01" here
  // only for the first half; the root decisions use the sampling rate).
  return i & 1
    ? ['host', 'server1', 'accept', '*/*', 'traceparent', PARENT]
    : ['host', 'server1', 'accept', '*/*', 'user-agent', 'bench'];
}

async function mesher(rate: number): Promise<void> {
  const exporter = new BatchExporter({
    clock: systemClock,
    encode: () => Buffer.alloc(0),
    send: async () => {},
    maxQueue: 4096,
    maxBatch: 512,
    intervalMs: 5,
  });
  const tracer = new Tracer({
    samplingRate: rate,
    propagation: ['w3c', 'b3multi'],
    ids: createRandomIds(),
    random: Math.random,
    exporter,
  });
  const slot: TraceSlot = { traceId: undefined, spanId: undefined, parentSpanId: undefined, sampled: false };
  const call = { headers: [] as string[] } as unknown as CallContext;
  await time(`mesher tracer, sampling ${rate * 100}%`, (i) => {
    call.headers = headers(i);
    tracer.begin(call, slot);
    // At 1% a parent with flag 01 still forces sampling; count only real root decisions.
    if (slot.sampled && (rate === 1 || (i & 1) === 0)) {
      tracer.end(
        new FinishedSpan(
          slot.traceId!,
          slot.spanId!,
          slot.parentSpanId,
          'client',
          1,
          0.5,
          'GET',
          '/hello',
          200,
          undefined,
          'server1',
          '127.0.0.1:8080',
          1,
        ),
      );
    }
  });
  await exporter.close();
  const spans = Array.from(
    { length: 512 },
    (_, i) =>
      new FinishedSpan(
        '0af7651916cd43dd8448eb211c80319c',
        i.toString(16).padStart(16, '0'),
        'b7ad6b7169203331',
        'client',
        1_700_000_000_000,
        1.5,
        'GET',
        '/hello',
        200,
        undefined,
        'server1',
        '127.0.0.1:8080',
        1,
      ),
  );
  const batches = Math.max(1, Math.floor(N / 512 / 10));
  const t0 = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) encodeOtlp(spans, { serviceName: 'client', serviceVersion: '1.0.0' });
  console.log(
    `${'mesher OTLP/JSON encode (batch of 512)'.padEnd(58)} ${(Number(process.hrtime.bigint() - t0) / batches / 512).toFixed(0).padStart(6)} ns/span`,
  );
}

// biome-ignore lint/suspicious/noExplicitAny: optional packages outside the project, untyped here
type Any = any;

async function otel(dir: string, rate: number): Promise<void> {
  const req = createRequire(join(dir, 'noop.js'));
  const api: Any = req('@opentelemetry/api');
  const core: Any = req('@opentelemetry/core');
  const sdk: Any = req('@opentelemetry/sdk-trace-base');
  const b3: Any = req('@opentelemetry/propagator-b3');
  const transformer: Any = req('@opentelemetry/otlp-transformer');
  let exported = 0;
  const exporter = {
    export: (spans: unknown[], done: (r: { code: number }) => void) => {
      exported += spans.length;
      done({ code: 0 });
    },
    shutdown: async () => {},
  };
  const processor = new sdk.BatchSpanProcessor(exporter, {
    maxQueueSize: 4096,
    maxExportBatchSize: 512,
    scheduledDelayMillis: 5,
  });
  const provider = new sdk.BasicTracerProvider({
    sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(rate) }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('mesher');
  const propagator = new core.CompositePropagator({
    propagators: [
      new core.W3CTraceContextPropagator(),
      new b3.B3Propagator({ injectEncoding: b3.B3InjectEncoding.MULTI_HEADER }),
    ],
  });
  const getter = {
    keys: (c: Record<string, string>) => Object.keys(c),
    get: (c: Record<string, string>, k: string) => c[k],
  };
  const setter = {
    set: (c: Record<string, string>, k: string, v: string) => {
      c[k] = v;
    },
  };
  const attrs = { 'http.request.method': 'GET', 'url.path': '/hello', 'peer.service': 'server1' };
  const ns = await time(`OpenTelemetry SDK (BatchSpanProcessor), sampling ${rate * 100}%`, (i) => {
    const carrier: Record<string, string> =
      i & 1 ? { host: 'server1', accept: '*/*', traceparent: PARENT } : { host: 'server1', accept: '*/*' };
    const parent = propagator.extract(api.ROOT_CONTEXT, carrier, getter);
    const span = tracer.startSpan('GET server1', { kind: api.SpanKind.CLIENT, attributes: attrs }, parent);
    const out: Record<string, string> = {};
    propagator.inject(api.trace.setSpan(parent, span), out, setter);
    span.setAttribute('http.response.status_code', 200);
    span.end();
  });
  await processor.forceFlush();
  void ns;
  // Encode cost of the official OTLP/JSON serializer for the same kind of spans.
  const spans: unknown[] = [];
  const collecting = {
    export: (s: unknown[], done: (r: { code: number }) => void) => {
      spans.push(...s);
      done({ code: 0 });
    },
    shutdown: async () => {},
  };
  const p2 = new sdk.BasicTracerProvider({ spanProcessors: [new sdk.SimpleSpanProcessor(collecting)] });
  const t2 = p2.getTracer('mesher');
  for (let i = 0; i < 512; i++) {
    const s = t2.startSpan('GET server1', { kind: api.SpanKind.CLIENT, attributes: attrs });
    s.setAttribute('http.response.status_code', 200);
    s.end();
  }
  const batches = Math.max(1, Math.floor(N / 512 / 10));
  const t0 = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) transformer.JsonTraceSerializer.serializeRequest(spans);
  console.log(
    `${'OpenTelemetry JsonTraceSerializer (batch of 512)'.padEnd(58)} ${(Number(process.hrtime.bigint() - t0) / batches / 512).toFixed(0).padStart(6)} ns/span`,
  );
  await provider.shutdown();
  await p2.shutdown();
  if (exported === 0) console.log('(warning: the OpenTelemetry exporter saw no spans)');
}

for (const rate of [1, 0.01]) await mesher(rate);
const dir = process.env.MESHER_OTEL_DIR;
if (dir) for (const rate of [1, 0.01]) await otel(dir, rate);
else console.log('(set MESHER_OTEL_DIR to compare with the OpenTelemetry SDK)');
