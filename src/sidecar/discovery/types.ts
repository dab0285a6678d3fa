/**
 * @module sidecar/discovery/types
 * What discovery hands the data plane. The registry client keeps a per-service cache of instances
 * (filled on first use, refreshed by rev/304 polling and WebSocket watch) and exposes it through a
 * `ServiceDirectory`. The data plane never talks to the registry itself.
 */

/** One usable address of an instance (a parsed `rest://host:port?sslEnabled=...` endpoint). */
export interface Endpoint {
  /** Stable key for this endpoint: `${instanceId}@${host}:${port}`. */
  readonly key: string;
  readonly instanceId: string;
  readonly serviceId: string;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** The instance's version (from the registry) and the service's app. */
  readonly version: string;
  readonly app: string;
  /** Instance properties (route tags may select on any of them). */
  readonly properties: Readonly<Record<string, string>>;
  /** dataCenterInfo, when the instance carries it (zone-aware preference). */
  readonly zone?: { readonly region: string; readonly availableZone: string };
}

/** An immutable snapshot of one service's usable (UP) endpoints. */
export interface ServiceSnapshot {
  readonly serviceName: string;
  readonly app: string;
  /** Changes whenever the endpoint set changes (the registry's revision or a local counter). */
  readonly revision: string;
  readonly endpoints: readonly Endpoint[];
}

/** A discovery update for one service, in the snapshot-plus-delta style of STYLE.md §8. */
export type DiscoveryUpdate =
  | { readonly kind: 'reset'; readonly snapshot: ServiceSnapshot }
  | { readonly kind: 'doesNotExist'; readonly serviceName: string; readonly app: string };

export interface ServiceDirectory {
  /**
   * The current snapshot of `serviceName` (in `app`, default: the caller's own app). The first call
   * for a service queries the registry; later calls answer from the cache without I/O, and keep
   * answering from it while the registry is unreachable.
   * Rejects with MeshError SERVICE_NOT_FOUND when the registry says the service does not exist,
   * and with NO_ENDPOINTS when the registry cannot be reached and nothing is cached.
   */
  lookup(serviceName: string, app?: string): Promise<ServiceSnapshot>;
  /** The cached snapshot without I/O, if any (the hot path uses this first). */
  peek(serviceName: string, app?: string): ServiceSnapshot | undefined;
  /** Subscribe to updates of every tracked service; returns an unsubscribe function. Never called synchronously. */
  subscribe(listener: (update: DiscoveryUpdate) => void): () => void;
  /** Every tracked service (for the admin API). */
  tracked(): readonly ServiceSnapshot[];
}
