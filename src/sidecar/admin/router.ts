/**
 * @module sidecar/admin/router
 * Maps admin paths to handlers. Unknown path → 404 JSON, wrong method → 405 JSON; callable
 * in-process (`const reply = await admin.handle({ method, path, query })`).
 */
import { createConfigHandler } from './config.ts';
import { createHealthHandler } from './health.ts';
import { createInstancesHandler } from './instances.ts';
import { createReadyHandler } from './ready.ts';
import type { AdminDeps, AdminHandler, AdminReply, AdminRequest } from './types.ts';
import { createVersionHandler } from './version.ts';

export interface AdminRouter {
  handle(req: AdminRequest): Promise<AdminReply>;
  readonly paths: readonly string[];
}

export function createAdminRouter(deps: AdminDeps): AdminRouter {
  const routes = new Map<string, AdminHandler>([
    ['/v1/mesher/version', createVersionHandler()],
    ['/v1/mesher/health', createHealthHandler(deps)],
    ['/v1/mesher/ready', createReadyHandler(deps)],
    ['/v1/mesher/instances', createInstancesHandler(deps)],
    ['/v1/mesher/config', createConfigHandler(deps)],
  ]);
  const builtIn = new Set(routes.keys());
  // Extra routes whose key ends in `/*` match every path under it (`/v1/mesher/routeRule/*`).
  const prefixes: Array<[string, AdminHandler]> = [];
  const prefixed = (path: string): AdminHandler | undefined =>
    prefixes.find(([p]) => path.startsWith(p))?.[1];
  for (const [path, handler] of Object.entries(deps.extraRoutes ?? {})) {
    if (path.endsWith('/*')) prefixes.push([path.slice(0, -1), handler]);
    else if (!builtIn.has(path)) routes.set(path, handler);
  }
  return {
    paths: [...routes.keys()],
    async handle(req) {
      const path = req.path.length > 1 && req.path.endsWith('/') ? req.path.slice(0, -1) : req.path;
      const handler = routes.get(path) ?? prefixed(path);
      if (handler === undefined) {
        return {
          status: 404,
          body: { code: 'NOT_FOUND', message: `No admin endpoint ${path}`, paths: [...routes.keys()] },
        };
      }
      if (builtIn.has(path) && req.method !== 'GET' && req.method !== 'HEAD') {
        return {
          status: 405,
          body: { code: 'METHOD_NOT_ALLOWED', message: 'Admin endpoints accept GET only' },
          headers: { allow: 'GET, HEAD' },
        };
      }
      return handler(req);
    },
  };
}
