/**
 * @module sidecar/h1/response-head
 * Parses an upstream's HTTP/1.x response head from socket bytes and decides how its body is
 * framed (RFC 9112 §6.3) and whether the connection stays open. Validation is strict on purpose:
 * anything Node's own parser would reject, or that could frame the body two ways (both
 * Transfer-Encoding and Content-Length, differing Content-Lengths, a coding other than exactly
 * `chunked`, obs-fold, space before the colon, bare CR or LF, invalid name/value bytes), throws
 * an H1Error and the raw upstream answers UPSTREAM_PROTOCOL.
 */
import { type Framing, H1Error } from './body-codec.ts';

export interface ResponseHead {
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly minor: number;
  readonly status: number;
  readonly reason: string;
  /** Header fields as a flat `[name, value, ...]` list, case and order preserved. */
  readonly rawHeaders: string[];
  readonly framing: Framing;
  /** Whether the connection may carry another request after this response. */
  readonly keepAlive: boolean;
  /** Index in the parsed buffer just past the head's final CRLF. */
  readonly end: number;
}

/** Default bound of a response head (Node's --max-http-header-size default). */
export const MAX_HEAD_BYTES = 16 * 1024;

const NONE: Framing = { kind: 'none' };
const CHUNKED: Framing = { kind: 'chunked' };
const CLOSE: Framing = { kind: 'close' };
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/s;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

/** tchar lookup (RFC 9110 §5.6.2). */
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TOKEN[c.charCodeAt(0)] = 1;
}

function bad(message: string): H1Error {
  return new H1Error('BAD_RESPONSE', message);
}

/** A field value byte that is not allowed: CTLs other than HTAB, and DEL. */
function badValueChar(c: number): boolean {
  return (c < 0x20 && c !== 0x09) || c === 0x7f;
}

/**
 * Parse the response head starting at `offset` in `buf`. Returns null when the head is not
 * complete yet (keep the bytes and call again with more); throws H1Error when it is malformed or
 * longer than `maxBytes`. `headRequest`: the request was HEAD (no body whatever the headers say).
 */
export function parseResponseHead(
  buf: Buffer,
  offset: number,
  headRequest: boolean,
  maxBytes = MAX_HEAD_BYTES,
): ResponseHead | null {
  const stop = buf.indexOf(CRLFCRLF, offset);
  if (stop < 0) {
    if (buf.length - offset > maxBytes) throw new H1Error('HEAD_TOO_LARGE', 'response head too large');
    // A head ended with bare LFs would never complete: say so now instead of waiting.
    if (buf.indexOf('\n\n', offset, 'latin1') >= 0 || buf.indexOf('\n\r\n', offset, 'latin1') >= 0) {
      throw bad('bare LF in response head');
    }
    return null;
  }
  if (stop - offset > maxBytes) throw new H1Error('HEAD_TOO_LARGE', 'response head too large');
  const text = buf.toString('latin1', offset, stop);
  const end = stop + 4;

  // Status line: HTTP/1.x SP 3DIGIT SP reason (the SP before an empty reason is optional, as in Node).
  let eol = text.indexOf('\r\n');
  if (eol < 0) eol = text.length;
  const m = STATUS_LINE.exec(text.slice(0, eol));
  if (m === null) throw bad('invalid status line');
  const minor = m[1] === '1' ? 1 : 0;
  const status = Number(m[2]);
  if (status < 100) throw bad('invalid status code');
  const reason = m[3] ?? '';
  for (let k = 0; k < reason.length; k++) {
    if (badValueChar(reason.charCodeAt(k))) throw bad('invalid character in reason phrase');
  }

  const rawHeaders: string[] = [];
  let contentLength = -1;
  let chunked = false;
  let sawTe = false;
  let close = false;
  let keepAliveToken = false;
  let at = eol + 2;
  while (eol < text.length) {
    let lineEnd = text.indexOf('\r\n', at);
    if (lineEnd < 0) lineEnd = text.length;
    // name
    let k = at;
    while (k < lineEnd) {
      const c = text.charCodeAt(k);
      if (c >= 128 || TOKEN[c] !== 1) break;
      k++;
    }
    if (k === at)
      throw bad(at < lineEnd && (text[at] === ' ' || text[at] === '\t') ? 'obs-fold' : 'empty header name');
    if (k === lineEnd || text.charCodeAt(k) !== 0x3a) throw bad('invalid header name');
    const name = text.slice(at, k);
    // value: OWS value OWS, no CTL (catches bare CR / LF inside the line)
    let vs = k + 1;
    let ve = lineEnd;
    for (let j = vs; j < ve; j++) if (badValueChar(text.charCodeAt(j))) throw bad('invalid header value');
    while (vs < ve && (text.charCodeAt(vs) === 0x20 || text.charCodeAt(vs) === 0x09)) vs++;
    while (ve > vs && (text.charCodeAt(ve - 1) === 0x20 || text.charCodeAt(ve - 1) === 0x09)) ve--;
    const value = text.slice(vs, ve);
    rawHeaders.push(name, value);
    const len = name.length;
    if (len === 14 && name.toLowerCase() === 'content-length') {
      for (const part of value.split(',')) {
        const v = part.trim();
        if (!/^\d{1,15}$/.test(v)) throw bad('invalid content-length');
        const n = Number(v);
        if (contentLength >= 0 && contentLength !== n) throw bad('conflicting content-length');
        contentLength = n;
      }
    } else if (len === 17 && name.toLowerCase() === 'transfer-encoding') {
      if (sawTe || value.toLowerCase() !== 'chunked') throw bad('unsupported transfer-encoding');
      sawTe = true;
      chunked = true;
    } else if (len === 10 && name.toLowerCase() === 'connection') {
      for (const part of value.split(',')) {
        const t = part.trim().toLowerCase();
        if (t === 'close') close = true;
        else if (t === 'keep-alive') keepAliveToken = true;
      }
    }
    if (lineEnd >= text.length) break;
    at = lineEnd + 2;
  }
  if (chunked && contentLength >= 0) throw bad('both transfer-encoding and content-length');

  let framing: Framing;
  if (headRequest || status < 200 || status === 204 || status === 304) framing = NONE;
  else if (chunked) framing = CHUNKED;
  else if (contentLength === 0) framing = NONE;
  else if (contentLength > 0) framing = { kind: 'length', length: contentLength };
  else framing = CLOSE;
  const keepAlive = framing !== CLOSE && !close && (minor === 1 || keepAliveToken);
  return { minor, status, reason, rawHeaders, framing, keepAlive, end };
}
