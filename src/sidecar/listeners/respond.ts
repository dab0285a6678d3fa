/**
 * @module sidecar/listeners/respond
 * Writing an Outcome back to the client: to a `ServerResponse` for plain requests, or as raw
 * HTTP/1.1 bytes to a socket for upgrades and tunnels (followed by splicing the two sockets).
 * Response bodies stream; if either side fails midway the other is destroyed, because once the
 * status line is out the only honest signal left is closing the connection.
 */
import type { ServerResponse } from 'node:http';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { Outcome } from '../chain/types.ts';

function ignore(): void {}

/**
 * Pipe `body` into `out`, destroying each side when the other fails. Used instead of
 * `stream.pipeline`, which allocates an AbortController per call and aborts it (building a
 * DOMException) on completion: about a tenth of the proxy's CPU per request when profiled.
 */
function pump(body: Readable, out: Writable): void {
  body.once('close', () => {
    // The upstream went away before the end of its body: the client must see a broken
    // connection, not a short body that looks complete.
    if (!body.readableEnded) out.destroy();
  });
  out.once('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  body.on('error', ignore); // surfaced through 'close' above
  body.pipe(out);
}

/** Write a plain response. Streams `outcome.body`; a body error destroys the client connection. */
export function writeOutcome(res: ServerResponse, outcome: Outcome): void {
  if (res.destroyed) {
    if (outcome.body !== null && !Buffer.isBuffer(outcome.body)) outcome.body.destroy();
    return;
  }
  res.writeHead(outcome.status, outcome.headers);
  const body = outcome.body;
  if (body === null) res.end();
  else if (Buffer.isBuffer(body)) res.end(body);
  // The body is destroyed when the client goes away (aborting the upstream response) and the
  // client response when the upstream dies mid-body.
  else pump(body, res);
}

const STATUS_TEXT: Record<number, string> = { 101: 'Switching Protocols', 200: 'Connection Established' };

/** Serialise a response head for a raw socket. */
export function rawHead(status: number, headers: readonly string[], close: boolean): string {
  let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Response'}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  if (close) head += 'connection: close\r\n';
  return `${head}\r\n`;
}

/** Splice two sockets both ways; either side closing or failing tears down the other. */
export function splice(client: Duplex, upstream: Duplex): void {
  const teardown = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', teardown);
  upstream.on('error', teardown);
  client.on('close', teardown);
  upstream.on('close', teardown);
  client.pipe(upstream);
  upstream.pipe(client);
}

/**
 * Answer an upgrade or CONNECT on its raw socket: on success (101 / 200 with a socket) write the
 * head and splice; otherwise write the response (close-delimited) and end the connection.
 */
export function writeRawOutcome(client: Duplex, outcome: Outcome, clientHead: Buffer | undefined): void {
  if (client.destroyed) {
    outcome.socket?.destroy();
    if (outcome.body !== null && !Buffer.isBuffer(outcome.body)) outcome.body.destroy();
    return;
  }
  const upstream = outcome.socket;
  if (upstream !== undefined) {
    client.write(rawHead(outcome.status, outcome.headers, false));
    if (outcome.head !== undefined && outcome.head.length > 0) client.write(outcome.head);
    if (clientHead !== undefined && clientHead.length > 0) upstream.write(clientHead);
    splice(client, upstream);
    return;
  }
  // Not switched: a plain response on a connection we will not reuse (a body without
  // Content-Length is delimited by the close).
  client.write(rawHead(outcome.status, outcome.headers, true));
  const body = outcome.body;
  if (body === null) client.end();
  else if (Buffer.isBuffer(body)) client.end(body);
  else pump(body, client);
}
