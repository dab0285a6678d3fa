/**
 * @module sidecar/listeners/ingress
 * The edge gateway's listener (`--mode edge`, issue 5 item 7): external requests on the ingress
 * address are matched against `mesher.ingress.rule.http` and become OUTBOUND CallContexts for the
 * rule's service, so they run through the normal outbound chain (observe → route → resilience →
 * load-balance → transport). The path is rewritten by `redirectPath` with the query string kept;
 * `port.value` travels as `X-Forwarded-Port`; hop-by-hop headers are stripped, X-Forwarded-* added
 * and the edge's own name stamped as the caller (`x-cse-src-microservice`, merged into
 * `x-cse-context`, so an external client cannot claim a mesh identity). No match → 404
 * ROUTE_NOT_FOUND; CONNECT → 400 (the edge is not a forward proxy).
 */
import { MeshError } from '../../shared/errors.ts';
import type { CallContext } from '../chain/types.ts';
import { type IngressTable, matchIngress } from '../ingress/index.ts';
import { addForwardedHeaders, newCallContext } from './call-context.ts';
import { CSE_CONTEXT, CSE_SOURCE, mergeCseContext, scanRequestHeaders } from './headers.ts';
import type { CallFactory } from './server.ts';
import { splitAuthority } from './target-parse.ts';

/** Origin-form path and authority of a request (absolute-form `http://host/p?q` accepted too). */
function requestTarget(
  url: string,
  host: string | undefined,
): { authority: string | undefined; path: string } {
  if (url.charCodeAt(0) === 47 /* '/' */) return { authority: host, path: url };
  if (url.length > 7 && url.slice(0, 7).toLowerCase() === 'http://') {
    const rest = url.slice(7);
    const cut = rest.search(/[/?#]/);
    const authority = cut < 0 ? rest : rest.slice(0, cut);
    let path = cut < 0 ? '/' : rest.slice(cut);
    const hash = path.indexOf('#');
    if (hash >= 0) path = path.slice(0, hash);
    if (path.startsWith('?')) path = `/${path}`;
    return { authority: authority === '' ? host : authority, path: path === '' ? '/' : path };
  }
  throw new MeshError('BAD_REQUEST', {
    message: `Unsupported request target ${JSON.stringify(url.slice(0, 64))}: send /path with a Host header`,
  });
}

export function createIngressCallFactory(
  identity: { readonly service: string },
  table: IngressTable,
): CallFactory {
  const self = identity.service;
  const freshContext = JSON.stringify({ [CSE_SOURCE]: self });

  return function ingressCall(req, body, kind, signal, head): CallContext {
    if (kind === 'tunnel') {
      throw new MeshError('BAD_REQUEST', { message: 'CONNECT is not accepted by the edge gateway' });
    }
    const scan = scanRequestHeaders(req.rawHeaders);
    const { authority, path } = requestTarget(req.url ?? '', scan.host);
    const hit = matchIngress(table, authority, path);
    if (hit === undefined) {
      const host = authority === undefined ? '(no host)' : splitAuthority(authority).host;
      throw new MeshError('ROUTE_NOT_FOUND', {
        message: `No ingress rule matches ${host} ${path.split('?', 1)[0]!.slice(0, 256)}`,
      });
    }
    const peer = req.socket.remoteAddress ?? '';
    addForwardedHeaders(scan, peer);
    // Only the rule decides the provider's local port: a client's X-Forwarded-Port is dropped.
    const requestedPort = hit.port === undefined ? undefined : String(hit.port);
    if (requestedPort !== undefined) scan.headers.push('x-forwarded-port', requestedPort);
    scan.headers.push(CSE_SOURCE, self, CSE_CONTEXT, mergeCseContext(scan.cseContext, self, freshContext));
    return newCallContext(
      'outbound',
      req.method,
      body,
      kind,
      scan,
      hit.service,
      hit.path,
      { service: self, address: peer },
      requestedPort,
      signal,
      head,
    );
  };
}
