/**
 * @module sidecar/listeners/inbound
 * The reverse proxy (mesh → local app). Each request on the inbound listener becomes an inbound
 * CallContext for our own service: the caller's identity is read from `x-cse-context` /
 * `x-cse-src-microservice` (and passed on unchanged for the app's SDK), `X-Forwarded-Port` is
 * handed to the local-target step to check against the declared ports, hop-by-hop headers are
 * stripped and X-Forwarded-* added. CONNECT is refused: tunnels start at the outbound side.
 */
import type { IncomingMessage } from 'node:http';
import { MeshError } from '../../shared/errors.ts';
import type { CallContext } from '../chain/types.ts';
import { CSE_CONTEXT, CSE_SOURCE, readSourceService, scanRequestHeaders } from './headers.ts';
import type { CallFactory } from './server.ts';

export function createInboundCallFactory(identity: { readonly service: string }): CallFactory {
  const self = identity.service;
  return function inboundCall(req: IncomingMessage, kind, signal, head): CallContext {
    if (kind === 'tunnel') {
      throw new MeshError('BAD_REQUEST', {
        service: self,
        message: 'CONNECT is accepted only by the outbound listener',
      });
    }
    const url = req.url ?? '';
    if (url.charCodeAt(0) !== 47 /* '/' */) {
      throw new MeshError('BAD_REQUEST', {
        service: self,
        message: 'The inbound listener takes origin-form requests only',
      });
    }
    const scan = scanRequestHeaders(req.rawHeaders);
    const headers = scan.headers;
    const peer = req.socket.remoteAddress ?? '';
    headers.push('x-forwarded-for', scan.forwardedFor === undefined ? peer : `${scan.forwardedFor}, ${peer}`);
    if (!scan.hasForwardedProto) headers.push('x-forwarded-proto', 'http');
    if (!scan.hasForwardedHost && scan.host !== undefined) headers.push('x-forwarded-host', scan.host);
    if (scan.cseSource !== undefined) headers.push(CSE_SOURCE, scan.cseSource);
    if (scan.cseContext !== undefined) headers.push(CSE_CONTEXT, scan.cseContext);
    if (kind === 'upgrade' && scan.upgrade !== undefined)
      headers.push('connection', 'upgrade', 'upgrade', scan.upgrade);
    return {
      direction: 'inbound',
      kind,
      method: req.method ?? 'GET',
      service: self,
      app: undefined,
      path: url,
      headers,
      body: kind === 'request' ? req : null,
      hasBody: kind === 'request' && scan.hasBody,
      source: { service: readSourceService(scan.cseContext, scan.cseSource), address: peer },
      requestedPort: scan.forwardedPort,
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
