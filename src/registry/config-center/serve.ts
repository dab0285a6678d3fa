/**
 * @module registry/config-center/serve
 * The config center on a listener of its own, over a given Store: the registry's HTTP edge
 * (`createRequestHandler`) with only the Kie routes. The registry process normally mounts the
 * routes on its own Router instead; this serves tests and a config center kept apart from the
 * registry's port (it may share the registry's store, as tests do with `startRegistry().store`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../shared/clock.ts';
import { createLogger, type Logger } from '../../shared/log.ts';
import { Router } from '../http/router.ts';
import { createRequestHandler } from '../http/server.ts';
import type { Store } from '../storage/types.ts';
import { type ConfigCenter, createConfigCenter } from './routes.ts';

export interface ServeOptions {
  store: Store;
  clock: Clock;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  maxWaiters?: number;
  logger?: Logger;
}

export interface ConfigCenterServer {
  /** `http://HOST:PORT` */
  readonly url: string;
  readonly configCenter: ConfigCenter;
  /** Stop listening and release held requests; the store stays open (the caller owns it). */
  close(): Promise<void>;
}

export async function serveConfigCenter(opts: ServeOptions): Promise<ConfigCenterServer> {
  const configCenter = createConfigCenter({
    store: opts.store,
    clock: opts.clock,
    maxWaiters: opts.maxWaiters,
  });
  const log = opts.logger ?? createLogger('config-center');
  const server: Server = createServer(createRequestHandler(new Router(configCenter.routes), log));
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    configCenter,
    close() {
      closing ??= (async () => {
        configCenter.close();
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      })();
      return closing;
    },
  };
}
