/**
 * @module registry/api/routes
 * Every HTTP route the registry serves, in one list: the v4 service-center API plus the
 * extensions mounted beside it. `main.ts` hands this list to the Router.
 */
import type { Route } from '../http/router.ts';
import type { RegistryContext } from '../ops/context.ts';
import { topologyRoutes } from '../topology/routes.ts';
import { governRoutes } from './govern.ts';
import { instanceRoutes } from './instances.ts';
import { microserviceRoutes } from './microservices.ts';

export function registryRoutes(ctx: RegistryContext, extra: readonly Route[] = []): Route[] {
  return [
    ...microserviceRoutes(ctx),
    ...instanceRoutes(ctx),
    ...governRoutes(ctx),
    // Who calls whom, from the sidecars' reports (in memory, per registry replica).
    ...topologyRoutes(ctx),
    ...extra,
  ];
}
