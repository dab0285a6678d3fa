/**
 * @module sidecar/chain/types
 * The protocol-agnostic call model of the data plane. Listeners (HTTP/1.1 today, HTTP/2 and gRPC
 * later) turn what arrives on a socket into a `CallContext`, run it through a chain of `Step`s
 * built once per config version, and write the resulting `Outcome` back. Steps never see Node's
 * `IncomingMessage`/`ServerResponse`; errors travel as thrown `MeshError`s to ./rescue.ts.
 */
import type { Duplex, Readable } from 'node:stream';
import type { Endpoint } from '../discovery/types.ts';
import type { RouteDecision } from '../routing/types.ts';
import type { CallSignal } from './call-signal.ts';

/** Which side of the sidecar the call came in on. */
export type Direction = 'outbound' | 'inbound';

/** Where the transport step sends the call: a discovered endpoint or the local application. */
export interface Target {
  /** Stable key (the endpoint's key, or `local@host:port`): used for pooling and reporting. */
  readonly key: string;
  readonly host: string;
  readonly port: number;
}

/** The calling microservice, as far as the proxy knows it. */
export interface SourceIdentity {
  /** Service name (outbound: ourselves; inbound: read from x-cse-context / x-cse-src-microservice). */
  readonly service: string | undefined;
  /** Peer IP address of the connection. */
  readonly address: string | undefined;
}

export interface CallTimings {
  /** performance.now() when the listener accepted the request. */
  readonly startMs: number;
}

/**
 * One call travelling through the chain. Mutable on purpose: steps fill in `target` and
 * `attempt` and may edit `headers` in place; a single object per request keeps the hot path free
 * of copies.
 */
export interface CallContext {
  readonly direction: Direction;
  /**
   * What the call is: a plain request/response exchange, an `Upgrade` (WebSocket) handshake, or a
   * `CONNECT` tunnel. The transport step answers each kind differently.
   */
  readonly kind: 'request' | 'upgrade' | 'tunnel';
  readonly method: string;
  /** Logical target service (outbound: from the URL or Host; inbound: our own name). */
  readonly service: string;
  /** App the service is looked up in; undefined = the caller's own app. */
  readonly app: string | undefined;
  /** Path and query exactly as received (origin-form), e.g. `/hello?x=1`. */
  readonly path: string;
  /**
   * Request headers as a flat `[name, value, name, value, ...]` list (the `rawHeaders` shape):
   * multi-valued headers stay separate and order is preserved. Hop-by-hop headers are already gone.
   */
  headers: string[];
  /**
   * Request body, streamed; null when the request has none. A retry step may replace it with a
   * replay of a bounded buffer for each attempt.
   */
  body: Readable | null;
  /** Whether the request declared a body (Content-Length > 0 or Transfer-Encoding). */
  readonly hasBody: boolean;
  readonly source: SourceIdentity;
  /**
   * The local port the caller asked for with `X-Forwarded-Port` (outbound: the URL's port, passed
   * on; inbound: checked against the declared service ports by the local-target step).
   */
  readonly requestedPort: string | undefined;
  /** Set by the load-balance (outbound) or local-target (inbound) step. */
  target: Target | undefined;
  /** The discovered endpoint the load-balance step chose (also `target`); undefined inbound. */
  endpoint: Endpoint | undefined;
  /** Endpoint keys the balancer must not pick (retry steps add the ones already tried). */
  exclude: Set<string> | undefined;
  /** 1 for the first try; retry steps increment it. */
  attempt: number;
  /**
   * Set by a retry step that owns re-attempts: the load-balance step then leaves connect failover
   * to it (one `next` = one attempt on one endpoint). Undefined = no retry step.
   */
  retrying?: boolean;
  /**
   * Set by a retry step to run the next attempt on this endpoint again (`retryOnSame`): the
   * load-balance step uses it instead of picking. Undefined = pick as usual.
   */
  pinned?: Endpoint;
  /** Connect timeout for this call's attempts, ms (timeout step); undefined = the pool's default. */
  connectTimeoutMs?: number;
  /**
   * When the whole call expires (injected-clock ms), set by the timeout step at the first attempt;
   * later attempts and retry backoffs must fit before it. Undefined = not set yet.
   */
  deadlineMs?: number;
  /**
   * The route step's decision (undefined until it runs). A field, not a WeakMap keyed by the call:
   * measured at 1,000 rps, a per-call WeakMap entry let each call's whole object graph survive
   * the young-generation GC (about 1 MB promoted per scavenge instead of under 0.1 MB, scavenge
   * pauses of 5-12 ms instead of 1-3 ms, +40 MB RSS). See bench/hot-path.
   */
  route?: RouteDecision;
  readonly timings: CallTimings;
  /**
   * Aborted when the client goes away; transports abort their upstream work on it. A step that
   * runs several attempts (retry, per-try timeout) swaps in `signal.child()` around each `next`
   * and restores the parent afterwards, so it can abort one attempt without ending the call.
   */
  signal: CallSignal;
  /** Bytes the client already sent after the upgrade/CONNECT head (tunnels and upgrades only). */
  readonly head: Buffer | undefined;
}

/**
 * The answer to a call. `body` streams; `headers` is a flat raw list like `CallContext.headers`.
 * For upgrades and tunnels that succeeded, `socket` is the upstream connection to splice with the
 * client's (and `head` the bytes the upstream sent after its 101).
 */
export interface Outcome {
  readonly status: number;
  readonly headers: string[];
  /** A stream to pipe, a small buffer the proxy made itself (error bodies), or nothing. */
  readonly body: Readable | Buffer | null;
  readonly socket?: Duplex;
  readonly head?: Buffer;
  /** Set on responses the proxy made itself (rescue): the error code. */
  readonly errorCode?: string;
}

/** Continue with the rest of the chain. */
export type Next = (call: CallContext) => Promise<Outcome>;

/**
 * One governance step. Calls `next(call)` zero or one times (retry steps may call it again after
 * the previous attempt's outcome is settled), and either returns an Outcome or throws a MeshError.
 */
export type Step = (call: CallContext, next: Next) => Promise<Outcome>;

/** A composed chain: what a listener calls per request. */
export type Handler = (call: CallContext) => Promise<Outcome>;
