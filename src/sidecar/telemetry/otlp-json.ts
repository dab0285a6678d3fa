/**
 * @module sidecar/telemetry/otlp-json
 * Encodes a batch of spans as OTLP/HTTP JSON (`POST /v1/traces`, `ExportTraceServiceRequest`,
 * https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): ids as hex strings, enums as
 * integers, 64-bit nanosecond times as decimal strings. Runs off the request path, once per batch.
 */
import { type FinishedSpan, isError, pathOnly, spanName } from './span.ts';

export const OTLP_CONTENT_TYPE = 'application/json';

/** Who emitted the spans: becomes the OTLP resource. */
export interface ResourceInfo {
  readonly serviceName: string;
  readonly serviceVersion: string;
  readonly instanceId?: string;
}

type AnyValue = { stringValue: string } | { intValue: string } | { boolValue: boolean };
type KeyValue = { key: string; value: AnyValue };

const str = (key: string, v: string): KeyValue => ({ key, value: { stringValue: v } });
const int = (key: string, v: number): KeyValue => ({ key, value: { intValue: String(v) } });

/** Epoch ms (fractional) → nanoseconds as a decimal string, exact to the microsecond. */
export function msToNanos(ms: number): string {
  const micros = BigInt(Math.round(ms * 1000));
  return (micros * 1000n).toString();
}

function attributes(s: FinishedSpan): KeyValue[] {
  const a: KeyValue[] = [
    str('http.request.method', s.method),
    str('url.path', pathOnly(s.path)),
    int('mesher.attempt', s.attempt),
  ];
  if (s.status > 0) a.push(int('http.response.status_code', s.status));
  if (s.peerService !== undefined) a.push(str('peer.service', s.peerService));
  if (s.peerAddress !== undefined)
    a.push(str(s.kind === 'client' ? 'server.address' : 'client.address', s.peerAddress));
  if (s.errorCode !== undefined) a.push(str('mesher.error_code', s.errorCode));
  return a;
}

export function encodeOtlp(spans: readonly FinishedSpan[], resource: ResourceInfo): Buffer {
  const resAttrs: KeyValue[] = [
    str('service.name', resource.serviceName),
    str('service.version', resource.serviceVersion),
    str('telemetry.sdk.name', 'mesher'),
  ];
  if (resource.instanceId !== undefined) resAttrs.push(str('service.instance.id', resource.instanceId));
  const out = spans.map((s) => {
    const error = isError(s);
    return {
      traceId: s.traceId,
      spanId: s.spanId,
      ...(s.parentSpanId === undefined ? {} : { parentSpanId: s.parentSpanId }),
      name: spanName(s, resource.serviceName),
      // SpanKind: 2 = SERVER, 3 = CLIENT.
      kind: s.kind === 'server' ? 2 : 3,
      startTimeUnixNano: msToNanos(s.startMs),
      endTimeUnixNano: msToNanos(s.startMs + s.durationMs),
      attributes: attributes(s),
      // Status code: 0 = UNSET, 2 = ERROR.
      status: error ? { code: 2, message: s.errorCode ?? `HTTP ${s.status}` } : { code: 0 },
    };
  });
  return Buffer.from(
    JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: resAttrs },
          scopeSpans: [{ scope: { name: 'mesher.sidecar' }, spans: out }],
        },
      ],
    }),
  );
}
