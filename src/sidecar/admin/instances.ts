/**
 * @module sidecar/admin/instances
 * `GET /v1/mesher/instances`: the discovery cache, i.e. every tracked service's current snapshot.
 * `?service=name` narrows it to one service.
 */
import type { AdminDeps, AdminHandler } from './types.ts';

export function createInstancesHandler(deps: Pick<AdminDeps, 'directory'>): AdminHandler {
  return async (req) => {
    const only = req.query.get('service');
    const services = deps.directory
      .tracked()
      .filter((s) => only === null || s.serviceName === only)
      .map((s) => ({
        serviceName: s.serviceName,
        app: s.app,
        revision: s.revision,
        endpoints: s.endpoints.map((e) => ({
          key: e.key,
          instanceId: e.instanceId,
          host: e.host,
          port: e.port,
          tls: e.tls,
          version: e.version,
          ...(e.zone ? { zone: e.zone } : {}),
        })),
      }));
    return { status: 200, body: { services } };
  };
}
