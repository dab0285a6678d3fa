/**
 * @module sidecar/telemetry/zipkin-json
 * Encodes a batch of spans as Zipkin v2 JSON (`POST /api/v2/spans`,
 * https://zipkin.io/zipkin-api/#/default/post_spans): microsecond timestamps, string tags, the
 * sidecar as `localEndpoint` and the peer as `remoteEndpoint`. Runs off the request path.
 */
import type { ResourceInfo } from './otlp-json.ts';
import { type FinishedSpan, isError, pathOnly, spanName } from './span.ts';

export const ZIPKIN_CONTENT_TYPE = 'application/json';

const q = JSON.stringify;
const IPV4_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d+)$/;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** The peer as a Zipkin endpoint (`serviceName`, `ipv4`/`ipv6`, `port`), or "" when unknown. */
function remoteEndpoint(s: FinishedSpan): string {
  const parts: string[] = [];
  if (s.peerService !== undefined) parts.push(`"serviceName":${q(s.peerService)}`);
  const addr = s.peerAddress;
  if (addr !== undefined) {
    const m = IPV4_PORT.exec(addr);
    if (m) parts.push(`"ipv4":"${m[1]}"`, `"port":${Number(m[2])}`);
    else if (IPV4.test(addr)) parts.push(`"ipv4":"${addr}"`);
    else if (addr.includes(':') && !addr.includes('.')) parts.push(`"ipv6":${q(addr)}`);
  }
  return parts.length === 0 ? '' : `,"remoteEndpoint":{${parts.join(',')}}`;
}

function spanJson(s: FinishedSpan, local: string, localService: string): string {
  let tags = `"http.method":${q(s.method)},"http.path":${q(pathOnly(s.path))},"mesher.attempt":"${s.attempt}"`;
  if (s.status > 0) tags += `,"http.status_code":"${s.status}"`;
  if (s.errorCode !== undefined) tags += `,"mesher.error_code":${q(s.errorCode)}`;
  if (isError(s)) tags += `,"error":${q(s.errorCode ?? String(s.status))}`;
  const parent = s.parentSpanId === undefined ? '' : `"parentId":"${s.parentSpanId}",`;
  // Zipkin rejects a zero duration; anything that ran took at least a microsecond.
  const duration = Math.max(1, Math.round(s.durationMs * 1000));
  return (
    `{"traceId":"${s.traceId}","id":"${s.spanId}",${parent}"name":${q(spanName(s, localService).toLowerCase())},` +
    `"kind":"${s.kind === 'server' ? 'SERVER' : 'CLIENT'}","timestamp":${Math.round(s.startMs * 1000)},` +
    `"duration":${duration},"localEndpoint":${local}${remoteEndpoint(s)},"tags":{${tags}}}`
  );
}

export function encodeZipkin(spans: readonly FinishedSpan[], resource: ResourceInfo): Buffer {
  const local = q({ serviceName: resource.serviceName });
  let body = '[';
  for (let i = 0; i < spans.length; i++) {
    if (i > 0) body += ',';
    body += spanJson(spans[i]!, local, resource.serviceName);
  }
  return Buffer.from(`${body}]`);
}
