/**
 * @module sidecar/upstream/pool-agent
 * The keep-alive `http.Agent` behind the http-agent transport, with idle expiry done by ONE sweep
 * timer instead of a socket timeout on every pooled connection.
 *
 * Node's own `timeout` agent option arms a socket timer that stays armed while the socket carries a
 * request, so every read and write refreshes it, every request adds and removes a 'timeout'
 * listener, and `keepSocketAlive` builds the response's header object (`res.headers`) just to read
 * the Keep-Alive hint. Profiled at 1,000 rps that was a few per cent of the proxy's CPU. Here
 * `keepSocketAlive` stamps the time the socket went idle and its limit (`idleTimeoutMs`, lowered to
 * the server's `Keep-Alive: timeout=N` hint minus one second, read from the raw headers), and a
 * sweep every `idleTimeoutMs / 8` destroys free sockets past their limit. So an idle socket closes
 * between its limit and limit + idleTimeoutMs / 8.
 *
 * The connect timeout lives here too, on the sockets the agent creates (`createConnection`, with
 * the request's `connectTimeoutMs` option), so a request that reuses a pooled socket adds no
 * 'socket' listener and no timer at all.
 */
import http from 'node:http';
import net, { type NetConnectOpts, type Socket } from 'node:net';
import { type Clock, systemClock, type TimerHandle } from '../../shared/clock.ts';

/** Node's own margin under a server's Keep-Alive hint (HTTP_AGENT_KEEP_ALIVE_TIMEOUT_BUFFER). */
const HINT_MARGIN_MS = 1000;

/** TCP keep-alive probe delay, Node's agent default (`keepAliveMsecs`). */
const KEEP_ALIVE_PROBE_MS = 1000;

const idleSince = Symbol('mesher.idleSince');
const everConnected = Symbol('mesher.everConnected');
const idleLimit = Symbol('mesher.idleLimit');

type PooledSocket = Socket & {
  [everConnected]?: boolean;
  [idleSince]?: number;
  [idleLimit]?: number;
  _httpMessage?: { res?: { rawHeaders: string[] } } | null;
};

/**
 * The `timeout=N` of a raw `Keep-Alive` response header, in ms; undefined when there is none.
 * Only names of the right length are lowercased (no allocation for the other headers).
 */
export function keepAliveHintMs(raw: readonly string[]): number | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 10 || name.toLowerCase() !== 'keep-alive') continue;
    const m = /^\s*timeout=(\d+)/i.exec(raw[i + 1]!);
    return m === null ? undefined : Number(m[1]) * 1000;
  }
  return undefined;
}

/**
 * Destroy `socket` with ETIMEDOUT unless it connects within `ms`; marks it connected when it does.
 * Both listeners go once either fires (a listener left on a pooled socket kept the first call's
 * whole object graph reachable for the socket's life).
 */
export function armConnectTimeout(socket: Socket, ms: number, clock: Clock = systemClock): void {
  const timer = clock.setTimeout(
    () => socket.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })),
    ms,
  );
  const onConnect = () => {
    (socket as PooledSocket)[everConnected] = true;
    timer.cancel();
    socket.removeListener('close', onClose);
  };
  const onClose = () => {
    timer.cancel();
    socket.removeListener('connect', onConnect);
  };
  socket.once('connect', onConnect);
  socket.once('close', onClose);
}

/** Whether the request's socket ever connected (an error after that is not a connect failure). */
export function wasConnected(socket: Socket | null | undefined): boolean {
  return (socket as PooledSocket | null | undefined)?.[everConnected] === true;
}

export interface PoolAgentOptions {
  readonly maxSockets: number;
  readonly maxFreeSockets: number;
  readonly idleTimeoutMs: number;
  /** Connect timeout when the request gives none (`connectTimeoutMs` request option). */
  readonly connectTimeoutMs: number;
  readonly clock?: Clock;
}

export class PoolAgent extends http.Agent {
  readonly #idleTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #clock: Clock;
  #sweeper: TimerHandle | undefined;

  constructor(opts: PoolAgentOptions) {
    super({
      keepAlive: true,
      maxSockets: opts.maxSockets,
      maxFreeSockets: opts.maxFreeSockets,
      scheduling: 'lifo',
    });
    this.#idleTimeoutMs = opts.idleTimeoutMs;
    this.#connectTimeoutMs = opts.connectTimeoutMs;
    this.#clock = opts.clock ?? systemClock;
  }

  /** A new pooled connection, with the request's connect timeout armed on it. */
  override createConnection(options: NetConnectOpts & { connectTimeoutMs?: number }): Socket {
    const socket = net.createConnection(options);
    armConnectTimeout(socket, options.connectTimeoutMs ?? this.#connectTimeoutMs, this.#clock);
    return socket;
  }

  /** Called by Node when a socket becomes free; false = destroy it instead of pooling it. */
  override keepSocketAlive(socket: PooledSocket): boolean {
    socket.setKeepAlive(true, KEEP_ALIVE_PROBE_MS);
    socket.unref();
    let limit = this.#idleTimeoutMs;
    const res = socket._httpMessage?.res;
    if (res !== undefined) {
      const hint = keepAliveHintMs(res.rawHeaders);
      if (hint !== undefined) {
        // A server that closes within the margin cannot be reused safely (Node does the same).
        if (hint - HINT_MARGIN_MS <= 0) return false;
        limit = Math.min(limit, hint - HINT_MARGIN_MS);
      }
    }
    socket[idleSince] = this.#clock.now();
    socket[idleLimit] = limit;
    this.#sweeper ??= this.#clock.setInterval(() => this.sweep(), Math.max(1, this.#idleTimeoutMs / 8));
    return true;
  }

  /** Destroy free sockets idle past their limit (public for tests; runs on its own timer). */
  sweep(): void {
    const now = this.#clock.now();
    const free = this.freeSockets as Record<string, PooledSocket[] | undefined>;
    let pooled = 0;
    for (const name of Object.keys(free)) {
      const list = free[name]!;
      for (let i = list.length - 1; i >= 0; i--) {
        const s = list[i]!;
        if (now - (s[idleSince] ?? now) < (s[idleLimit] ?? this.#idleTimeoutMs)) continue;
        // Out of the pool at once (Node's own removal waits for 'close', a loop turn later, and a
        // request arriving in between could be given the dead socket).
        list.splice(i, 1);
        s.destroy();
      }
      if (list.length === 0) delete free[name];
      pooled += list.length;
    }
    // Nothing pooled: stop until a socket is freed again (keepSocketAlive re-arms).
    if (pooled === 0) this.stopSweeping();
  }

  stopSweeping(): void {
    this.#sweeper?.cancel();
    this.#sweeper = undefined;
  }

  override destroy(): void {
    this.stopSweeping();
    super.destroy();
  }
}
