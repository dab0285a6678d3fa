/**
 * @module registry/main
 * Wires the registry: store (embedded, or etcd for replicas) → catalog (with self-preservation)
 * → operations → HTTP routes + WebSocket watcher, and registers the registry itself as
 * SERVICECENTER (./self-registration.ts) so `health` lists every replica. Unless turned off,
 * Prometheus metrics (./metrics/) meter the store, the HTTP edge and the WebSocket upgrades and
 * are served as `GET /metrics`.
 * `startRegistry` is what the CLI and other planes' integration tests call.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Clock, systemClock } from '../shared/clock.ts';
import { createLogger, type Logger } from '../shared/log.ts';
import { registryRoutes } from './api/routes.ts';
import { Catalog } from './catalog.ts';
import { createConfigCenter } from './config-center/routes.ts';
import { Router } from './http/router.ts';
import { createRequestHandler } from './http/server.ts';
import { RegistryMetrics, type RegistryMetricsOptions } from './metrics/registry-metrics.ts';
import { DEFAULT_CONFIG, type RegistryConfig, type RegistryContext } from './ops/context.ts';
import { registerSelf, type SelfRegistration } from './self-registration.ts';
import { EmbeddedStore } from './storage/embedded-store.ts';
import type { Store } from './storage/types.ts';
import { createTopologyApi } from './topology/routes.ts';
import { Watcher, type WatcherOptions } from './watch/watcher.ts';

export interface RegistryOptions {
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Listen port (default 30100; 0 for an ephemeral port). */
  port?: number;
  /** Data directory; null or '' keeps everything in memory. Default: in memory. */
  dataDir?: string | null;
  clock?: Clock;
  /** Overrides of the registry config (environment, TTL override, quotas, ...). */
  config?: Partial<RegistryConfig>;
  watch?: WatcherOptions;
  /** Lease sweep period (default 1000 ms). */
  sweepIntervalMs?: number;
  /** WAL size that triggers a snapshot (default 64 MiB). */
  compactBytes?: number;
  /** Register the registry itself as SERVICECENTER (default true). */
  registerSelf?: boolean;
  /**
   * Use this store instead of opening the embedded one from `dataDir` (an etcd backend later;
   * fault-injecting stores in tests). The registry closes it on close().
   */
  store?: Store;
  /**
   * Keep the data in an etcd v3 cluster instead (`dataDir` is then ignored): any number of
   * registries on the same endpoints and namespace are interchangeable replicas.
   */
  etcd?: EtcdOptions;
  /** Serve the Kie-style config center (`/v1/{project}/kie/kv`) from the same store (default true). */
  configCenter?: boolean;
  /** Prometheus metrics on `GET /metrics` (default on); false leaves them out entirely. */
  metrics?: RegistryMetricsOptions | false;
  logger?: Logger;
}

export interface RegistryServer {
  /** `http://HOST:PORT` */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** In-process access for tests and embedding (the HTTP API is the public surface). */
  readonly context: RegistryContext;
  /** The store as opened (or as passed in); `context.store` is the metered view of it. */
  readonly store: Store;
  /** The metrics, or null when `metrics: false`. */
  readonly metrics: RegistryMetrics | null;
  close(): Promise<void>;
}

export interface EtcdOptions {
  /** Client URLs of the etcd members, `http://host:port` (validated by parseEtcdEndpoints). */
  endpoints: readonly string[];
  /** Key prefix inside etcd, so several registries can share one cluster (default none). */
  namespace?: string;
  /** Per-RPC timeout towards etcd, ms (the store's default when unset). */
  rpcTimeoutMs?: number;
}

/**
 * Parse `http://h:p[,http://h:p...]` (a list or one comma-separated string) into origins.
 * Throws a RangeError naming `what` (the flag or option) and the bad entry.
 */
export function parseEtcdEndpoints(raw: string | readonly string[], what = 'etcd.endpoints'): string[] {
  const parts = (typeof raw === 'string' ? [raw] : raw).flatMap((s) => s.split(','));
  const out: string[] = [];
  for (const part of parts) {
    const s = part.trim();
    if (s === '') continue;
    let u: URL | undefined;
    try {
      u = new URL(s);
    } catch {
      u = undefined;
    }
    if (
      !u ||
      (u.protocol !== 'http:' && u.protocol !== 'https:') ||
      u.hostname === '' ||
      u.port === '' ||
      (u.pathname !== '/' && u.pathname !== '') ||
      u.search ||
      u.hash ||
      u.username
    )
      throw new RangeError(`${what}: '${s}' is not an etcd client URL (want http://HOST:PORT)`);
    if (!out.includes(u.origin)) out.push(u.origin);
  }
  if (out.length === 0) throw new RangeError(`${what}: needs at least one URL, e.g. http://127.0.0.1:2379`);
  return out;
}

async function openStore(opts: RegistryOptions, clock: Clock, log: Logger): Promise<Store> {
  if (opts.store) return opts.store;
  if (opts.etcd) {
    const endpoints = parseEtcdEndpoints(opts.etcd.endpoints);
    // Loaded only when used: the embedded registry never pulls in the gRPC client.
    const { openEtcdStore } = await import('./storage/etcd-store.ts');
    return openEtcdStore({
      endpoints,
      ...(opts.etcd.namespace !== undefined ? { namespace: opts.etcd.namespace } : {}),
      ...(opts.etcd.rpcTimeoutMs !== undefined ? { rpcTimeoutMs: opts.etcd.rpcTimeoutMs } : {}),
      clock,
      logger: log,
    });
  }
  return EmbeddedStore.open({
    dataDir: opts.dataDir || null,
    clock,
    sweepIntervalMs: opts.sweepIntervalMs,
    compactBytes: opts.compactBytes,
    onError: (err) => log.error({ err }, 'storage error'),
    onRecovered: (info) => log.info(info, 'storage recovered'),
  });
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<RegistryServer> {
  const clock = opts.clock ?? systemClock;
  const log = opts.logger ?? createLogger('registry');
  const host = opts.host ?? '127.0.0.1';
  // Options are checked before the store opens, so a bad one leaves nothing to clean up.
  const metrics = opts.metrics === false ? null : new RegistryMetrics(opts.metrics);
  const backend = await openStore(opts, clock, log);
  const store: Store = metrics ? metrics.meterStore(backend) : backend;
  const config: RegistryConfig = { ...DEFAULT_CONFIG, ...opts.config };
  const catalog = new Catalog(store, {
    clock,
    logger: log,
    instanceTtlSec: config.instanceTtlSec,
    // Mass expiry after an outage is an etcd-cluster problem: the embedded store restarts every
    // lease with a full TTL, so there the gate is off unless configured.
    selfPreservation: { enabled: opts.etcd !== undefined, ...config.selfPreservation },
  });
  const ctx: RegistryContext = { store, catalog, clock, config, self: null };
  const watcher = new Watcher(ctx, log, opts.watch);
  const configCenter = opts.configCenter === false ? null : createConfigCenter({ store, clock });
  const topology = createTopologyApi(ctx);
  const routes = registryRoutes(ctx, topology, configCenter?.routes);
  if (metrics) {
    metrics.attach({ catalog, watcher, longPolls: configCenter, topology: topology.store });
    routes.push(metrics.route);
    metrics.http.bindRoutes(routes);
  }
  const router = new Router(routes);
  const server: Server = createServer(
    { keepAliveTimeout: 65_000 },
    createRequestHandler(router, log, metrics?.http),
  );
  server.on('upgrade', (req, socket, head) => {
    metrics?.upgrades.track(socket);
    watcher.handleUpgrade(req, socket, head);
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 30100, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    // e.g. EADDRINUSE: release the store (and its files) before reporting.
    configCenter?.close();
    await watcher.close();
    catalog.close();
    metrics?.close();
    await store.close();
    throw err;
  }
  async function closeAll(): Promise<void> {
    configCenter?.close();
    await watcher.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    catalog.close();
    metrics?.close();
    await store.close();
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;

  let self: SelfRegistration | null = null;
  if (opts.registerSelf !== false) {
    try {
      self = await registerSelf(ctx, {
        endpoint: `rest://${urlHost}:${port}/`,
        hostName: host,
        shared: opts.etcd !== undefined,
        log,
      });
    } catch (err) {
      await closeAll();
      throw err;
    }
  }

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      self?.stop();
      configCenter?.close(); // answers held long-polls before the sockets go
      await watcher.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      // Deregister ourselves so no client keeps this replica's address.
      await self?.deregister();
      catalog.close();
      metrics?.close();
      await store.close();
    })();
    return closing;
  };
  return { url, port, host, context: ctx, store: backend, metrics, close };
}
