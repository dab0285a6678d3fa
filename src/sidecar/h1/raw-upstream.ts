/**
 * @module sidecar/h1/raw-upstream
 * The upstream transport on raw `node:net` sockets: the plain request/response case without
 * Node's ClientRequest/IncomingMessage machinery (issue 7). It behaves like ../upstream/http-agent.ts:
 *   - a keep-alive pool per target key: at most `maxSocketsPerEndpoint` connections, extra
 *     requests wait in a bounded FIFO, idle sockets (LIFO) expire through ONE sweep timer on the
 *     injected clock (`idleTimeoutMs`, lowered by a `Keep-Alive: timeout=N` hint);
 *   - connect timeout and socket errors map to the same MeshErrors (../upstream/errors.ts), a
 *     malformed response (./response-head.ts, ./body-codec.ts) to UPSTREAM_PROTOCOL;
 *   - a reused socket that fails before any response byte is retried once on a fresh connection
 *     when the request has no body;
 *   - `call.signal` aborts destroy the socket; the response body is a Readable that pauses the
 *     socket while its consumer is behind, and is destroyed when the upstream dies mid-body;
 *   - a socket goes back to the pool only when the request was fully written, the response body
 *     ended and the response allows keep-alive.
 * Upgrades and CONNECT tunnels are rare and go through an internal http-agent transport.
 */
import net, { type Socket } from 'node:net';
import { type Clock, systemClock, type TimerHandle } from '../../shared/clock.ts';
import { MeshError } from '../../shared/errors.ts';
import type { CallContext, Outcome, Target } from '../chain/types.ts';
import { filterResponseHeaders } from '../listeners/headers.ts';
import { upstreamError } from '../upstream/errors.ts';
import { createHttpAgentUpstream } from '../upstream/http-agent.ts';
import { keepAliveHintMs } from '../upstream/pool-agent.ts';
import type { Upstream, UpstreamOptions } from '../upstream/types.ts';
import { type BodyDecoder, bodyDecoder, H1Error } from './body-codec.ts';
import { UnsafeRequestError, writeRequest } from './raw-upstream-request.ts';
import { ResponseBody, wholeBody } from './response-body.ts';
import { parseResponseHead } from './response-head.ts';

/** Requests that may wait for a connection per endpoint; more fail fast (UPSTREAM_CONNECT). */
export const MAX_WAITING_PER_ENDPOINT = 4096;
/** Node's own margin under a server's Keep-Alive hint. */
const HINT_MARGIN_MS = 1000;
/** TCP keep-alive probe delay (Node's agent default). */
const KEEP_ALIVE_PROBE_MS = 1000;

const HEAD = 0;
const BODY = 1;
const DONE = 2;

// === impl Exchange ===

/** One attempt of one call on one connection. */
class Exchange {
  conn: Conn | null = null;
  state = HEAD;
  gotByte = false;
  decoder: BodyDecoder | null = null;
  body: ResponseBody | null = null;
  requestDone = false;
  keepAlive = false;
  hintMs: number | undefined;
  closeDelimited = false;
  settled = false;
  waiting: EndpointPool | null = null;
  stopPump: (() => void) | null = null;
  readonly onAbort: () => void;

  constructor(
    readonly call: CallContext,
    readonly target: Target,
    readonly fresh: boolean,
    readonly upstream: RawUpstream,
    readonly resolve: (o: Outcome) => void,
    readonly reject: (e: unknown) => void,
  ) {
    this.onAbort = () => {
      if (this.waiting !== null) {
        this.waiting.unqueue(this);
        this.fail(upstreamError(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }), call, false));
      } else this.conn?.socket.destroy();
    };
  }

  fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.call.signal.remove(this.onAbort);
    this.reject(err);
  }

  answer(o: Outcome): void {
    this.settled = true;
    this.call.signal.remove(this.onAbort);
    this.resolve(o);
  }

  readonly onPayload = (payload: Buffer): void => {
    const body = this.body;
    if (body === null || body.destroyed) return;
    if (!body.push(payload)) this.conn?.socket.pause();
  };
}

// === impl Conn ===

/** One pooled connection and the exchange it carries (none while idle). */
class Conn {
  readonly socket: Socket;
  connected = false;
  reused = false;
  ex: Exchange | null = null;
  partial: Buffer | null = null;
  error: Error | undefined;
  idleSince = 0;
  idleLimit = 0;
  private connectTimer: TimerHandle | null;

  constructor(
    readonly pool: EndpointPool,
    target: Target,
    connectTimeoutMs: number,
    clock: Clock,
  ) {
    const socket = net.connect({
      host: target.host,
      port: target.port,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: KEEP_ALIVE_PROBE_MS,
    });
    this.socket = socket;
    this.connectTimer = clock.setTimeout(
      () => socket.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })),
      connectTimeoutMs,
    );
    socket.once('connect', () => {
      this.connected = true;
      this.connectTimer?.cancel();
      this.connectTimer = null;
    });
    socket.on('data', (buf: Buffer) => this.onData(buf));
    socket.on('end', () => this.onEnd());
    socket.on('error', (err: Error) => {
      this.error ??= err;
    });
    socket.once('close', () => this.onClose());
  }

  onData(chunk: Buffer): void {
    const ex = this.ex;
    if (ex === null || ex.state === DONE) {
      // Bytes nobody asked for: the connection's framing can no longer be trusted.
      this.socket.destroy();
      return;
    }
    ex.gotByte = true;
    let buf = chunk;
    let off = 0;
    if (ex.state === HEAD) {
      if (this.partial !== null) {
        buf = Buffer.concat([this.partial, chunk]);
        this.partial = null;
      }
      for (;;) {
        let head: ReturnType<typeof parseResponseHead>;
        try {
          head = parseResponseHead(buf, off, ex.call.method === 'HEAD');
        } catch (err) {
          this.protocolError(ex, err);
          return;
        }
        if (head === null) {
          this.partial = off === 0 ? buf : buf.subarray(off);
          return;
        }
        off = head.end;
        if (head.status < 200) {
          // 101 without an upgrade request is a protocol error; 100/102/103 are skipped.
          if (head.status === 101) {
            this.protocolError(ex, new H1Error('BAD_RESPONSE', 'unexpected 101'));
            return;
          }
          if (off === buf.length) return;
          continue;
        }
        ex.keepAlive = head.keepAlive;
        ex.hintMs = keepAliveHintMs(head.rawHeaders);
        ex.decoder = bodyDecoder(head.framing);
        ex.closeDelimited = head.framing.kind === 'close';
        ex.state = BODY;
        const headers = filterResponseHeaders(head.rawHeaders);
        if (ex.decoder.done) {
          ex.answer({ status: head.status, headers, body: null });
          if (off < buf.length) ex.keepAlive = false;
          this.responseEnded(ex);
          return;
        }
        const whole = wholeBody(head.framing, buf, off);
        if (whole !== null) {
          // The entire body came with the head: hand it on as one Buffer (no stream per call;
          // the edge writes head and body in one write).
          ex.answer({ status: head.status, headers, body: whole });
          if (off + whole.length < buf.length) ex.keepAlive = false;
          this.responseEnded(ex);
          return;
        }
        ex.body = new ResponseBody(this);
        ex.answer({ status: head.status, headers, body: ex.body });
        break;
      }
    }
    const decoder = ex.decoder!;
    try {
      off = decoder.feed(buf, off, ex.onPayload);
    } catch (err) {
      this.protocolError(ex, err);
      return;
    }
    if (decoder.done) {
      if (off < buf.length) ex.keepAlive = false; // extra bytes after the body
      this.responseEnded(ex);
    }
  }

  /** A malformed response: before the head the call fails, after it the body is cut. */
  protocolError(ex: Exchange, err: unknown): void {
    const e = err instanceof H1Error ? Object.assign(err, { code: `HPE_${err.code}` }) : err;
    if (!ex.settled) ex.fail(new MeshError('UPSTREAM_PROTOCOL', { service: ex.call.service, cause: e }));
    else ex.body?.destroy(e as Error);
    this.socket.destroy();
  }

  responseEnded(ex: Exchange): void {
    ex.state = DONE;
    ex.body?.push(null);
    this.maybeRelease(ex);
  }

  maybeRelease(ex: Exchange): void {
    if (ex.state !== DONE || !ex.requestDone || this.ex !== ex) return;
    this.ex = null;
    if (ex.keepAlive && !this.socket.destroyed) this.pool.release(this, ex.hintMs);
    else this.socket.destroy();
  }

  bodyDestroyed(body: ResponseBody): void {
    const ex = this.ex;
    if (ex !== null && ex.body === body && ex.state !== DONE) this.socket.destroy();
  }

  onEnd(): void {
    // A close-delimited body ends with the connection.
    const ex = this.ex;
    if (ex !== null && ex.state === BODY && ex.closeDelimited) {
      ex.keepAlive = false;
      this.responseEnded(ex);
    }
  }

  onClose(): void {
    this.connectTimer?.cancel();
    this.pool.closed(this);
    const ex = this.ex;
    this.ex = null;
    if (ex === null) return;
    ex.stopPump?.();
    const err =
      this.error ?? Object.assign(new Error('upstream closed the connection'), { code: 'ECONNRESET' });
    if (ex.state === HEAD) {
      const call = ex.call;
      if (this.reused && !ex.gotByte && !ex.fresh && !call.hasBody && !call.signal.aborted && !ex.settled) {
        call.signal.remove(ex.onAbort);
        ex.upstream.send(call, ex.target, true).then(ex.resolve, ex.reject);
        ex.settled = true;
        return;
      }
      ex.fail(upstreamError(err, call, this.connected));
    } else if (ex.state === BODY) {
      if (ex.closeDelimited && this.error === undefined) this.responseEnded(ex);
      else ex.body?.destroy(err);
    }
  }
}

// === impl EndpointPool ===

class EndpointPool {
  readonly idle: Conn[] = [];
  readonly waiting: Exchange[] = [];
  /** Every open connection (idle, busy or connecting). */
  readonly conns = new Set<Conn>();
  count = 0;

  constructor(
    readonly key: string,
    readonly upstream: RawUpstream,
  ) {}

  acquire(ex: Exchange): void {
    if (!ex.fresh) {
      while (this.idle.length > 0) {
        const conn = this.idle.pop()!;
        if (conn.socket.destroyed) continue;
        conn.reused = true;
        this.start(conn, ex);
        return;
      }
    }
    if (ex.fresh || this.count < this.upstream.maxSockets) {
      this.count++;
      const timeout = ex.call.connectTimeoutMs ?? this.upstream.connectTimeoutMs;
      const conn = new Conn(this, ex.target, timeout, this.upstream.clock);
      this.conns.add(conn);
      this.start(conn, ex);
      return;
    }
    if (this.waiting.length >= MAX_WAITING_PER_ENDPOINT) {
      ex.fail(upstreamError(new Error('too many requests waiting for a connection'), ex.call, false));
      return;
    }
    ex.waiting = this;
    this.waiting.push(ex);
  }

  unqueue(ex: Exchange): void {
    const i = this.waiting.indexOf(ex);
    if (i >= 0) this.waiting.splice(i, 1);
    ex.waiting = null;
  }

  start(conn: Conn, ex: Exchange): void {
    conn.ex = ex;
    ex.conn = conn;
    ex.waiting = null;
    conn.socket.ref();
    startRequest(conn, ex);
  }

  release(conn: Conn, hintMs: number | undefined): void {
    if (conn.socket.isPaused()) conn.socket.resume();
    const next = this.waiting.shift();
    if (next !== undefined) {
      conn.reused = true;
      this.start(conn, next);
      return;
    }
    let limit = this.upstream.idleTimeoutMs;
    if (hintMs !== undefined) {
      if (hintMs - HINT_MARGIN_MS <= 0) {
        conn.socket.destroy();
        return;
      }
      limit = Math.min(limit, hintMs - HINT_MARGIN_MS);
    }
    if (this.idle.length >= this.upstream.maxIdle) {
      conn.socket.destroy();
      return;
    }
    conn.socket.unref();
    conn.idleSince = this.upstream.clock.now();
    conn.idleLimit = limit;
    this.idle.push(conn);
    this.upstream.armSweep();
  }

  closed(conn: Conn): void {
    this.count--;
    this.conns.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    // A slot came free: a waiting request gets a new connection.
    const next = this.waiting.shift();
    if (next !== undefined) {
      next.waiting = null;
      this.acquire(next);
    }
  }

  /** Destroy idle connections past their limit; returns how many stay pooled. */
  sweep(now: number): number {
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const conn = this.idle[i]!;
      if (now - conn.idleSince < conn.idleLimit) continue;
      this.idle.splice(i, 1);
      conn.socket.destroy();
    }
    return this.idle.length;
  }
}

/**
 * Write `ex`'s request on `conn`; a request that cannot be written safely fails INTERNAL (a
 * listener or step let CR/LF through: a proxy bug, never sent) and drops the connection.
 */
function startRequest(conn: Conn, ex: Exchange): void {
  try {
    ex.stopPump = writeRequest(conn.socket, ex.call, () => {
      ex.stopPump = null;
      ex.requestDone = true;
      conn.maybeRelease(ex);
    });
  } catch (err) {
    if (!(err instanceof UnsafeRequestError)) throw err;
    ex.fail(new MeshError('INTERNAL', { service: ex.call.service, cause: err }));
    conn.socket.destroy();
  }
}

// === impl RawUpstream ===

class RawUpstream {
  readonly pools = new Map<string, EndpointPool>();
  readonly idleTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxSockets: number;
  readonly maxIdle: number;
  readonly clock: Clock;
  private sweeper: TimerHandle | undefined;

  constructor(opts: UpstreamOptions) {
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 4000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.maxSockets = opts.maxSocketsPerEndpoint ?? 512;
    this.maxIdle = opts.maxIdlePerEndpoint ?? this.maxSockets;
    this.clock = opts.clock ?? systemClock;
  }

  send(call: CallContext, target: Target, fresh: boolean): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      const ex = new Exchange(call, target, fresh, this, resolve, reject);
      if (call.signal.aborted) {
        ex.fail(upstreamError(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }), call, false));
        return;
      }
      call.signal.add(ex.onAbort);
      let pool = this.pools.get(target.key);
      if (pool === undefined) {
        pool = new EndpointPool(target.key, this);
        this.pools.set(target.key, pool);
      }
      pool.acquire(ex);
    });
  }

  armSweep(): void {
    this.sweeper ??= this.clock.setInterval(() => this.sweep(), Math.max(1, this.idleTimeoutMs / 8));
  }

  /** Destroy idle sockets past their limit (public for tests; runs on its own timer). */
  sweep(): void {
    const now = this.clock.now();
    let pooled = 0;
    for (const [key, pool] of this.pools) {
      pooled += pool.sweep(now);
      if (pool.count === 0 && pool.waiting.length === 0) this.pools.delete(key);
    }
    if (pooled === 0) {
      this.sweeper?.cancel();
      this.sweeper = undefined;
    }
  }

  close(): void {
    this.sweeper?.cancel();
    this.sweeper = undefined;
    for (const pool of this.pools.values()) {
      for (const ex of pool.waiting.splice(0)) ex.fail(upstreamError(new Error('closed'), ex.call, false));
      // Busy sockets too: after draining, in-flight calls on them are cut (as http.Agent.destroy does).
      for (const conn of pool.conns) conn.socket.destroy();
    }
  }
}

/** The raw HTTP/1.1 upstream transport (see the module comment). */
export function createRawUpstream(opts: UpstreamOptions = {}): Upstream {
  const raw = new RawUpstream(opts);
  const fallback = createHttpAgentUpstream(opts);
  return {
    request: (call, target) => raw.send(call, target, false),
    upgrade: (call, target) => fallback.upgrade(call, target),
    tunnel: (call, target) => fallback.tunnel(call, target),
    close: () => {
      raw.close();
      fallback.close();
    },
  };
}
