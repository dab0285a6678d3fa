/**
 * @module registry/api/routes
 * Every HTTP route the registry serves, in one list: the v4 service-center API plus the
 * extensions mounted beside it. `main.ts` hands this list to the Router.
 */
import type { Route } from '../http/router.ts';
import type { RegistryContext } from '../ops/context.ts';
import type { TopologyApi } from '../topology/routes.ts';
import { governRoutes } from './govern.ts';
import { instanceRoutes } from './instances.ts';
import { microserviceRoutes } from './microservices.ts';

/** `topology` is passed in (not built here) so the metrics can read its store. */
export function registryRoutes(
  ctx: RegistryContext,
  topology: TopologyApi,
  extra: readonly Route[] = [],
): Route[] {
  return [
    ...microserviceRoutes(ctx),
    ...instanceRoutes(ctx),
    ...governRoutes(ctx),
    // Who calls whom, from the sidecars' reports (in memory, per registry replica).
    ...topology.routes,
    ...extra,
  ];
}
