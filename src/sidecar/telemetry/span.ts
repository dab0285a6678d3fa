/**
 * @module sidecar/telemetry/span
 * One finished proxy span, as plain fields (one hidden class, no attribute maps on the hot path).
 * The observe step fills it when a sampled call ends; the exporter queues it; the encoders
 * (./otlp-json.ts, ./zipkin-json.ts) turn a batch into a collector's wire format off the request path.
 */

export type SpanKind = 'client' | 'server';

export class FinishedSpan {
  constructor(
    readonly traceId: string,
    readonly spanId: string,
    /** Undefined for a root span. */
    readonly parentSpanId: string | undefined,
    /** `client` on the outbound side (we call a peer), `server` on the inbound side. */
    readonly kind: SpanKind,
    /** Wall-clock start in epoch milliseconds (fractional: sub-ms precision). */
    readonly startMs: number,
    readonly durationMs: number,
    readonly method: string,
    /** Path without the query string (queries may carry secrets and are unbounded). */
    readonly path: string,
    /** Response status (0 when no response was produced). */
    readonly status: number,
    /** The proxy's MeshError code when the proxy answered itself, else undefined. */
    readonly errorCode: string | undefined,
    /** The other side's service: destination (client span) or caller (server span). */
    readonly peerService: string | undefined,
    /** The endpoint we sent to (`host:port`) or the caller's address. */
    readonly peerAddress: string | undefined,
    /** How many attempts the call took (retry steps increment CallContext.attempt). */
    readonly attempt: number,
  ) {}
}

/** `GET /a?b` → `/a`. */
export function pathOnly(path: string): string {
  const q = path.indexOf('?');
  return q < 0 ? path : path.slice(0, q);
}

/** Span name: `<METHOD> <service>` (bounded: never the path, which is unbounded). */
export function spanName(span: FinishedSpan, localService: string): string {
  return `${span.method} ${span.kind === 'client' ? (span.peerService ?? '') : localService}`;
}

/** Whether the span describes a failure: a proxy error, or a 5xx (server) / 4xx-5xx (client). */
export function isError(span: FinishedSpan): boolean {
  if (span.errorCode !== undefined) return true;
  if (span.status === 0) return true;
  return span.kind === 'server' ? span.status >= 500 : span.status >= 400;
}
