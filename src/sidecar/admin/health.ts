/**
 * @module sidecar/admin/health
 * `GET /v1/mesher/health`: runs the injected probes (registry reachable, registered, local app
 * reachable) and answers 200 `status: "green"` when all pass, 503 `status: "red"` otherwise, with
 * each check's result. Unlike the original, this is real: it is not always green.
 */
import { runProbes } from './probes.ts';
import type { AdminDeps, AdminHandler } from './types.ts';

export function createHealthHandler(deps: AdminDeps): AdminHandler {
  const timeoutMs = deps.probeTimeoutMs ?? 2000;
  return async () => {
    const config = deps.config();
    const report = await runProbes(deps.probes, timeoutMs);
    return {
      status: report.ok ? 200 : 503,
      body: {
        serviceName: config.service.name,
        version: config.service.version,
        status: report.ok ? 'green' : 'red',
        checks: report.checks,
      },
    };
  };
}
