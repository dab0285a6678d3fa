/**
 * @module registry/api/govern
 * Routes for health, version and the dashboard's govern views (spec §6).
 */
import type { Route } from '../http/router.ts';
import type { RegistryContext } from '../ops/context.ts';
import {
  governApps,
  governRelations,
  governService,
  governServices,
  health,
  version,
} from '../ops/govern.ts';
import { pathId } from '../validate.ts';

export function governRoutes(ctx: RegistryContext): Route[] {
  return [
    { method: 'GET', pattern: '/v4/:project/registry/health', handler: () => ({ body: health(ctx) }) },
    {
      method: 'GET',
      pattern: '/v4/:project/registry/version',
      handler: (r) => ({ body: version(ctx, r.apiVersion === 'v3' ? '3.0.0' : '4.0.0') }),
    },
    {
      method: 'GET',
      pattern: '/v4/:project/govern/microservices',
      handler: (r) => ({ body: governServices(ctx, r.tenant, r.query) }),
    },
    {
      method: 'GET',
      pattern: '/v4/:project/govern/microservices/:serviceId',
      handler: (r) => ({ body: governService(ctx, r.tenant, pathId(r.params.serviceId!, 'serviceId')) }),
    },
    {
      method: 'GET',
      pattern: '/v4/:project/govern/relations',
      handler: (r) => ({ body: governRelations(ctx, r.tenant) }),
    },
    // A watcher or WebSocket heartbeat path without the upgrade: 400 as text (spec §5.1).
    ...[
      '/v4/:project/registry/microservices/:serviceId/watcher',
      '/v4/:project/registry/microservices/:serviceId/instances/:instanceId/heartbeat',
    ].map(
      (pattern): Route => ({ method: 'GET', pattern, handler: () => ({ status: 400, text: 'Bad Request' }) }),
    ),
    {
      method: 'GET',
      pattern: '/v4/:project/govern/apps',
      handler: (r) => ({ body: governApps(ctx, r.tenant, r.query) }),
    },
  ];
}
