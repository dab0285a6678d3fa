/**
 * @module sidecar/listeners/target-parse
 * Where an outbound request is going: the service name and optional port from a proxy-form URL
 * (`GET http://server2:8080/hello`), from `Host` for origin-form requests (`GET /hello` +
 * `Host: server2`), or from the authority of a `CONNECT server2:8080`. Requests without a host,
 * with another scheme, or addressed to the proxy itself are rejected with 400 BAD_REQUEST.
 */
import { MeshError } from '../../shared/errors.ts';

export interface ParsedTarget {
  readonly service: string;
  /** Port given in the URL/authority (decimal string), if any. */
  readonly port: string | undefined;
  /** Origin-form path and query to send upstream. */
  readonly path: string;
}

function bad(message: string): MeshError {
  return new MeshError('BAD_REQUEST', { message });
}

/** Split `host[:port]` (IPv6 in brackets), dropping any userinfo. */
export function splitAuthority(authority: string): { host: string; port: string | undefined } {
  const at = authority.lastIndexOf('@');
  if (at >= 0) authority = authority.slice(at + 1);
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end < 0) throw bad('Malformed IPv6 host');
    const rest = authority.slice(end + 1);
    return { host: authority.slice(1, end), port: rest.startsWith(':') ? rest.slice(1) : undefined };
  }
  const colon = authority.indexOf(':');
  if (colon < 0) return { host: authority, port: undefined };
  return { host: authority.slice(0, colon), port: authority.slice(colon + 1) };
}

/** Loopback or unspecified addresses: a request to these is a request to the proxy itself. */
function isSelf(host: string): boolean {
  const h = host.toLowerCase();
  return (
    h === 'localhost' || h.startsWith('127.') || h === '::1' || h === '0.0.0.0' || h === '::' || h === ''
  );
}

function checkedTarget(authority: string, path: string): ParsedTarget {
  const { host, port } = splitAuthority(authority);
  if (host === '') throw bad('The request names no host: call http://<service>/path through the proxy');
  if (isSelf(host)) {
    throw bad(`The request is addressed to the proxy itself (${authority}); name a service instead`);
  }
  if (port !== undefined && !/^\d{1,5}$/.test(port))
    throw bad(`Malformed port in ${JSON.stringify(authority)}`);
  return { service: host, port: port === '' ? undefined : port, path };
}

/** Target of a plain or upgrade request on the outbound listener. */
export function parseRequestTarget(url: string, hostHeader: string | undefined): ParsedTarget {
  if (url.charCodeAt(0) === 47 /* '/' */) {
    if (hostHeader === undefined)
      throw bad('The request names no host: send a Host header or a proxy-form URL');
    return checkedTarget(hostHeader, url);
  }
  if (url.length > 7 && url.slice(0, 7).toLowerCase() === 'http://') {
    let end = url.length;
    for (let i = 7; i < url.length; i++) {
      const c = url.charCodeAt(i);
      if (c === 47 || c === 63 /* '?' */ || c === 35 /* '#' */) {
        end = i;
        break;
      }
    }
    const rest = url.slice(end);
    const path =
      rest === '' || rest.charCodeAt(0) === 35 ? '/' : rest.charCodeAt(0) === 63 ? `/${rest}` : rest;
    return checkedTarget(url.slice(7, end), path);
  }
  throw bad(
    `Unsupported request target ${JSON.stringify(url.slice(0, 64))}: use http://<service>/path (or CONNECT for tunnels)`,
  );
}

/** Target of `CONNECT host:port`. */
export function parseConnectTarget(url: string): ParsedTarget {
  return checkedTarget(url, '');
}
