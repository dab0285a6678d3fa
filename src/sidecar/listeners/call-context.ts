/**
 * @module sidecar/listeners/call-context
 * What the three listener factories (inbound, outbound, ingress) share once they have scanned a
 * request's headers: the X-Forwarded-For/-Proto/-Host they add, and the CallContext literal itself
 * (with the Connection/Upgrade pair re-added last for an upgrade). Plain functions on the hot path:
 * no closure and no allocation beyond the one CallContext (and its timings) per request, and every
 * listener's calls share one object shape. Kept small on purpose: what V8 inlines from here counts
 * against the caller's inlining budget, which the target parsers need (measured: folding the
 * identity stamping in here too cost the outbound factory ~40 ns a call under tsx).
 */
import type { Readable } from 'node:stream';
import type { CallSignal } from '../chain/call-signal.ts';
import type { CallContext, Direction, SourceIdentity } from '../chain/types.ts';
import type { ScannedRequest } from './headers.ts';

/**
 * Append X-Forwarded-For (the client's chain plus `peer`), and X-Forwarded-Proto/-Host unless the
 * client sent them, to `scan.headers` in place.
 */
export function addForwardedHeaders(scan: ScannedRequest, peer: string): void {
  const headers = scan.headers;
  headers.push('x-forwarded-for', scan.forwardedFor === undefined ? peer : `${scan.forwardedFor}, ${peer}`);
  if (!scan.hasForwardedProto) headers.push('x-forwarded-proto', 'http');
  if (!scan.hasForwardedHost && scan.host !== undefined) headers.push('x-forwarded-host', scan.host);
}

/**
 * The CallContext for one accepted request, carrying `scan.headers` (the listener has already added
 * its forwarding and identity headers; an upgrade's Connection/Upgrade pair is appended here, last).
 * The body streams from `body` for plain requests only.
 */
export function newCallContext(
  direction: Direction,
  method: string | undefined,
  body: Readable | null,
  kind: CallContext['kind'],
  scan: ScannedRequest,
  service: string,
  path: string,
  source: SourceIdentity,
  requestedPort: string | undefined,
  signal: CallSignal,
  head: Buffer | undefined,
): CallContext {
  const headers = scan.headers;
  if (kind === 'upgrade' && scan.upgrade !== undefined)
    headers.push('connection', 'upgrade', 'upgrade', scan.upgrade);
  return {
    direction,
    kind,
    method: method ?? 'GET',
    service,
    app: undefined,
    path,
    headers,
    body: kind === 'request' ? body : null,
    hasBody: kind === 'request' && body !== null && scan.hasBody,
    source,
    requestedPort,
    target: undefined,
    endpoint: undefined,
    exclude: undefined,
    attempt: 1,
    route: undefined, // set by the route step; present from the start so every call has one shape
    timings: { startMs: performance.now() },
    signal,
    head,
  };
}
