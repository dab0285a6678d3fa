/**
 * @module api-client
 * The one typed client of mesher's public APIs, shared by the `mesher` CLI and the dashboard:
 * the registry (ServiceComb v4), the config center (Kie `/v1/{project}/kie/kv`) and a sidecar's
 * admin API. Every failure is an `ApiError` carrying the HTTP status and the server's error code.
 *
 * @example
 * const api = createApiClient({ registry: 'http://127.0.0.1:30100' });
 * const services = await api.registry.listServices();
 * await api.config.put({ key: 'cse.loadbalance.strategy.name', value: 'Random', labels: { app: 'default' } });
 */
import { ConfigCenterClient } from './config-center.ts';
import { RegistryClient } from './registry.ts';
import { SidecarAdminClient } from './sidecar-admin.ts';
import { TopologyClient } from './topology.ts';

export {
  ConfigCenterClient,
  type ConfigCenterClientOptions,
  type Kv,
  type KvPage,
  type KvQuery,
  type KvStatus,
  type Labels,
  type MatchMode,
  type NewKv,
  type PollResult,
  sameLabels,
} from './config-center.ts';
export { ApiError, type ClientErrorCode, errorFromBody, isApiError } from './errors.ts';
export { Http, type HttpOptions, type HttpReply, MAX_RESPONSE_BYTES, type RequestSpec } from './http.ts';
export {
  type InstanceInfo,
  RegistryClient,
  type RegistryClientOptions,
  type ServiceInfo,
} from './registry.ts';
export { checkRouteRuleYaml, RULE_LIMITS, type RuleIssue, routeRuleKey } from './route-rule.ts';
export {
  SidecarAdminClient,
  type SidecarConfigView,
  type SidecarHealth,
  type SidecarVersion,
  type TrackedService,
} from './sidecar-admin.ts';
export {
  type Topology,
  TopologyClient,
  type TopologyEdge,
  type TopologyNode,
  type TopologyVersionStats,
} from './topology.ts';

export interface ApiClientOptions {
  /** Registry base URL; the config center is served by the same process unless `configCenter` says otherwise. */
  readonly registry: string;
  readonly configCenter?: string;
  readonly project?: string;
  readonly domain?: string;
  readonly timeoutMs?: number;
}

export interface ApiClient {
  readonly registry: RegistryClient;
  readonly config: ConfigCenterClient;
  /** Who calls whom, aggregated by the registry from the sidecars' reports. */
  readonly topology: TopologyClient;
  /** A client for one sidecar's admin API. */
  sidecar(adminUrl: string): SidecarAdminClient;
}

export function createApiClient(opts: ApiClientOptions): ApiClient {
  const common = { project: opts.project, domain: opts.domain, timeoutMs: opts.timeoutMs };
  return {
    registry: new RegistryClient({ baseUrl: opts.registry, ...common }),
    config: new ConfigCenterClient({ baseUrl: opts.configCenter ?? opts.registry, ...common }),
    topology: new TopologyClient({ baseUrl: opts.registry, ...common }),
    sidecar: (adminUrl) => new SidecarAdminClient({ baseUrl: adminUrl, timeoutMs: opts.timeoutMs }),
  };
}
