/**
 * @module sidecar/h1/edge-response
 * Writes one Outcome to a client socket as HTTP/1.1 bytes for the raw edge: status line, the
 * end-to-end headers, then the framing the peer can read — the outcome's own Content-Length when it
 * has one, Content-Length for a Buffer body, else chunked (HTTP/1.1 peer) or close-delimited
 * (HTTP/1.0 peer); HEAD, 1xx, 204 and 304 answers carry no body. The head and a small body (or a
 * streamed body's first piece) go out as one buffer in one write. A streamed body is written with backpressure (paused while the socket is over
 * its highWaterMark); a body that dies midway destroys the socket, since after the status line the
 * only honest signal left is a broken connection.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Outcome } from '../chain/types.ts';
import { chunkHeader } from './body-codec.ts';

/** What the writer needs to know about the request being answered. */
export interface ResponseTarget {
  readonly method: string;
  readonly minor: 0 | 1;
  /** The connection stays open after this response. */
  readonly keepAlive: boolean;
}

let dateString = new Date().toUTCString();
/** Refresh the cached `Date` value (the edge's sweep timer calls this about once a second). */
export function refreshDate(now: number): void {
  dateString = new Date(now).toUTCString();
}

function ignore(): void {}

/**
 * Write `outcome`; `done(keepOpen)` runs once the whole response is handed to the socket, saying
 * whether the connection may carry another one (never called when the socket had to be destroyed).
 * Throws on a header that would break the framing (CR/LF), before writing anything.
 */
export function writeEdgeResponse(
  socket: Socket,
  target: ResponseTarget,
  outcome: Outcome,
  done: (keepOpen: boolean) => void,
): void {
  const status = outcome.status;
  const headers = outcome.headers;
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  let length = -1;
  let hasDate = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (
      value.includes('\n') ||
      value.includes('\r') ||
      name.includes('\n') ||
      name.includes('\r') ||
      name.includes(':')
    )
      throw new Error(`invalid response header ${JSON.stringify(name)}`);
    if (name.length === 14 && name.toLowerCase() === 'content-length') length = Number(value);
    else if (name.length === 4 && name.toLowerCase() === 'date') hasDate = true;
    head += `${name}: ${value}\r\n`;
  }
  if (!hasDate) head += `date: ${dateString}\r\n`;
  const noBody = target.method === 'HEAD' || status === 204 || status === 304 || status < 200;
  let body = outcome.body;
  if (noBody && body !== null) {
    if (!Buffer.isBuffer(body)) body.destroy();
    body = null;
  }
  let chunked = false;
  let keepAlive = target.keepAlive;
  if (length < 0 && !noBody) {
    if (body === null) head += 'content-length: 0\r\n';
    else if (Buffer.isBuffer(body)) head += `content-length: ${body.length}\r\n`;
    else if (target.minor === 1) {
      chunked = true;
      head += 'transfer-encoding: chunked\r\n';
    } else keepAlive = false;
  }
  if (!keepAlive) head += 'connection: close\r\n\r\n';
  else head += target.minor === 0 ? 'connection: keep-alive\r\n\r\n' : '\r\n';

  if (body === null || Buffer.isBuffer(body)) {
    if (body === null || body.length === 0) socket.write(head, 'latin1');
    else writeJoined(socket, head, body, '');
    done(keepAlive);
    return;
  }
  streamBody(socket, head, body, chunked, () => done(keepAlive));
}

/** Bodies up to this size go out in one buffer with the head (one plain write, no writev). */
const JOIN_LIMIT = 16384;

/** Write `head` + `data` + `tail` (latin1 strings around a payload): joined when small, else corked. */
function writeJoined(socket: Socket, head: string, data: Buffer, tail: string): boolean {
  if (data.length <= JOIN_LIMIT) {
    // Header strings are latin1 (as Node writes them), so string length = byte length.
    const out = Buffer.allocUnsafe(head.length + data.length + tail.length);
    out.write(head, 0, 'latin1');
    data.copy(out, head.length);
    if (tail.length > 0) out.write(tail, head.length + data.length, 'latin1');
    return socket.write(out);
  }
  socket.cork();
  socket.write(head, 'latin1');
  socket.write(data);
  const ok = tail.length > 0 ? socket.write(tail, 'latin1') : true;
  socket.uncork();
  return ok && !socket.writableNeedDrain;
}

/**
 * Stream `body` after `head`. The head waits for the body's first piece and leaves with it in one
 * write; a body with nothing ready within an event-loop turn does not hold the head back.
 */
function streamBody(
  socket: Socket,
  head: string,
  body: Readable,
  chunked: boolean,
  finished: () => void,
): void {
  let over = false;
  let pending: string | null = head;
  const flushHead = () => {
    if (pending !== null && !socket.destroyed) socket.write(pending, 'latin1');
    pending = null;
  };
  setImmediate(flushHead);
  const onDrain = () => body.resume();
  const cleanup = () => {
    body.removeListener('data', onData);
    socket.removeListener('drain', onDrain);
    socket.removeListener('close', onSocketClose);
  };
  const onData = (chunk: Buffer) => {
    if (chunk.length === 0) return;
    const before = pending ?? '';
    pending = null;
    const ok = chunked
      ? writeJoined(socket, before + chunkHeader(chunk.length), chunk, '\r\n')
      : before === ''
        ? socket.write(chunk)
        : writeJoined(socket, before, chunk, '');
    if (!ok) body.pause();
  };
  const onSocketClose = () => {
    pending = null;
    cleanup();
    if (!body.readableEnded) body.destroy();
  };
  body.on('data', onData);
  body.on('error', ignore); // surfaced through 'close'
  socket.on('drain', onDrain);
  socket.once('close', onSocketClose);
  body.once('end', () => {
    over = true;
    cleanup();
    if (chunked) {
      const before = pending ?? '';
      pending = null;
      socket.write(`${before}0\r\n\r\n`, 'latin1');
    } else flushHead();
    finished();
  });
  body.once('close', () => {
    if (!over) {
      pending = null;
      cleanup();
      // The upstream went away before the end of its body: the client must see a broken
      // connection, not a short body that looks complete.
      socket.destroy();
    }
  });
}
