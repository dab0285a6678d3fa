/**
 * @module sidecar/listeners/headers
 * Header rewriting at the HTTP/1.1 edge, in one pass over `rawHeaders` (flat name/value list, so
 * multi-valued headers and their order survive). Strips hop-by-hop headers (RFC 9110 §7.6.1:
 * Connection and every header it names, Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding,
 * Upgrade), adds X-Forwarded-For/-Proto/-Host, and reads or writes the ServiceComb identity headers
 * (`x-cse-src-microservice`, and the `x-cse-context` JSON that SDKs read).
 */

export const CSE_CONTEXT = 'x-cse-context';
export const CSE_SOURCE = 'x-cse-src-microservice';

/** What one pass over the request headers found. */
export interface ScannedRequest {
  /** Headers left after removing hop-by-hop, forwarding and identity headers (re-added by the caller). */
  readonly headers: string[];
  readonly host: string | undefined;
  readonly forwardedFor: string | undefined;
  readonly forwardedPort: string | undefined;
  readonly hasForwardedProto: boolean;
  readonly hasForwardedHost: boolean;
  readonly cseContext: string | undefined;
  readonly cseSource: string | undefined;
  /** The value of `Upgrade`, when the request asks for one. */
  readonly upgrade: string | undefined;
  /** Content-Length > 0 or any Transfer-Encoding. */
  readonly hasBody: boolean;
}

/** Tokens of a Connection header that name extra hop-by-hop headers (besides the usual ones). */
function connectionTokens(value: string, into: Set<string> | undefined): Set<string> | undefined {
  // Fast path for the values nearly every request carries (no split, no allocation).
  if (value.length <= 10) {
    const v = value.toLowerCase();
    if (v === 'keep-alive' || v === 'close' || v === 'upgrade') return into;
  }
  for (const raw of value.split(',')) {
    const t = raw.trim().toLowerCase();
    if (t === '' || t === 'keep-alive' || t === 'close' || t === 'upgrade') continue;
    if (into === undefined) into = new Set();
    into.add(t);
  }
  return into;
}

/**
 * Scan request headers once. Forwarding and identity headers are pulled out (so the caller can
 * merge and re-add them); everything hop-by-hop is dropped.
 */
export function scanRequestHeaders(raw: readonly string[]): ScannedRequest {
  const headers: string[] = [];
  let host: string | undefined;
  let forwardedFor: string | undefined;
  let forwardedPort: string | undefined;
  let hasForwardedProto = false;
  let hasForwardedHost = false;
  let cseContext: string | undefined;
  let cseSource: string | undefined;
  let upgrade: string | undefined;
  let hasBody = false;
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    switch (lower) {
      case 'connection':
        named = connectionTokens(value, named);
        continue;
      case 'keep-alive':
      case 'te':
      case 'trailer':
        continue;
      case 'transfer-encoding':
        hasBody = true;
        continue;
      case 'upgrade':
        upgrade = value;
        continue;
      case 'content-length':
        if (value !== '0') hasBody = true;
        break;
      case 'host':
        host = value;
        break;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        continue;
      case 'x-forwarded-port':
        forwardedPort = value;
        continue;
      case 'x-forwarded-proto':
        hasForwardedProto = true;
        break;
      case 'x-forwarded-host':
        hasForwardedHost = true;
        break;
      case CSE_CONTEXT:
        cseContext = value;
        continue;
      case CSE_SOURCE:
        cseSource = value;
        continue;
      default:
        if (lower.startsWith('proxy-')) continue;
    }
    headers.push(name, value);
  }
  return {
    headers: named === undefined ? headers : dropNamed(headers, named),
    host,
    forwardedFor,
    forwardedPort,
    hasForwardedProto,
    hasForwardedHost,
    cseContext,
    cseSource,
    upgrade,
    hasBody,
  };
}

function dropNamed(headers: string[], named: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!named.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}

/** Strip hop-by-hop headers from a response (keeping Upgrade/Connection on a 101). */
export function filterResponseHeaders(raw: readonly string[], upgrade = false): string[] {
  const out: string[] = [];
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (lower === 'connection') {
      named = connectionTokens(raw[i + 1]!, named);
      if (!upgrade) continue;
    } else if (lower === 'upgrade') {
      if (!upgrade) continue;
    } else if (
      lower === 'keep-alive' ||
      lower === 'transfer-encoding' ||
      lower === 'te' ||
      lower === 'trailer' ||
      lower.startsWith('proxy-')
    ) {
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  return named === undefined ? out : dropNamed(out, named);
}

/**
 * The `x-cse-context` value with our own name merged in as the source service. A missing or
 * malformed header yields a fresh object (`fresh` is the precomputed JSON for that common case).
 */
export function mergeCseContext(existing: string | undefined, self: string, fresh: string): string {
  if (existing === undefined) return fresh;
  try {
    const parsed: unknown = JSON.parse(existing);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return fresh;
    (parsed as Record<string, unknown>)[CSE_SOURCE] = self;
    return JSON.stringify(parsed);
  } catch {
    return fresh;
  }
}

/** The caller's service name: `x-cse-context` first (what SDKs send), then `x-cse-src-microservice`. */
export function readSourceService(
  cseContext: string | undefined,
  cseSource: string | undefined,
): string | undefined {
  if (cseContext !== undefined) {
    try {
      const parsed: unknown = JSON.parse(cseContext);
      if (parsed !== null && typeof parsed === 'object') {
        const v = (parsed as Record<string, unknown>)[CSE_SOURCE];
        if (typeof v === 'string' && v !== '') return v;
      }
    } catch {
      // malformed context: fall through to the plain header
    }
  }
  return cseSource === '' ? undefined : cseSource;
}
