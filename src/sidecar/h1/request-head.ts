/**
 * @module sidecar/h1/request-head
 * Strict parser of an HTTP/1.1 (or 1.0) request head for the raw edge's fast path. It accepts only
 * the plain, unambiguous subset of RFC 9112: `METHOD SP target SP HTTP/1.x CRLF`, header lines
 * `name ":" OWS value OWS CRLF` with token names and visible-ASCII values, and one unambiguous body
 * framing. Anything else — obs-fold, a space before the colon, bare CR or LF, non-ASCII bytes,
 * Content-Length together with Transfer-Encoding, repeated Content-Length, a Transfer-Encoding
 * other than exactly `chunked`, Expect, Upgrade, CONNECT, `*`, other versions, an over-long head —
 * comes out as a `NotFast` verdict: the edge then hands the connection to Node's http.Server,
 * which answers it (400/431/...) or serves it (tunnels, upgrades) as before. Request smuggling
 * therefore needs to fool llhttp, not this file.
 */
import type { Framing } from './body-codec.ts';

/** A plain request head the fast path may serve. */
export interface RequestHead {
  readonly method: string;
  /** Origin-form (`/p?q`) or absolute-form (`http://host/p`) request target, as received. */
  readonly target: string;
  /** HTTP minor version: 0 or 1. */
  readonly minor: 0 | 1;
  /** Header names and values, flat, as received (values trimmed of surrounding blanks). */
  readonly rawHeaders: string[];
  /** Offset just past the CRLF CRLF that ends the head. */
  readonly headEnd: number;
  readonly framing: Framing;
  /** The connection may carry another request after this one. */
  readonly keepAlive: boolean;
}

/** Why a head is not for the fast path (for logs and tests). */
export interface NotFast {
  readonly notFast: string;
}

export const DEFAULT_MAX_HEAD_BYTES = 16384;

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;

/** Whether buf[from, to) holds a horizontal tab. */
function tabBefore(buf: Buffer, from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (buf[k] === HTAB) return true;
  return false;
}
const COLON = 58;

/** RFC 9110 tchar. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TCHAR[c] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 1;
for (let c = 97; c <= 122; c++) TCHAR[c] = 1;

/** Bytes allowed in a header value here: HTAB, SP and VCHAR (no obs-text, no controls). */
const VALUE = new Uint8Array(256);
VALUE[HTAB] = 1;
for (let c = 32; c <= 126; c++) VALUE[c] = 1;

/** Bytes allowed in a request target: VCHAR except none (no space, no controls, no obs-text). */
const TARGET = new Uint8Array(256);
for (let c = 33; c <= 126; c++) TARGET[c] = 1;

/** `buf.latin1Slice` (a Node Buffer method @types/node does not declare): no bounds-check copy. */
const latin1 = (buf: Buffer, from: number, to: number): string =>
  (buf as Buffer & { latin1Slice(a: number, b: number): string }).latin1Slice(from, to);

/** Methods the fast path serves (CONNECT never: it is a tunnel). */
const FAST_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE']);

const notFast = (why: string): NotFast => ({ notFast: why });

export function isNotFast(r: RequestHead | NotFast): r is NotFast {
  return (r as NotFast).notFast !== undefined;
}

/**
 * Parse the request head at the start of `buf[start..]`. Undefined: not complete yet (and still
 * within `maxHeadBytes`). A NotFast verdict: hand the connection to Node.
 */
export function parseRequestHead(
  buf: Buffer,
  start = 0,
  maxHeadBytes = DEFAULT_MAX_HEAD_BYTES,
): RequestHead | NotFast | undefined {
  const end = buf.indexOf('\r\n\r\n', start, 'latin1');
  if (end < 0) {
    // A bare LF anywhere means a head we would never accept: let Node decide now.
    return buf.length - start > maxHeadBytes ? notFast('head too large') : undefined;
  }
  const headEnd = end + 4;
  if (headEnd - start > maxHeadBytes) return notFast('head too large');

  // Request line.
  let i = start;
  while (i < end && buf[i]! >= 65 && buf[i]! <= 90) i++;
  if (i === start || buf[i] !== SP) return notFast('method');
  const method = latin1(buf, start, i);
  // Only the common methods: llhttp rejects unknown ones (400), and Node should say so.
  if (!FAST_METHODS.has(method)) return notFast('method');
  const t0 = ++i;
  while (i < end && TARGET[buf[i]!] === 1) i++;
  if (i === t0 || buf[i] !== SP) return notFast('target');
  const first = buf[t0];
  if (first !== 47 /* / */ && !(first === 104 /* h */ && latin1(buf, t0, t0 + 7) === 'http://'))
    return notFast('target form');
  const target = latin1(buf, t0, i);
  i++;
  if (i + 10 > end + 2 || latin1(buf, i, i + 7) !== 'HTTP/1.') return notFast('version');
  const minorByte = buf[i + 7];
  if ((minorByte !== 48 && minorByte !== 49) || buf[i + 8] !== CR || buf[i + 9] !== LF)
    return notFast('version');
  const minor = minorByte === 49 ? 1 : 0;
  i += 10;

  // Header lines: [i, end) holds them, each ending in CRLF except the last (its CRLF starts `end`).
  const rawHeaders: string[] = [];
  let contentLength: number | undefined;
  let chunked = false;
  let close = false;
  let keepAliveToken = false;
  while (i < end + 2) {
    const n0 = i;
    while (TCHAR[buf[i]!] === 1) i++;
    if (i === n0 || buf[i] !== COLON) return notFast('header name');
    const name = latin1(buf, n0, i);
    i++;
    while (buf[i] === SP || buf[i] === HTAB) i++;
    const v0 = i;
    while (VALUE[buf[i]!] === 1) i++;
    if (buf[i] !== CR || buf[i + 1] !== LF) return notFast('header value');
    let v1 = i;
    while (v1 > v0 && (buf[v1 - 1] === SP || buf[v1 - 1] === HTAB)) v1--;
    const value = latin1(buf, v0, v1);
    i += 2;
    rawHeaders.push(name, value);
    const lower = name.length >= 6 && name.length <= 17 ? name.toLowerCase() : '';
    if (lower === 'content-length') {
      // llhttp refuses a tab after the digits (HPE_INVALID_CONTENT_LENGTH) though it trims spaces:
      // let Node answer that one rather than frame the body differently from it.
      if (contentLength !== undefined || !/^[0-9]{1,15}$/.test(value) || tabBefore(buf, v1, i))
        return notFast('content-length');
      contentLength = Number(value);
    } else if (lower === 'transfer-encoding') {
      // Trailing tabs too go to Node: the fast path only takes what llhttp surely reads the same way.
      if (chunked || minor === 0 || value.toLowerCase() !== 'chunked' || tabBefore(buf, v1, i))
        return notFast('transfer-encoding');
      chunked = true;
    } else if (lower === 'connection') {
      for (const token of value.toLowerCase().split(',')) {
        const t = token.trim();
        if (t === 'close') close = true;
        else if (t === 'keep-alive') keepAliveToken = true;
        else if (t === 'upgrade') return notFast('upgrade');
      }
    } else if (lower === 'expect') return notFast('expect');
    else if (lower === 'upgrade') return notFast('upgrade');
  }
  if (chunked && contentLength !== undefined) return notFast('content-length with transfer-encoding');
  const framing: Framing = chunked
    ? { kind: 'chunked' }
    : contentLength !== undefined && contentLength > 0
      ? { kind: 'length', length: contentLength }
      : { kind: 'none' };
  const keepAlive = !close && (minor === 1 || keepAliveToken);
  return { method, target, minor, rawHeaders, headEnd, framing, keepAlive };
}
