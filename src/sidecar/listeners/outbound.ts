/**
 * @module sidecar/listeners/outbound
 * The forward proxy (local app → mesh). Turns each request on the outbound listener into an
 * outbound CallContext: service from the URL host (or Host for origin-form, or the CONNECT
 * authority), the URL port passed on as `X-Forwarded-Port`, hop-by-hop headers stripped,
 * X-Forwarded-For/-Proto/-Host added, and our own identity set in `x-cse-src-microservice` and
 * merged into the `x-cse-context` JSON header that ServiceComb SDKs read.
 */
import type { IncomingMessage } from 'node:http';
import type { CallContext } from '../chain/types.ts';
import { CSE_CONTEXT, CSE_SOURCE, mergeCseContext, scanRequestHeaders } from './headers.ts';
import type { CallFactory } from './server.ts';
import { parseConnectTarget, parseRequestTarget } from './target-parse.ts';

export interface OutboundIdentity {
  /** Our own microservice name (the caller identity we stamp on every outbound call). */
  readonly service: string;
}

export function createOutboundCallFactory(identity: OutboundIdentity): CallFactory {
  const self = identity.service;
  const freshContext = JSON.stringify({ [CSE_SOURCE]: self });
  const source = { service: self, address: undefined };

  return function outboundCall(req: IncomingMessage, kind, signal, head): CallContext {
    const scan = scanRequestHeaders(req.rawHeaders);
    const url = req.url ?? '';
    const target = kind === 'tunnel' ? parseConnectTarget(url) : parseRequestTarget(url, scan.host);
    const headers = scan.headers;
    const peer = req.socket.remoteAddress ?? '';
    headers.push('x-forwarded-for', scan.forwardedFor === undefined ? peer : `${scan.forwardedFor}, ${peer}`);
    if (!scan.hasForwardedProto) headers.push('x-forwarded-proto', 'http');
    if (!scan.hasForwardedHost && scan.host !== undefined) headers.push('x-forwarded-host', scan.host);
    const requestedPort = target.port ?? scan.forwardedPort;
    if (requestedPort !== undefined) headers.push('x-forwarded-port', requestedPort);
    headers.push(CSE_SOURCE, self, CSE_CONTEXT, mergeCseContext(scan.cseContext, self, freshContext));
    if (kind === 'upgrade' && scan.upgrade !== undefined)
      headers.push('connection', 'upgrade', 'upgrade', scan.upgrade);
    return {
      direction: 'outbound',
      kind,
      method: req.method ?? 'GET',
      service: target.service,
      app: undefined,
      path: target.path,
      headers,
      body: kind === 'request' ? req : null,
      hasBody: kind === 'request' && scan.hasBody,
      source,
      requestedPort,
      target: undefined,
      endpoint: undefined,
      exclude: undefined,
      attempt: 1,
      timings: { startMs: performance.now() },
      signal,
      head,
    };
  };
}
