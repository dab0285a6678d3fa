/**
 * @module sidecar/lifecycle/readiness
 * The readiness conditions `/v1/mesher/ready` checks on top of "the listeners are up":
 *
 * - `localApp`: with local health checks configured, ALL of them pass (their last results — the
 *   endpoint never waits for a probe); without checks but with a local app (SERVICE_PORTS), a TCP
 *   connect to it succeeds; a consumer-only sidecar has no such condition.
 * - `shutdown`: not draining. Once shutdown starts the sidecar answers 503 here while its
 *   listeners still serve, so an orchestrator stops sending new work.
 */
import { tcpProbe } from '../admin/probes.ts';
import type { Probe } from '../admin/types.ts';
import type { HostPort } from '../config/types.ts';
import type { LocalHealthChecker } from './health-checker.ts';

export interface ReadinessDeps {
  /** The current health checker (undefined when no `localHealthCheck` is configured). */
  readonly checker: () => LocalHealthChecker | undefined;
  readonly localApp: HostPort | null;
  readonly draining: () => boolean;
}

/** The local app's probe (also used by /v1/mesher/health), or undefined for a consumer-only sidecar. */
export function localAppProbe(deps: Omit<ReadinessDeps, 'draining'>): Probe | undefined {
  const tcp = deps.localApp ? tcpProbe(deps.localApp) : undefined;
  if (!tcp && deps.checker() === undefined) return undefined;
  return () => {
    const checker = deps.checker();
    if (checker) {
      const r = checker.report();
      return { ok: r.healthy, detail: r.checks };
    }
    return tcp ? tcp() : { ok: true };
  };
}

export function readinessProbes(deps: ReadinessDeps): Record<string, Probe> {
  const probes: Record<string, Probe> = {
    shutdown: () => (deps.draining() ? { ok: false, detail: 'draining: shutting down' } : { ok: true }),
  };
  const app = localAppProbe(deps);
  if (app) probes.localApp = app;
  return probes;
}
