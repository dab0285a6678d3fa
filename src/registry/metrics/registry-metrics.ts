/**
 * @module registry/metrics/registry-metrics
 * The registry's Prometheus metrics (issues 6 and 8), on a prom-client Registry of its own per
 * registry server, served as `GET /metrics` on the registry port (service-center serves its
 * Prometheus text at `/metrics` too; the `/v4/...` namespace stays the service-center API).
 *
 * Wiring (../main.ts):
 *   const metrics = new RegistryMetrics(opts);        // validates the options
 *   const store = metrics.meterStore(rawStore);       // the Store the registry's operations use
 *   ... catalog, watcher, config center, topology ...
 *   metrics.attach({ catalog, watcher, longPolls, topology });
 *   routes.push(metrics.route); metrics.http.bindRoutes(routes);
 *   createRequestHandler(router, log, metrics.http); server.on('upgrade', s => metrics.upgrades.track(s))
 *
 * Every name starts with `prefix` (default `mesher_registry_`); the families are listed in
 * ./http-metrics.ts, ./store-metrics.ts, ./catalog-metrics.ts and ./component-metrics.ts, and
 * in docs/registry.md. Process metrics come from ./process-metrics.ts.
 */
import { Registry } from 'prom-client';
import type { Catalog } from '../catalog.ts';
import type { Route } from '../http/router.ts';
import type { Store } from '../storage/types.ts';
import { type CatalogMetrics, catalogMetrics, InstanceLifecycle } from './catalog-metrics.ts';
import type { PromMetric } from './cells.ts';
import { type ComponentSources, componentMetrics, UpgradeTracker } from './component-metrics.ts';
import { HttpMetrics } from './http-metrics.ts';
import { processRegistry } from './process-metrics.ts';
import { MeteredStore, storeBackend, storeMetrics } from './store-metrics.ts';

export const METRICS_PATH = '/metrics';
export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

export interface RegistryMetricsOptions {
  /** Prefix of every registry metric name (default `mesher_registry_`). */
  prefix?: string;
  /** Add prom-client's process and Node.js metrics (default true). */
  processMetrics?: boolean;
  /** Prefix of the process metrics (default: `prefix`; '' gives prom-client's `process_*` names). */
  processPrefix?: string;
  /** Tenants that get their own `services`/`instances` series; the rest are summed as `_other` (default 100). */
  maxTenants?: number;
}

const DEFAULTS = { prefix: 'mesher_registry_', processMetrics: true, maxTenants: 100 } as const;
const PREFIX_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/;

export interface AttachSources extends ComponentSources {
  catalog: Catalog;
}

export class RegistryMetrics {
  readonly prefix: string;
  readonly registry = new Registry();
  readonly http: HttpMetrics;
  readonly upgrades = new UpgradeTracker();
  /** `GET /metrics`: mount it on the registry's Router. */
  readonly route: Route;
  readonly #process: Registry | null;
  readonly #maxTenants: number;
  #store: MeteredStore | null = null;
  #lifecycle: InstanceLifecycle | null = null;
  #catalog: CatalogMetrics | null = null;

  constructor(opts: RegistryMetricsOptions = {}) {
    const prefix = opts.prefix ?? DEFAULTS.prefix;
    const processPrefix = opts.processPrefix ?? prefix;
    if (!PREFIX_RE.test(prefix))
      throw new RangeError(`metrics.prefix: '${prefix}' is not a metric name prefix`);
    if (!PREFIX_RE.test(processPrefix))
      throw new RangeError(`metrics.processPrefix: '${processPrefix}' is not a metric name prefix`);
    const maxTenants = opts.maxTenants ?? DEFAULTS.maxTenants;
    if (!Number.isInteger(maxTenants) || maxTenants < 0)
      throw new RangeError(`metrics.maxTenants must be an integer >= 0: ${maxTenants}`);
    this.prefix = prefix;
    this.#maxTenants = maxTenants;
    this.#process = (opts.processMetrics ?? DEFAULTS.processMetrics) ? processRegistry(processPrefix) : null;
    this.http = new HttpMetrics(prefix);
    this.#register(this.http.metrics);
    this.route = {
      method: 'GET',
      pattern: METRICS_PATH,
      handler: async () => ({
        text: await this.render(),
        headers: { 'content-type': PROMETHEUS_CONTENT_TYPE },
      }),
    };
  }

  /** Wrap the registry's store so its writes, errors and heartbeats are counted (once). */
  meterStore(store: Store): MeteredStore {
    if (this.#store) throw new Error('meterStore: the store is already metered');
    const metered = new MeteredStore(store, this.prefix);
    this.#store = metered;
    this.#register(storeMetrics(metered, storeBackend(store), this.prefix));
    this.#lifecycle = new InstanceLifecycle(store);
    return metered;
  }

  /** Register the catalog, watcher, long-poll and topology metrics (after meterStore). */
  attach(src: AttachSources): void {
    if (!this.#lifecycle) throw new Error('attach: call meterStore first');
    if (this.#catalog) throw new Error('attach: already attached');
    this.#catalog = catalogMetrics(src.catalog, this.#lifecycle, this.prefix, this.#maxTenants);
    this.#register(this.#catalog.metrics);
    this.#register(componentMetrics({ ...src, upgrades: src.upgrades ?? this.upgrades }, this.prefix));
  }

  /** The Prometheus text exposition of this registry (and of the process). */
  async render(): Promise<string> {
    this.#catalog?.refresh();
    const own = await this.registry.metrics();
    return this.#process ? own + (await this.#process.metrics()) : own;
  }

  /** Stop watching the store (before it closes). */
  close(): void {
    this.#lifecycle?.close();
  }

  #register(metrics: readonly PromMetric[]): void {
    // prom-client's registerMetric takes any object with its metric shape.
    for (const m of metrics)
      this.registry.registerMetric(m as unknown as Parameters<Registry['registerMetric']>[0]);
  }
}
