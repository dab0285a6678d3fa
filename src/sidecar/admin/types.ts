/**
 * @module sidecar/admin/types
 * The admin API's handler shape: a plain async function from a parsed request to a JSON reply, so
 * every handler is callable in-process without a socket (STYLE.md practice 14). ./server.ts puts
 * them on the `rest-admin` listener; ./router.ts maps paths to handlers (one handler per file).
 */
import type { SidecarConfig } from '../config/types.ts';
import type { ServiceDirectory } from '../discovery/types.ts';
import type { InstanceIntrospection } from './instances.ts';

export interface AdminReply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface AdminRequest {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly query: URLSearchParams;
  /**
   * Request body for methods other than GET/HEAD: the server passes the raw UTF-8 text (at most
   * 64 KiB); in-process callers may pass a parsed value. Handlers accept both.
   */
  readonly body?: unknown;
}

export type AdminHandler = (req: AdminRequest) => Promise<AdminReply>;

/** Result of one health probe: plain boolean or ok plus a detail for the report. */
export type ProbeResult = boolean | { readonly ok: boolean; readonly detail?: unknown };
/** A named health check (registry reachable, registered, local app reachable...). Should not throw. */
export type Probe = () => Promise<ProbeResult> | ProbeResult;

export interface AdminDeps {
  /** Current config (read per request: the admin path is not hot). */
  readonly config: () => SidecarConfig;
  readonly directory: ServiceDirectory;
  /** Health probes by name; all must pass for /health to answer 200. */
  readonly probes: Readonly<Record<string, Probe>>;
  /** Extra readiness conditions on top of "listeners are up". */
  readonly readiness: Readonly<Record<string, Probe>>;
  /** Whether the proxy listeners are bound (and not shutting down). */
  readonly listening: () => boolean;
  /** Masks secrets before the config is shown (the config module's `maskSecrets`). */
  readonly maskSecrets: (config: SidecarConfig) => unknown;
  /** Live balancer, ejection and circuit state for /v1/mesher/instances (absent: discovery only). */
  readonly introspection?: InstanceIntrospection;
  /** How long one probe may take before it counts as failed. Default 2000. */
  readonly probeTimeoutMs?: number;
  /**
   * More endpoints by exact path (metrics, log-level, errors...), or by prefix with a key ending
   * in `/*` (`/v1/mesher/routeRule/*`). They see every method and
   * answer 405 themselves; a built-in path cannot be replaced.
   */
  readonly extraRoutes?: Readonly<Record<string, AdminHandler>>;
}
