/**
 * @module sidecar/listeners/server
 * The HTTP/1.1 edge shared by the outbound and inbound listeners: a Node `http.Server` with bounded
 * header size and header/request timeouts, whose `request`, `upgrade` and `connect` events become
 * CallContexts (built by the listener-specific `CallFactory`) run through the current chain.
 * Malformed input never reaches the chain: `clientError` answers it with a proper JSON error
 * (400, 408, 431) or closes the socket, and no handler lets an exception escape. With
 * `engine: 'fast'` the raw edge (../h1/raw-edge.ts) serves plain requests on the same server's
 * connections and hands everything else to this Node server.
 */
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { type ErrorCode, MeshError } from '../../shared/errors.ts';
import { createLogger } from '../../shared/log.ts';
import { CallSignal } from '../chain/call-signal.ts';
import type { Slot } from '../chain/compose.ts';
import { rescue, rescueToBytes } from '../chain/rescue.ts';
import type { CallContext, Handler, Outcome } from '../chain/types.ts';
import { attachRawEdge } from '../h1/raw-edge.ts';
import { writeOutcome, writeRawOutcome } from './respond.ts';

export interface EdgeLimits {
  /** Largest request head accepted; larger → 431 HEADERS_TOO_LARGE. Default 16384. */
  readonly maxHeaderBytes?: number;
  /** Time allowed to receive the request head; slower → 408 and close. Default 10000. */
  readonly headersTimeoutMs?: number;
  /** Time allowed to receive the whole request (0 = unlimited, for long streams). Default 300000. */
  readonly requestTimeoutMs?: number;
  /** Idle time before a client keep-alive connection is closed. Default 65000. */
  readonly keepAliveTimeoutMs?: number;
  /** How often Node checks the two timeouts above. Default 1000 (tests use less). */
  readonly timeoutCheckIntervalMs?: number;
  /** Which server code serves plain requests. Default 'node'. */
  readonly engine?: EdgeEngine;
}

/**
 * What a CallFactory reads of a request: Node's IncomingMessage (node engine, upgrades, tunnels)
 * and the raw edge's per-request literal both fit.
 */
export interface EdgeRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly rawHeaders: string[];
  readonly socket: { readonly remoteAddress?: string | undefined };
}

/** Which HTTP/1.1 server code serves plain requests: the raw fast path, or Node's http module. */
export type EdgeEngine = 'fast' | 'node';

/**
 * Builds the CallContext for one request; throws a MeshError to answer it directly (400, 403...).
 * `body` is the request body stream for plain requests (null when there is none, and for upgrades
 * and tunnels).
 */
export type CallFactory = (
  req: EdgeRequest,
  body: Readable | null,
  kind: CallContext['kind'],
  signal: CallSignal,
  head: Buffer | undefined,
) => CallContext;

/** What a listener runs, swapped as one unit when config changes. */
export interface EdgeRoute {
  readonly makeCall: CallFactory;
  readonly handler: Handler;
}

/** A listener's server plus the upgraded/tunnelled sockets it handed off (closed on shutdown). */
export interface EdgeServer {
  readonly server: Server;
  readonly rawSockets: Set<Duplex>;
  /** From now on every response closes its connection (graceful shutdown). */
  drain(): void;
}

const log = createLogger('sidecar.listener');

const CLIENT_ERRORS: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  ERR_HTTP_HEADERS_TIMEOUT: 'REQUEST_TIMEOUT',
};

function onClientError(err: Error & { code?: string }, socket: Duplex): void {
  const code = err.code ?? '';
  const pending = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (code === 'ECONNRESET' || !socket.writable || pending?.headersSent) {
    socket.destroy();
    return;
  }
  const mesh = CLIENT_ERRORS[code] ?? 'BAD_REQUEST';
  const message = mesh === 'BAD_REQUEST' ? `Malformed HTTP request (${code || err.message})` : undefined;
  // end() flushes the answer, then closes: the parser state after an error is not reusable.
  socket.end(rescueToBytes(new MeshError(mesh, message === undefined ? {} : { message })));
}

/** Run the chain; a step that throws synchronously becomes a rejection, never an uncaught error. */
function run(handler: Handler, call: CallContext): Promise<Outcome> {
  try {
    return handler(call);
  } catch (err) {
    return Promise.reject(err);
  }
}

/** Writing the answer itself failed (e.g. an invalid header value): log it and drop the connection. */
function writeFailed(err: unknown, target: { destroy(): void }): void {
  log.error({ err }, 'could not write the response');
  target.destroy();
}

export function createEdgeServer(limits: EdgeLimits, slot: Slot<EdgeRoute>): EdgeServer {
  const rawSockets = new Set<Duplex>();
  let draining = false;
  const server = http.createServer({
    maxHeaderSize: limits.maxHeaderBytes ?? 16384,
    headersTimeout: limits.headersTimeoutMs ?? 10_000,
    requestTimeout: limits.requestTimeoutMs ?? 300_000,
    keepAliveTimeout: limits.keepAliveTimeoutMs ?? 65_000,
    connectionsCheckingInterval: limits.timeoutCheckIntervalMs ?? 1000,
    // We answer a missing Host ourselves, with a JSON error instead of Node's bare 400.
    requireHostHeader: false,
    noDelay: true,
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const signal = new CallSignal();
    // The client went away before we finished answering: abort the upstream work.
    res.once('close', () => {
      if (!res.writableFinished) signal.abort();
    });
    const route = slot.current;
    let call: CallContext;
    try {
      call = route.makeCall(req, req, 'request', signal, undefined);
    } catch (err) {
      req.resume();
      writeOutcome(res, rescue(err));
      return;
    }
    run(route.handler, call)
      .then(
        (outcome) => {
          if (draining) res.shouldKeepAlive = false;
          writeOutcome(res, outcome);
        },
        (err) => {
          // The client may still be sending a body the chain never read: drain it so the
          // connection can carry the error response (and maybe the next request).
          if (call.body !== null && !call.body.readableEnded) call.body.resume();
          writeOutcome(res, rescue(err, call.service));
        },
      )
      .catch((err) => writeFailed(err, res));
  });

  const onRaw = (kind: 'upgrade' | 'tunnel') => (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const signal = new CallSignal();
    const onEarlyClose = () => signal.abort();
    rawSockets.add(socket);
    socket.once('close', () => rawSockets.delete(socket));
    socket.once('close', onEarlyClose);
    socket.on('error', () => socket.destroy());
    const route = slot.current;
    let call: CallContext;
    try {
      call = route.makeCall(req, null, kind, signal, head);
    } catch (err) {
      socket.end(rescueToBytes(err));
      return;
    }
    run(route.handler, call)
      .then(
        (outcome) => {
          socket.removeListener('close', onEarlyClose);
          writeRawOutcome(socket, outcome, head);
        },
        (err) => {
          socket.removeListener('close', onEarlyClose);
          if (!socket.destroyed) socket.end(rescueToBytes(err, call.service));
        },
      )
      .catch((err) => writeFailed(err, socket));
  };
  server.on('upgrade', onRaw('upgrade'));
  server.on('connect', onRaw('tunnel'));
  server.on('clientError', onClientError);
  if (limits.engine === 'fast') attachRawEdge(server, slot, limits, () => draining);
  return {
    server,
    rawSockets,
    drain: () => {
      draining = true;
    },
  };
}
