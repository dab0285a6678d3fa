/**
 * @module sidecar/registry-client/types
 * The sidecar's view of the registry: the ServiceComb service-center v4 wire types it reads and
 * writes, and `RegistryApi`, the one interface registration and discovery call. The HTTP
 * implementation is ./client.ts; unit tests use the in-memory fake in test/support.
 *
 * Contract for every method: it either resolves, or rejects with a `RegistryError`
 * (./errors.ts) — never with anything else. Business errors keep the registry's errorCode
 * (e.g. '400012' unknown service, '400017' unknown instance).
 */
import type { RegistryError } from './errors.ts';

/** A microservice as service-center stores it (only the fields the sidecar uses or sets). */
export interface MicroService {
  serviceId?: string;
  appId: string;
  serviceName: string;
  version: string;
  environment?: string;
  level?: string;
  status?: string;
  alias?: string;
  registerBy?: string;
  framework?: { name: string; version: string };
  properties?: Record<string, string>;
  description?: string;
  timestamp?: string;
  modTimestamp?: string;
}

export type InstanceStatus = 'UP' | 'DOWN' | 'STARTING' | 'TESTING' | 'OUTOFSERVICE';

export interface HealthCheck {
  mode: 'push' | 'pull';
  /** Seconds. */
  interval?: number;
  times?: number;
  port?: number;
  url?: string;
}

export interface DataCenterInfo {
  name: string;
  region: string;
  availableZone: string;
}

export interface MicroServiceInstance {
  instanceId?: string;
  serviceId?: string;
  endpoints?: string[];
  hostName: string;
  /** Absent means UP (the registry's default). Other statuses may appear on the wire. */
  status?: string;
  healthCheck?: HealthCheck;
  dataCenterInfo?: DataCenterInfo;
  properties?: Record<string, string>;
  version?: string;
  timestamp?: string;
  modTimestamp?: string;
}

/** What identifies a microservice for the existence query. */
export interface ServiceKey {
  appId: string;
  serviceName: string;
  version: string;
  environment: string;
}

/** One provider to look up. `serviceName` may also be an alias (`app:name`). */
export interface FindQuery {
  appId: string;
  serviceName: string;
  environment?: string;
  /** The caller's own serviceId: records the dependency, which makes the watcher deliver events. */
  consumerId?: string;
  /** Last revision seen; the registry answers "not modified" when it is still current. */
  rev?: string;
}

export type FindResult =
  | { readonly notModified: true; readonly rev: string }
  | { readonly notModified: false; readonly rev: string; readonly instances: MicroServiceInstance[] };

export type BatchFindItem = Omit<FindQuery, 'consumerId'>;

/** The outcome of one item of a batch query, in request order. */
export type BatchFindItemResult =
  | { readonly kind: 'updated'; readonly rev: string; readonly instances: MicroServiceInstance[] }
  | { readonly kind: 'notModified' }
  | { readonly kind: 'failed'; readonly error: RegistryError };

/** One WebSocket watch event (service-center's WatchInstanceResponse). */
export interface WatchEvent {
  /** CREATE | UPDATE | DELETE (EXPIRE/INIT/ERROR exist as constants upstream). */
  readonly action: string;
  readonly key: {
    readonly tenant?: string;
    readonly environment?: string;
    readonly appId: string;
    readonly serviceName: string;
    readonly alias?: string;
    readonly version?: string;
  };
  readonly instance: MicroServiceInstance;
}

/**
 * Callbacks of one watch connection. `onClose` is called exactly once per connection (after
 * `onOpen`, or instead of it when the connection never opened) unless the owner closed the handle
 * itself, in which case nothing more is called.
 */
export interface WatchHandlers {
  onOpen(): void;
  onEvent(event: WatchEvent): void;
  onClose(error?: RegistryError): void;
}

export interface WatchHandle {
  /** Close the connection; no callback runs afterwards. Idempotent. */
  close(): void;
}

export interface CallOptions {
  /** Overrides the client's per-call timeout (per address attempt). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface RegistryApi {
  /** GET /existence?type=microservice: the serviceId, or null when the service or version is unknown. */
  existence(key: ServiceKey, opts?: CallOptions): Promise<string | null>;
  /** POST /microservices (idempotent on the registry side): the serviceId. */
  createService(service: MicroService, opts?: CallOptions): Promise<string>;
  /** GET /microservices/{id}: the service, or null when it does not exist (400012). */
  getService(serviceId: string, opts?: CallOptions): Promise<MicroService | null>;
  /** PUT /microservices/{id}/properties (replaces the whole map). */
  updateServiceProperties(
    serviceId: string,
    properties: Record<string, string>,
    opts?: CallOptions,
  ): Promise<void>;
  /** POST /microservices/{id}/instances: the instanceId (a known instanceId is renewed, not rewritten). */
  registerInstance(serviceId: string, instance: MicroServiceInstance, opts?: CallOptions): Promise<string>;
  /** PUT …/instances/{iid}/heartbeat. Rejects with errorCode 400017 when the instance is gone. */
  heartbeat(serviceId: string, instanceId: string, opts?: CallOptions): Promise<void>;
  /** DELETE …/instances/{iid}. */
  deregisterInstance(serviceId: string, instanceId: string, opts?: CallOptions): Promise<void>;
  /** PUT …/instances/{iid}/status?value=… */
  setInstanceStatus(
    serviceId: string,
    instanceId: string,
    status: InstanceStatus,
    opts?: CallOptions,
  ): Promise<void>;
  /** GET /instances?appId&serviceName[&rev]: 304 becomes `{ notModified: true }`. */
  findInstances(query: FindQuery, opts?: CallOptions): Promise<FindResult>;
  /** POST /instances/action?type=query: one result per item, in order. */
  batchFind(
    items: readonly BatchFindItem[],
    consumerId?: string,
    opts?: CallOptions,
  ): Promise<BatchFindItemResult[]>;
  /** Open the WebSocket watcher of `consumerId` (one connection; reconnecting is the caller's job). */
  watch(consumerId: string, handlers: WatchHandlers): WatchHandle;
  /** Close pooled connections and open watchers. */
  close(): Promise<void>;
}
