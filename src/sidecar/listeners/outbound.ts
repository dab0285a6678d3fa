/**
 * @module sidecar/listeners/outbound
 * The forward proxy (local app → mesh). Turns each request on the outbound listener into an
 * outbound CallContext: service from the URL host (or Host for origin-form, or the CONNECT
 * authority), the URL port passed on as `X-Forwarded-Port`, hop-by-hop headers stripped,
 * X-Forwarded-For/-Proto/-Host added, and our own identity set in `x-cse-src-microservice` and
 * merged into the `x-cse-context` JSON header that ServiceComb SDKs read.
 */
import type { CallContext } from '../chain/types.ts';
import { addForwardedHeaders, newCallContext } from './call-context.ts';
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

  return function outboundCall(req, body, kind, signal, head): CallContext {
    const scan = scanRequestHeaders(req.rawHeaders);
    const url = req.url ?? '';
    const target = kind === 'tunnel' ? parseConnectTarget(url) : parseRequestTarget(url, scan.host);
    addForwardedHeaders(scan, req.socket.remoteAddress ?? '');
    const requestedPort = target.port ?? scan.forwardedPort;
    if (requestedPort !== undefined) scan.headers.push('x-forwarded-port', requestedPort);
    scan.headers.push(CSE_SOURCE, self, CSE_CONTEXT, mergeCseContext(scan.cseContext, self, freshContext));
    return newCallContext(
      'outbound',
      req.method,
      body,
      kind,
      scan,
      target.service,
      target.path,
      source,
      requestedPort,
      signal,
      head,
    );
  };
}
