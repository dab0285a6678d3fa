/**
 * @module sidecar/routing
 * Public surface of the route-rule engine. Parse config once per version (`parseRouteTable`,
 * `parsePropagation`), build a `Router` per (table, caller), decide per outbound request, and let
 * the load-balance step pick among `routedSnapshot(snapshot, decision)` endpoints.
 */
export { camelHeader, translateDarklaunch } from './darklaunch.ts';
export { endpointsFor, filterEndpoints, routedSnapshot, selectEndpoints } from './filter.ts';
export { headerValue } from './match.ts';
export { parseRouteTable, type RouteTableResult, reloadRouteTable } from './parse.ts';
export {
  correlationId,
  DEFAULT_PROPAGATION,
  type PropagationConfig,
  PropagationStore,
  parsePropagation,
} from './propagation.ts';
export { createRouter, Router } from './router.ts';
export {
  type CompiledRule,
  DEFAULT_DECISION,
  EMPTY_TABLE,
  type RouteTable,
  routeKeyOf,
  tableSpecs,
} from './table.ts';
export type * from './types.ts';
