/**
 * @module sidecar/steps/local-target
 * Inbound: aim the call at the local application. `X-Forwarded-Port` picks another local port only
 * when it is one of the declared service ports (`config.servicePorts`); anything else is refused
 * with 403 FORBIDDEN_PORT, closing the original's SSRF hole (any caller could reach any local port).
 * No local application configured → 502 LOCAL_APP_UNAVAILABLE.
 */
import { MeshError } from '../../shared/errors.ts';
import type { Step, Target } from '../chain/types.ts';
import type { SidecarConfig } from '../config/types.ts';

export function createLocalTarget(config: Pick<SidecarConfig, 'localApp' | 'servicePorts'>): Step {
  const host = config.localApp?.host ?? '127.0.0.1';
  const byPort = new Map<string, Target>();
  const add = (port: number) => byPort.set(String(port), { key: `local@${host}:${port}`, host, port });
  for (const port of Object.values(config.servicePorts)) add(port);
  if (config.localApp) add(config.localApp.port);
  const fallback = config.localApp ? byPort.get(String(config.localApp.port)) : undefined;

  return function localTarget(call, next) {
    let target = fallback;
    if (call.requestedPort !== undefined) {
      target = byPort.get(call.requestedPort.trim());
      if (target === undefined) {
        return Promise.reject(
          new MeshError('FORBIDDEN_PORT', {
            service: call.service,
            message: `X-Forwarded-Port ${JSON.stringify(call.requestedPort)} is not a declared service port`,
          }),
        );
      }
    }
    if (target === undefined) {
      return Promise.reject(
        new MeshError('LOCAL_APP_UNAVAILABLE', {
          service: call.service,
          message: 'No local application is configured (set --service-ports rest:PORT)',
        }),
      );
    }
    call.target = target;
    return next(call);
  };
}
