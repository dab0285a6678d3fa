/**
 * @module sidecar/config/types
 * The sidecar's validated, frozen configuration: the one shape every other part of the sidecar reads.
 * Produced once at start-up (and again on hot reload) by `loadSidecarConfig` in ./load.ts from
 * chassis.yaml, microservice.yaml, mesher.yaml (+ any other *.yaml in the config dir), environment
 * variables and command-line flags. Nothing outside src/sidecar/config parses raw config.
 */

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface ServiceIdentity {
  /** servicecomb.service.name (required). */
  readonly name: string;
  /** servicecomb.service.app, default "default". */
  readonly app: string;
  /** servicecomb.service.version, default "0.0.1". */
  readonly version: string;
  /** servicecomb.service.environment, default "" (development|testing|acceptance|production). */
  readonly environment: string;
  /** servicecomb.service.properties: registered on the microservice. */
  readonly properties: Readonly<Record<string, string>>;
  /** servicecomb.service.instanceProperties: registered on the instance. */
  readonly instanceProperties: Readonly<Record<string, string>>;
  /** servicecomb.service.hostname, default os.hostname() (`$INTERNAL_IP` = the first non-loopback IPv4). */
  readonly hostname: string;
  /**
   * Instance dataCenterInfo from top-level region.name + region.availableZone (sent only when both
   * are set; `name` and `region` are both region.name, as go-chassis did). Absent otherwise.
   */
  readonly dataCenter?: { readonly name: string; readonly region: string; readonly availableZone: string };
}

export interface Listeners {
  /** Forward proxy (outbound, local app -> mesh). Always 127.0.0.1:<port of listenAddress>. */
  readonly outbound: HostPort;
  /**
   * Reverse proxy (inbound, mesh -> local app) on the external IP of listenAddress; null when
   * listenAddress is on 127.0.0.1 (consumer-only sidecar, as in the seed).
   */
  readonly inbound: HostPort | null;
  /** Address registered as the instance endpoint (`rest://host:port`): advertiseAddress or inbound. */
  readonly advertise: HostPort | null;
  /** Admin API (servicecomb.protocols.rest-admin.listenAddress, default 127.0.0.1:30102); null when admin.enable is false. */
  readonly admin: HostPort | null;
}

export interface RegistryClientConfig {
  /** servicecomb.registry.address split on commas; tried in order with failover. */
  readonly addresses: readonly string[];
  /**
   * servicecomb.registry.autodiscovery, default false: also use the registry replicas listed by
   * `/registry/health` (read every refreshInterval); the configured addresses are never dropped.
   */
  readonly autodiscovery?: boolean;
  /** servicecomb.registry.watch (WebSocket events), default false. */
  readonly watch: boolean;
  /** servicecomb.registry.refreshInterval in ms (default 30s; accepts "30s", "500ms", numbers as seconds). */
  readonly refreshIntervalMs: number;
  /** servicecomb.registry.heartbeat.interval in ms (default 30s). */
  readonly heartbeatIntervalMs: number;
  /** API project segment (`CSE_PROJECT_ID`, default "default"). */
  readonly project: string;
  /** X-Domain-Name sent on every call, default "default". */
  readonly domain: string;
}

export interface LoadBalanceConfig {
  /** Global strategy name (servicecomb.loadbalance.strategy.name / cse.loadbalance.strategy.name). */
  readonly strategy: string;
  /** Per-service overrides: servicecomb.loadbalance.<service>.strategy.name. */
  readonly perService: Readonly<Record<string, { readonly strategy: string }>>;
}

/** The proxy listeners' HTTP/1.1 engine (`mesher.proxy.engine`). */
export type ProxyEngine = 'fast' | 'node';

/** `mesher.proxy.engine` when the config does not say. */
export const DEFAULT_PROXY_ENGINE: ProxyEngine = 'fast';

export interface SidecarConfig {
  /** The directory the files were read from (absolute). */
  readonly confDir: string;
  readonly mode: 'sidecar' | 'edge';
  readonly service: ServiceIdentity;
  readonly listeners: Listeners;
  readonly registry: RegistryClientConfig;
  /** Declared local service ports by protocol ("rest" -> 8080), from --service-ports, SERVICE_PORTS or SPECIFIC_ADDR. */
  readonly servicePorts: Readonly<Record<string, number>>;
  /** The local application's address for inbound traffic (127.0.0.1:<rest port>), or null. */
  readonly localApp: HostPort | null;
  readonly loadBalance: LoadBalanceConfig;
  /**
   * `mesher.proxy.*` (mesher.yaml): `engine` picks the HTTP/1.1 code of the proxy listeners — the
   * raw fast path ('fast') or Node's http module ('node'). Optional so hand-built configs (tests)
   * may leave it out; the data plane then uses DEFAULT_PROXY_ENGINE.
   */
  readonly proxy?: { readonly engine: ProxyEngine };
  /**
   * Every key from every source, flattened to dotted form with env/file priority applied and
   * `${ENV||default}` substituted. Later governance features read their keys from here through
   * their own validators; secrets are masked by `maskSecrets` before anything prints it.
   */
  readonly flat: Readonly<Record<string, unknown>>;
}

/** One problem found while loading config: which file, which key, what is wrong. */
export interface ConfigIssue {
  readonly file: string;
  readonly key: string;
  readonly message: string;
}
