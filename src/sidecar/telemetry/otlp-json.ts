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

type KeyValue = { key: string; value: { stringValue: string } };

const str = (key: string, v: string): KeyValue => ({ key, value: { stringValue: v } });

/**
 * Epoch ms (fractional) → nanoseconds as a decimal string, exact to the microsecond. Epoch
 * microseconds (~1.7e15) are exact in a double, so no BigInt is needed.
 */
export function msToNanos(ms: number): string {
  const micros = Math.round(ms * 1000);
  return micros === 0 ? '0' : `${micros}000`;
}

const q = JSON.stringify;
const sAttr = (key: string, v: string): string => `{"key":"${key}","value":{"stringValue":${q(v)}}}`;
const iAttr = (key: string, v: number): string => `{"key":"${key}","value":{"intValue":"${v}"}}`;

/** One span as JSON text. Ids are validated hex and keys are constants; user strings go through JSON.stringify. */
function spanJson(s: FinishedSpan, localService: string): string {
  let attrs = `${sAttr('http.request.method', s.method)},${sAttr('url.path', pathOnly(s.path))},${iAttr('mesher.attempt', s.attempt)}`;
  if (s.status > 0) attrs += `,${iAttr('http.response.status_code', s.status)}`;
  if (s.peerService !== undefined) attrs += `,${sAttr('peer.service', s.peerService)}`;
  if (s.peerAddress !== undefined)
    attrs += `,${sAttr(s.kind === 'client' ? 'server.address' : 'client.address', s.peerAddress)}`;
  if (s.errorCode !== undefined) attrs += `,${sAttr('mesher.error_code', s.errorCode)}`;
  // Status code: 0 = UNSET, 2 = ERROR. SpanKind: 2 = SERVER, 3 = CLIENT.
  const status = isError(s) ? `{"code":2,"message":${q(s.errorCode ?? `HTTP ${s.status}`)}}` : '{"code":0}';
  const parent = s.parentSpanId === undefined ? '' : `"parentSpanId":"${s.parentSpanId}",`;
  return (
    `{"traceId":"${s.traceId}","spanId":"${s.spanId}",${parent}"name":${q(spanName(s, localService))},` +
    `"kind":${s.kind === 'server' ? 2 : 3},"startTimeUnixNano":"${msToNanos(s.startMs)}",` +
    `"endTimeUnixNano":"${msToNanos(s.startMs + s.durationMs)}","attributes":[${attrs}],"status":${status}}`
  );
}

export function encodeOtlp(spans: readonly FinishedSpan[], resource: ResourceInfo): Buffer {
  const resAttrs: KeyValue[] = [
    str('service.name', resource.serviceName),
    str('service.version', resource.serviceVersion),
    str('telemetry.sdk.name', 'mesher'),
  ];
  if (resource.instanceId !== undefined) resAttrs.push(str('service.instance.id', resource.instanceId));
  let body = '';
  for (let i = 0; i < spans.length; i++) {
    if (i > 0) body += ',';
    body += spanJson(spans[i]!, resource.serviceName);
  }
  return Buffer.from(
    `{"resourceSpans":[{"resource":{"attributes":${q(resAttrs)}},"scopeSpans":[{"scope":{"name":"mesher.sidecar"},"spans":[${body}]}]}]}`,
  );
}
