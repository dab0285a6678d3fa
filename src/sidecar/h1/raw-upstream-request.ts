/**
 * @module sidecar/h1/raw-upstream-request
 * Writes one request of the raw upstream (./raw-upstream.ts) on its socket: the request line and
 * the call's raw headers (Host among them) as one latin1 string, then the body framed again —
 * as is when the headers carry Content-Length, chunked otherwise — with backpressure (the client
 * body pauses while the socket is over its highWaterMark). A small body leaves in the same packet
 * as the head (corked until the first piece or the next macrotask). Nothing that CR, LF, NUL or a
 * space could re-frame on the wire is ever written.
 */
import type { Socket } from 'node:net';
import type { CallContext } from '../chain/types.ts';
import { CHUNK_END, CRLF, chunkHeader } from './body-codec.ts';

/** The call's line or headers would be re-framed on the wire; nothing was written. */
export class UnsafeRequestError extends Error {
  override readonly name = 'UnsafeRequestError';
}

/** Whether `s` has a byte that would end a request-line token or header name early (SP, CTL, DEL, ':'). */
function unsafeToken(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x3a) return true;
  }
  return s.length === 0;
}

/** Whether a header value has CR, LF or NUL: the only bytes that can break the framing. */
function unsafeValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x0d || c === 0x0a || c === 0) return true;
  }
  return false;
}

/**
 * Write `call`'s request on `socket`. `onWritten` runs once the whole request (body included) was
 * handed to the socket — synchronously for a bodiless one. Returns a function that stops pumping
 * the body (call it when the socket closes first), or null when there is no body. Throws
 * UnsafeRequestError, before writing anything, for a request that would be re-framed.
 */
export function writeRequest(socket: Socket, call: CallContext, onWritten: () => void): (() => void) | null {
  const h = call.headers;
  if (unsafeValue(call.path) || call.path.includes(' ') || unsafeToken(call.method)) {
    throw new UnsafeRequestError('invalid request line');
  }
  let head = `${call.method} ${call.path} HTTP/1.1\r\n`;
  let hasLength = false;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i]!;
    const value = h[i + 1]!;
    if (unsafeValue(value) || unsafeToken(name))
      throw new UnsafeRequestError(`invalid header ${JSON.stringify(name)}`);
    if (name.length === 14 && name.toLowerCase() === 'content-length') hasLength = true;
    head += `${name}: ${value}\r\n`;
  }
  const body = call.hasBody ? call.body : null;
  if (body === null) {
    socket.write(`${head}\r\n`, 'latin1');
    onWritten();
    return null;
  }
  const chunked = !hasLength;
  if (chunked) head += 'Transfer-Encoding: chunked\r\n';
  socket.cork();
  socket.write(`${head}\r\n`, 'latin1');
  let corked = true;
  const uncork = () => {
    if (corked) {
      corked = false;
      socket.uncork();
    }
  };
  // Not later than the next macrotask: a client waiting for 100-continue sends no body until the
  // upstream has seen the head.
  const timer = setImmediate(uncork);
  const onDrain = () => body.resume();
  const onData = (piece: Buffer) => {
    if (socket.destroyed) return;
    let ok: boolean;
    if (chunked) {
      if (piece.length === 0) return;
      // size line, data and CRLF in one writev
      socket.cork();
      socket.write(chunkHeader(piece.length), 'latin1');
      socket.write(piece);
      ok = socket.write(CRLF);
      socket.uncork();
    } else ok = socket.write(piece);
    uncork();
    if (!ok) {
      body.pause();
      socket.once('drain', onDrain);
    }
  };
  const stop = () => {
    clearImmediate(timer);
    body.removeListener('data', onData);
    body.removeListener('end', onEnd);
    body.removeListener('error', onError);
    socket.removeListener('drain', onDrain);
  };
  const onEnd = () => {
    stop();
    if (chunked) socket.write(CHUNK_END);
    uncork();
    onWritten();
  };
  const onError = () => {
    stop();
    socket.destroy();
  };
  body.on('data', onData);
  body.once('end', onEnd);
  body.once('error', onError);
  return stop;
}
