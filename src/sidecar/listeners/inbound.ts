/**
 * @module sidecar/listeners/inbound
 * The reverse proxy (mesh → local app). Each request on the inbound listener becomes an inbound
 * CallContext for our own service: the caller's identity is read from `x-cse-context` /
 * `x-cse-src-microservice` (and passed on unchanged for the app's SDK), `X-Forwarded-Port` is
 * handed to the local-target step to check against the declared ports, hop-by-hop headers are
 * stripped and X-Forwarded-* added. CONNECT is refused: tunnels start at the outbound side.
 */
import { MeshError } from '../../shared/errors.ts';
import type { CallContext } from '../chain/types.ts';
import { addForwardedHeaders, newCallContext } from './call-context.ts';
import { CSE_CONTEXT, CSE_SOURCE, readSourceService, scanRequestHeaders } from './headers.ts';
import type { CallFactory } from './server.ts';

export function createInboundCallFactory(identity: { readonly service: string }): CallFactory {
  const self = identity.service;
  return function inboundCall(req, body, kind, signal, head): CallContext {
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
    const peer = req.socket.remoteAddress ?? '';
    addForwardedHeaders(scan, peer);
    if (scan.cseSource !== undefined) scan.headers.push(CSE_SOURCE, scan.cseSource);
    if (scan.cseContext !== undefined) scan.headers.push(CSE_CONTEXT, scan.cseContext);
    return newCallContext(
      'inbound',
      req.method,
      body,
      kind,
      scan,
      self,
      url,
      { service: readSourceService(scan.cseContext, scan.cseSource), address: peer },
      scan.forwardedPort,
      signal,
      head,
    );
  };
}
