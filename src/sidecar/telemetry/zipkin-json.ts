/**
 * @module sidecar/telemetry/zipkin-json
 * Encodes a batch of spans as Zipkin v2 JSON (`POST /api/v2/spans`,
 * https://zipkin.io/zipkin-api/#/default/post_spans): microsecond timestamps, string tags, the
 * sidecar as `localEndpoint` and the peer as `remoteEndpoint`. Runs off the request path.
 */
import type { ResourceInfo } from './otlp-json.ts';
import { type FinishedSpan, isError, pathOnly, spanName } from './span.ts';

export const ZIPKIN_CONTENT_TYPE = 'application/json';

/** `host:port` or a bare IP → Zipkin endpoint fields. */
function remoteEndpoint(s: FinishedSpan): Record<string, string | number> | undefined {
  const ep: Record<string, string | number> = {};
  if (s.peerService !== undefined) ep.serviceName = s.peerService;
  const addr = s.peerAddress;
  if (addr !== undefined) {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d+)$/.exec(addr);
    if (m) {
      ep.ipv4 = m[1]!;
      ep.port = Number(m[2]);
    } else if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(addr)) ep.ipv4 = addr;
    else if (addr.includes(':') && !addr.includes('.')) ep.ipv6 = addr;
  }
  return Object.keys(ep).length === 0 ? undefined : ep;
}

export function encodeZipkin(spans: readonly FinishedSpan[], resource: ResourceInfo): Buffer {
  const local = { serviceName: resource.serviceName };
  const out = spans.map((s) => {
    const tags: Record<string, string> = {
      'http.method': s.method,
      'http.path': pathOnly(s.path),
      'mesher.attempt': String(s.attempt),
    };
    if (s.status > 0) tags['http.status_code'] = String(s.status);
    if (s.errorCode !== undefined) tags['mesher.error_code'] = s.errorCode;
    if (isError(s)) tags.error = s.errorCode ?? String(s.status);
    const remote = remoteEndpoint(s);
    return {
      traceId: s.traceId,
      id: s.spanId,
      ...(s.parentSpanId === undefined ? {} : { parentId: s.parentSpanId }),
      name: spanName(s, resource.serviceName).toLowerCase(),
      kind: s.kind === 'server' ? 'SERVER' : 'CLIENT',
      timestamp: Math.round(s.startMs * 1000),
      // Zipkin rejects a zero duration; anything that ran took at least a microsecond.
      duration: Math.max(1, Math.round(s.durationMs * 1000)),
      localEndpoint: local,
      ...(remote === undefined ? {} : { remoteEndpoint: remote }),
      tags,
    };
  });
  return Buffer.from(JSON.stringify(out));
}
