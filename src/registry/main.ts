/**
 * @module registry/main
 * Wires the registry: store → catalog → operations → HTTP routes + WebSocket watcher, registers
 * the registry itself as SERVICECENTER (so `health` lists it) and keeps that instance alive.
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
import { DEFAULT_CONFIG, type RegistryConfig, type RegistryContext, SELF_NAME } from './ops/context.ts';
import { registerInstance } from './ops/instances.ts';
import { createService, parseService } from './ops/services.ts';
import { EmbeddedStore } from './storage/embedded-store.ts';
import type { Store } from './storage/types.ts';
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
  /** Serve the Kie-style config center (`/v1/{project}/kie/kv`) from the same store (default true). */
  configCenter?: boolean;
  logger?: Logger;
}

export interface RegistryServer {
  /** `http://HOST:PORT` */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** In-process access for tests and embedding (the HTTP API is the public surface). */
  readonly context: RegistryContext;
  readonly store: Store;
  close(): Promise<void>;
}

const SELF_HEARTBEAT_MS = 30_000;

export async function startRegistry(opts: RegistryOptions = {}): Promise<RegistryServer> {
  const clock = opts.clock ?? systemClock;
  const log = opts.logger ?? createLogger('registry');
  const host = opts.host ?? '127.0.0.1';
  const store: Store =
    opts.store ??
    (await EmbeddedStore.open({
      dataDir: opts.dataDir || null,
      clock,
      sweepIntervalMs: opts.sweepIntervalMs,
      compactBytes: opts.compactBytes,
      onError: (err) => log.error({ err }, 'storage error'),
      onRecovered: (info) => log.info(info, 'storage recovered'),
    }));
  const catalog = new Catalog(store);
  const config: RegistryConfig = { ...DEFAULT_CONFIG, ...opts.config };
  const ctx: RegistryContext = { store, catalog, clock, config, self: null };
  const watcher = new Watcher(ctx, log, opts.watch);
  const configCenter = opts.configCenter === false ? null : createConfigCenter({ store, clock });
  const router = new Router(registryRoutes(ctx, configCenter?.routes));
  const server: Server = createServer({ keepAliveTimeout: 65_000 }, createRequestHandler(router, log));
  server.on('upgrade', (req, socket, head) => watcher.handleUpgrade(req, socket, head));
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
    await store.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;

  let selfTimer: { cancel(): void } | null = null;
  if (opts.registerSelf !== false) {
    const tenant = 'default/default';
    const svc = parseService(
      {
        appId: 'default',
        serviceName: SELF_NAME,
        alias: SELF_NAME,
        version: config.version,
        environment: config.environment,
        level: 'BACK',
        properties: { allowCrossApp: 'true' },
      },
      clock.now(),
    );
    const serviceId = await createService(ctx, tenant, svc);
    // The embedded store serves one registry process, so SERVICECENTER instances left by an
    // earlier run (a crash skips the deregistration in close) are stale: drop them now.
    for (const e of [...(catalog.instancesOf(tenant, serviceId)?.values() ?? [])])
      await store.revokeLease(e.lease);
    const instanceId = await registerInstance(ctx, tenant, serviceId, {
      hostName: host,
      endpoints: [`rest://${urlHost}:${port}/`],
      healthCheck: { mode: 'push', interval: 30, times: 3 },
    });
    ctx.self = { tenant, serviceId, instanceId };
    selfTimer = clock.setInterval(() => {
      const e = catalog.instance(tenant, serviceId, instanceId);
      if (e) store.keepAlive(e.lease);
    }, SELF_HEARTBEAT_MS);
  }

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      selfTimer?.cancel();
      configCenter?.close(); // answers held long-polls before the sockets go
      await watcher.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      // Deregister ourselves so a restart does not show a stale SERVICECENTER instance.
      if (ctx.self) {
        const e = catalog.instance(ctx.self.tenant, ctx.self.serviceId, ctx.self.instanceId);
        if (e) await store.revokeLease(e.lease).catch(() => undefined);
      }
      catalog.close();
      await store.close();
    })();
    return closing;
  };
  return { url, port, host, context: ctx, store, close };
}
