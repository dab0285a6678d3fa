/**
 * @module sidecar/admin/ready
 * `GET /v1/mesher/ready`: 200 once the proxy listeners are up and every injected readiness probe
 * passes (e.g. the local app answering its health check), 503 otherwise and while shutting down.
 */
import { runProbes } from './probes.ts';
import type { AdminDeps, AdminHandler } from './types.ts';

export function createReadyHandler(deps: AdminDeps): AdminHandler {
  const timeoutMs = deps.probeTimeoutMs ?? 2000;
  return async () => {
    const listening = deps.listening();
    const report = await runProbes(deps.readiness, timeoutMs);
    const ready = listening && report.ok;
    return {
      status: ready ? 200 : 503,
      body: { ready, checks: { listeners: { ok: listening }, ...report.checks } },
    };
  };
}
