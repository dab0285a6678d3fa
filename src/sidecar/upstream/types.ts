/**
 * @module sidecar/upstream/types
 * The transport's view of upstream connections: send one call to one target and get an Outcome
 * whose body streams. Implementations own their connection pools (keep-alive, idle timeout) and
 * turn socket failures into MeshErrors (./errors.ts). The transport step is the only caller.
 */
import type { Clock } from '../../shared/clock.ts';
import type { CallContext, Outcome, Target } from '../chain/types.ts';

export interface UpstreamOptions {
  /**
   * Which client carries plain requests: 'http-agent' (Node's http.Agent, the default: less CPU
   * per request when measured, see docs/proxy.md) or 'undici'. Upgrades and CONNECT tunnels
   * always use node:http/net.
   */
  readonly transport?: 'undici' | 'http-agent';
  /**
   * Idle keep-alive connections are closed after this long. Shorter than common application
   * keep-alive timeouts (Node's server default is 5 s) so we close first instead of reusing a
   * socket the peer is closing. Default 4000.
   */
  readonly idleTimeoutMs?: number;
  /** Concurrent connections per endpoint (extra requests queue in the pool). Default 512. */
  readonly maxSocketsPerEndpoint?: number;
  /** Idle connections kept per endpoint. Default: maxSocketsPerEndpoint (512). */
  readonly maxIdlePerEndpoint?: number;
  /** Give up connecting after this long (UPSTREAM_CONNECT). Default 10000. */
  readonly connectTimeoutMs?: number;
  /** Times idle expiry of pooled connections (http-agent transport). Default the system clock. */
  readonly clock?: Clock;
}

export interface Upstream {
  /** A request/response exchange. Resolves at the response head; the body streams afterwards. */
  request(call: CallContext, target: Target): Promise<Outcome>;
  /** An Upgrade handshake: resolves with `socket` on 101, or with the plain response otherwise. */
  upgrade(call: CallContext, target: Target): Promise<Outcome>;
  /** A raw TCP connection for CONNECT: resolves with `socket` once connected. */
  tunnel(call: CallContext, target: Target): Promise<Outcome>;
  /** Destroy every pooled connection (call after draining: in-flight calls on them are cut). */
  close(): void;
}
