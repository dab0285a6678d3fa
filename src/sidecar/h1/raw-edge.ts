/**
 * @module sidecar/h1/raw-edge
 * The fast path of the client-facing HTTP/1.1 edge (issue 7). It takes over the `connection` event
 * of the listener's Node `http.Server` and serves plain requests straight from the socket bytes:
 * heads parsed by ./request-head.ts, CallContexts built by the listener's CallFactory, the chain run,
 * Outcomes written by ./edge-response.ts — no IncomingMessage/ServerResponse per request. Pipelined
 * requests are answered strictly in order (at most MAX_PIPELINE waiting), request bodies stream into
 * `call.body` with backpressure (the socket pauses while the body is over its highWaterMark), a
 * client that goes away aborts `call.signal`, and idle/request timeouts are enforced by ONE sweep
 * timer for all connections.
 *
 * Hand-off: whenever a request is not plain (see request-head.ts: Upgrade, CONNECT, Expect,
 * anything malformed or odd, a head still incomplete after a second read) the connection is given,
 * with the bytes it has buffered, to Node's own connection listener once no fast-path response is
 * pending on it; Node then owns it for good (tunnels, upgrades and 400/408/431 answers work exactly
 * as with the node engine).
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { type Clock, systemClock, type TimerHandle } from '../../shared/clock.ts';
import { MeshError } from '../../shared/errors.ts';
import { createLogger } from '../../shared/log.ts';
import { CallSignal } from '../chain/call-signal.ts';
import type { Slot } from '../chain/compose.ts';
import { rescue, rescueToBytes } from '../chain/rescue.ts';
import type { CallContext, Handler, Outcome } from '../chain/types.ts';
import type { EdgeLimits, EdgeRequest, EdgeRoute } from '../listeners/server.ts';
import { type BodyDecoder, bodyDecoder } from './body-codec.ts';
import { type ResponseTarget, refreshDate, writeEdgeResponse } from './edge-response.ts';
import { isNotFast, parseRequestHead, type RequestHead } from './request-head.ts';

const log = createLogger('sidecar.listener');
const ignore = (): void => {};

/** Requests parsed ahead of their answers on one connection; past this the socket pauses. */
export const MAX_PIPELINE = 16;

export interface RawEdge {
  /** Connections the fast path serves right now (handed-off ones are Node's). */
  readonly connections: () => number;
}

interface Entry {
  readonly target: ResponseTarget;
  readonly signal: CallSignal;
  readonly body: EdgeBody | null;
  readonly startedAt: number;
  outcome: Outcome | undefined;
}

/** A request body as the chain sees it: a Readable fed by the connection, pausing the socket when full. */
class EdgeBody extends Readable {
  constructor(private readonly conn: Connection) {
    super();
    // A malformed body may fail before any step listens: the error still reaches later readers
    // (errored stream) but must not crash the process.
    this.on('error', ignore);
  }
  override _read(): void {
    this.conn.bodyWantsMore();
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // A step dropped the body: the rest of it is discarded, never left holding the socket paused.
    this.conn.bodyWantsMore();
    cb(err);
  }
}

function run(handler: Handler, call: CallContext): Promise<Outcome> {
  try {
    return handler(call);
  } catch (err) {
    return Promise.reject(err);
  }
}

interface EdgeContext {
  readonly slot: Slot<EdgeRoute>;
  readonly maxHeadBytes: number;
  readonly clock: Clock;
  readonly draining: () => boolean;
  readonly handOff: (conn: Connection, socket: Socket) => void;
  readonly closed: (conn: Connection) => void;
}

class Connection {
  /** Unparsed bytes (a partial head, or what waits for a hand-off or a pipeline slot). */
  private buf: Buffer | null = null;
  /** Requests in order; the first is being answered or waits for its outcome. */
  private readonly queue: Entry[] = [];
  private writing = false;
  private flushing = false;
  /** The request whose body is being received, and its decoder. */
  private reading: { body: EdgeBody; decoder: BodyDecoder; entry: Entry } | null = null;
  /** Backpressure reasons: the body is full / too many requests wait for answers. */
  private bodyFull = false;
  private pipelineFull = false;
  /** The socket's write buffer is over its highWaterMark (a client that does not read). */
  private writeFull = false;
  /** A partial head was seen once already (hand it off if the next read does not complete it). */
  private partial = false;
  /** No more requests on this connection (Connection: close, HTTP/1.0, an error). */
  private closing = false;
  private handingOff = false;
  private detached = false;
  /** Start of the current idle period (clock ms), for the keep-alive timeout. */
  idleSince: number;

  constructor(
    readonly socket: Socket,
    private readonly ctx: EdgeContext,
  ) {
    this.idleSince = ctx.clock.now();
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  get idle(): boolean {
    return this.queue.length === 0 && this.reading === null && this.buf === null;
  }

  private readonly onData = (chunk: Buffer): void => {
    // After Connection: close nothing more is read, except the rest of that request's own body.
    if (this.closing && !this.handingOff && this.reading === null) return;
    let data = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    this.buf = null;
    if (this.handingOff || this.pipelineFull) {
      if (data.length > this.ctx.maxHeadBytes * 4 + 65536) this.socket.destroy();
      else this.buf = data;
      return;
    }
    let offset = 0;
    if (this.reading !== null) {
      offset = this.feedBody(data, 0);
      if (offset < 0 || this.reading !== null) return;
    }
    if (offset > 0) data = data.subarray(offset);
    this.parse(data);
  };

  /** Parse and start requests from `data` (bytes after any body). */
  private parse(data: Buffer): void {
    let offset = 0;
    while (offset < data.length && !this.closing) {
      if (this.queue.length >= MAX_PIPELINE || this.writeFull) {
        this.buf = data.subarray(offset);
        this.pipelineFull = true;
        this.socket.pause();
        return;
      }
      const head = parseRequestHead(data, offset, this.ctx.maxHeadBytes);
      if (head === undefined) {
        this.buf = data.subarray(offset);
        if (this.partial) this.requestHandOff();
        this.partial = true;
        return;
      }
      this.partial = false;
      if (isNotFast(head)) {
        this.buf = data.subarray(offset);
        this.requestHandOff();
        return;
      }
      offset = this.start(head, data);
      if (offset < 0 || this.reading !== null) return;
    }
  }

  /** Begin one request; returns where its body ended in `data` (-1: the connection failed). */
  private start(head: RequestHead, data: Buffer): number {
    if (!head.keepAlive) this.closing = true;
    const signal = new CallSignal();
    const body = head.framing.kind === 'none' ? null : new EdgeBody(this);
    const entry: Entry = {
      target: { method: head.method, minor: head.minor, keepAlive: head.keepAlive },
      signal,
      body,
      startedAt: this.ctx.clock.now(),
      outcome: undefined,
    };
    this.queue.push(entry);
    let offset = head.headEnd;
    if (body !== null) {
      this.reading = { body, decoder: bodyDecoder(head.framing), entry };
      offset = this.feedBody(data, offset);
      if (offset < 0) return -1; // malformed body: answered (or dropped) already, no call
    }
    const route = this.ctx.slot.current;
    const req: EdgeRequest = {
      method: head.method,
      url: head.target,
      rawHeaders: head.rawHeaders,
      socket: this.socket,
    };
    let call: CallContext;
    try {
      call = route.makeCall(req, body, 'request', signal, undefined);
    } catch (err) {
      body?.resume();
      this.answer(entry, rescue(err));
      return offset;
    }
    run(route.handler, call)
      .then(
        (outcome) => this.answer(entry, outcome),
        (err) => {
          // The client may still be sending a body the chain never read: drain it so the
          // connection can carry the error response (and maybe the next request).
          if (call.body !== null && !call.body.readableEnded) call.body.resume();
          this.answer(entry, rescue(err, call.service));
        },
      )
      .catch((err) => {
        log.error({ err }, 'could not write the response');
        this.socket.destroy();
      });
    return offset;
  }

  /** Feed body bytes from `offset`; returns where the body ended (-1: malformed, connection destroyed). */
  private feedBody(data: Buffer, offset: number): number {
    const r = this.reading!;
    let end: number;
    try {
      end = r.decoder.feed(data, offset, this.pushBody);
    } catch (err) {
      // Malformed chunked framing: Node cannot take over mid-request, so the call fails (the
      // upstream sees an aborted body, never a guessed one) and the client gets the 400 the node
      // engine's clientError would send, when nothing of another answer is on the wire yet.
      this.reading = null;
      this.closing = true;
      r.body.destroy(err as Error);
      if (this.queue[0] === r.entry && !this.writing) {
        this.detached = true;
        const code = (err as { code?: string }).code ?? 'BAD_CHUNK';
        const message = `Malformed HTTP request body (${code})`;
        this.socket.end(rescueToBytes(new MeshError('BAD_REQUEST', { message })));
      } else this.socket.destroy();
      return -1;
    }
    if (r.decoder.done) {
      this.reading = null;
      if (!r.body.destroyed) r.body.push(null);
    }
    return end;
  }

  private readonly pushBody = (payload: Buffer): void => {
    const body = this.reading!.body;
    if (body.destroyed) return;
    if (!body.push(payload)) {
      this.bodyFull = true;
      this.socket.pause();
    }
  };

  bodyWantsMore(): void {
    if (!this.bodyFull) return;
    this.bodyFull = false;
    this.maybeResume();
  }

  private maybeResume(): void {
    if (!this.bodyFull && !this.pipelineFull && !this.detached) this.socket.resume();
  }

  /** Parse what waited for a pipeline slot or for the client to read its answers. */
  private unblock(): void {
    if (!this.pipelineFull || this.queue.length >= MAX_PIPELINE || this.writeFull || this.detached) return;
    this.pipelineFull = false;
    const rest = this.buf;
    this.buf = null;
    if (rest !== null) this.parse(rest);
    this.maybeResume();
  }

  private readonly onDrain = (): void => {
    this.writeFull = false;
    this.unblock();
  };

  private answer(entry: Entry, outcome: Outcome): void {
    if (this.detached || this.socket.destroyed) {
      if (outcome.body !== null && !Buffer.isBuffer(outcome.body)) outcome.body.destroy();
      return;
    }
    entry.outcome = outcome;
    this.flush();
  }

  /** Write every ready answer at the head of the queue, in order. */
  private flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (!this.writing && this.queue.length > 0 && this.queue[0]!.outcome !== undefined) {
        const entry = this.queue[0]!;
        const outcome = entry.outcome!;
        const target = this.ctx.draining() ? { ...entry.target, keepAlive: false } : entry.target;
        this.writing = true;
        try {
          writeEdgeResponse(this.socket, target, outcome, (keepOpen) => this.written(keepOpen));
        } catch (err) {
          log.error({ err }, 'could not write the response');
          if (outcome.body !== null && !Buffer.isBuffer(outcome.body)) outcome.body.destroy();
          this.socket.destroy();
          return;
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private written(keepOpen: boolean): void {
    const entry = this.queue.shift()!;
    this.writing = false;
    // An unread rest of the request body is discarded so the next request can be parsed.
    if (entry.body !== null && !entry.body.readableEnded) entry.body.resume();
    if (!keepOpen) {
      this.closing = true;
      this.handingOff = false;
      this.socket.end();
      return;
    }
    if (this.queue.length === 0) this.idleSince = this.ctx.clock.now();
    // Answers pile up in the socket when the client does not read them: stop taking requests.
    if (this.socket.writableNeedDrain && !this.writeFull) {
      this.writeFull = true;
      this.socket.once('drain', this.onDrain);
    }
    this.unblock();
    if (this.handingOff) this.tryHandOff();
    else if (this.closing && this.queue.length === 0) this.socket.end();
    else this.flush();
  }

  private requestHandOff(): void {
    this.handingOff = true;
    this.tryHandOff();
  }

  private tryHandOff(): void {
    if (!this.handingOff || this.queue.length > 0 || this.detached) return;
    this.detach();
    this.socket.pause();
    if (this.buf !== null) this.socket.unshift(this.buf);
    this.buf = null;
    this.ctx.handOff(this, this.socket);
  }

  private detach(): void {
    this.detached = true;
    this.socket.removeListener('data', this.onData);
    this.socket.removeListener('end', this.onEnd);
    this.socket.removeListener('error', this.onError);
    this.socket.removeListener('close', this.onClose);
    this.socket.removeListener('drain', this.onDrain);
    this.ctx.closed(this);
  }

  private readonly onEnd = (): void => {
    if (this.buf !== null && this.queue.length === 0 && !this.closing) {
      // A partial request then EOF: let Node answer it as it would.
      this.requestHandOff();
      return;
    }
    // As Node's server does (no httpAllowHalfOpen): the client's FIN ends the connection and
    // aborts what is still in flight (through 'close').
    this.closing = true;
    this.handingOff = false;
    this.socket.end();
  };

  private readonly onError = (): void => {
    this.socket.destroy();
  };

  private readonly onClose = (): void => {
    this.detached = true;
    this.ctx.closed(this);
    const aborted = new Error('aborted');
    if (this.reading !== null) this.reading.body.destroy(aborted);
    this.reading = null;
    for (const entry of this.queue) entry.signal.abort();
  };

  /** The sweep: close an idle connection past the keep-alive timeout; time out a slow request. */
  sweep(now: number, keepAliveMs: number, requestMs: number): void {
    if (this.detached) return;
    if (this.idle) {
      if (now - this.idleSince >= keepAliveMs) this.socket.destroy();
      return;
    }
    if (this.buf !== null && this.partial && this.queue.length === 0) {
      // A head that has not completed within a sweep interval: Node's parser takes over (and
      // enforces its headers timeout from there).
      this.requestHandOff();
      return;
    }
    const r = this.reading;
    if (r !== null && requestMs > 0 && now - r.entry.startedAt >= requestMs) {
      this.closing = true;
      this.reading = null;
      r.body.destroy(new MeshError('REQUEST_TIMEOUT'));
      if (this.queue[0] === r.entry && !this.writing) {
        this.detached = true;
        this.socket.end(rescueToBytes(new MeshError('REQUEST_TIMEOUT')));
      } else this.socket.destroy();
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * Serve `server`'s connections with the fast path. Node's own connection listener stays the
 * fallback for hand-offs; `closeIdleConnections`/`closeAllConnections` of `server` cover the
 * fast-path connections too.
 */
export function attachRawEdge(
  server: Server,
  slot: Slot<EdgeRoute>,
  limits: EdgeLimits,
  draining: () => boolean,
  clock: Clock = systemClock,
): RawEdge {
  const nodeListeners = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  const live = new Set<Connection>();
  const keepAliveMs = limits.keepAliveTimeoutMs ?? 65_000;
  const requestMs = limits.requestTimeoutMs ?? 300_000;
  const everyMs = limits.timeoutCheckIntervalMs ?? 1000;
  let timer: TimerHandle | undefined;

  const ctx: EdgeContext = {
    slot,
    maxHeadBytes: limits.maxHeaderBytes ?? 16384,
    clock,
    draining,
    handOff: (_conn, socket) => {
      for (const l of nodeListeners) l.call(server, socket);
      socket.resume();
    },
    closed: (conn) => {
      live.delete(conn);
      if (live.size === 0 && timer !== undefined) {
        timer.cancel();
        timer = undefined;
      }
    },
  };

  server.on('connection', (socket: Socket) => {
    live.add(new Connection(socket, ctx));
    timer ??= clock.setInterval(() => {
      const now = clock.now();
      refreshDate(now);
      for (const c of live) c.sweep(now, keepAliveMs, requestMs);
    }, everyMs);
  });

  const nodeCloseIdle = server.closeIdleConnections.bind(server);
  const nodeCloseAll = server.closeAllConnections.bind(server);
  server.closeIdleConnections = () => {
    for (const c of live) if (c.idle) c.destroy();
    nodeCloseIdle();
  };
  server.closeAllConnections = () => {
    for (const c of live) c.destroy();
    nodeCloseAll();
  };
  return { connections: () => live.size };
}
