/**
 * @module test/support/collector
 * A test trace collector on 127.0.0.1:0 that accepts both wire formats the sidecar exports:
 *   POST /v1/traces      OTLP/HTTP JSON (ExportTraceServiceRequest)
 *   POST /api/v2/spans   Zipkin v2 JSON (array of spans)
 * Every span is normalised to one shape (`CollectedSpan`) so tests assert on trees, not formats.
 * Bodies over 8 MiB get 413; malformed JSON 400. `failWith(status)` makes it answer errors
 * (unhealthy collector) until `failWith(undefined)`.
 */
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CollectedSpan {
  readonly format: 'otlp' | 'zipkin';
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly kind: 'client' | 'server' | 'other';
  /** The emitting service (OTLP resource `service.name`, Zipkin `localEndpoint.serviceName`). */
  readonly service: string;
  /** Attributes (OTLP) or tags (Zipkin), values as strings. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly startMicros: number;
  readonly durationMicros: number;
}

export interface TestCollector {
  readonly url: string;
  readonly spans: readonly CollectedSpan[];
  /** Export requests received (including failed ones). */
  readonly requests: number;
  failWith(status: number | undefined): void;
  /** Resolves once at least `n` spans arrived (rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<readonly CollectedSpan[]>;
  close(): Promise<void>;
}

const MAX_BODY = 8 * 1024 * 1024;

type OtlpValue = {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
};
type OtlpKv = { key: string; value: OtlpValue };

function otlpValue(v: OtlpValue): string {
  return String(v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue ?? '');
}

function fromOtlp(body: unknown): CollectedSpan[] {
  const out: CollectedSpan[] = [];
  const rs = (body as { resourceSpans?: unknown[] }).resourceSpans;
  if (!Array.isArray(rs)) throw new Error('resourceSpans missing');
  for (const r of rs as Array<{ resource?: { attributes?: OtlpKv[] }; scopeSpans?: unknown[] }>) {
    const service = otlpValue(r.resource?.attributes?.find((a) => a.key === 'service.name')?.value ?? {});
    for (const ss of (r.scopeSpans ?? []) as Array<{ spans?: unknown[] }>) {
      for (const s of (ss.spans ?? []) as Array<Record<string, unknown>>) {
        const attributes: Record<string, string> = {};
        for (const a of (s.attributes ?? []) as OtlpKv[]) attributes[a.key] = otlpValue(a.value);
        const start = BigInt(String(s.startTimeUnixNano));
        const end = BigInt(String(s.endTimeUnixNano));
        out.push({
          format: 'otlp',
          traceId: String(s.traceId),
          spanId: String(s.spanId),
          parentSpanId: s.parentSpanId ? String(s.parentSpanId) : undefined,
          name: String(s.name),
          kind: s.kind === 2 ? 'server' : s.kind === 3 ? 'client' : 'other',
          service,
          attributes,
          startMicros: Number(start / 1000n),
          durationMicros: Number((end - start) / 1000n),
        });
      }
    }
  }
  return out;
}

function fromZipkin(body: unknown): CollectedSpan[] {
  if (!Array.isArray(body)) throw new Error('expected an array of spans');
  return (body as Array<Record<string, unknown>>).map((s) => ({
    format: 'zipkin',
    traceId: String(s.traceId),
    spanId: String(s.id),
    parentSpanId: s.parentId ? String(s.parentId) : undefined,
    name: String(s.name),
    kind: s.kind === 'SERVER' ? 'server' : s.kind === 'CLIENT' ? 'client' : 'other',
    service: String((s.localEndpoint as { serviceName?: string } | undefined)?.serviceName ?? ''),
    attributes: (s.tags ?? {}) as Record<string, string>,
    startMicros: Number(s.timestamp),
    durationMicros: Number(s.duration),
  }));
}

export async function startCollector(): Promise<TestCollector> {
  const spans: CollectedSpan[] = [];
  let requests = 0;
  let failStatus: number | undefined;
  const waiters = new Set<() => void>();

  const server: Server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    requests++;
    const answer = (status: number, text = '') => {
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    const path = (req.url ?? '').split('?')[0];
    const parse = path === '/v1/traces' ? fromOtlp : path === '/api/v2/spans' ? fromZipkin : undefined;
    if (req.method !== 'POST' || parse === undefined) {
      req.resume();
      answer(404, '{"error":"POST /v1/traces or /api/v2/spans"}');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) tooBig = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      if (tooBig) return answer(413, '{"error":"too large"}');
      if (failStatus !== undefined) return answer(failStatus, '{"error":"told to fail"}');
      try {
        spans.push(...parse(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      } catch (err) {
        return answer(400, JSON.stringify({ error: (err as Error).message }));
      }
      for (const w of waiters) w();
      answer(path === '/api/v2/spans' ? 202 : 200, '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    get requests() {
      return requests;
    },
    failWith(status) {
      failStatus = status;
    },
    waitFor(n, timeoutMs = 5000) {
      if (spans.length >= n) return Promise.resolve(spans);
      return new Promise((resolve, reject) => {
        const check = () => {
          if (spans.length >= n) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(spans);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`collector got ${spans.length} spans, wanted ${n}`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
