/**
 * @module sidecar/main
 * Wires one sidecar together: config → registry client → registration → service directory →
 * data plane (listeners, chains, admin API) → config hot reload. `startSidecar` is what the
 * `mesher sidecar` command, the demo and the integration tests call; it never waits for the
 * registry (registration and discovery retry in the background).
 *
 * Shutdown order (graceful): mark the instance DOWN and deregister first, so peers stop picking
 * it, keep serving in-flight and late requests for the drain period, then close everything.
 */
import { createServer } from 'node:net';
import { type Clock, type Random, systemClock, systemRandom } from '../shared/clock.ts';
import { createLogger } from '../shared/log.ts';
import { createRouteRuleHandler, createRoutesHandler } from './admin/route-rule.ts';
import type { Probe } from './admin/types.ts';
import { createBalancer } from './balancer/registry.ts';
import { ConfigError, type ConfigWatcher, maskSecrets, watchSidecarConfig } from './config/index.ts';
import type { HostPort, SidecarConfig } from './config/types.ts';
import { createDataPlane, type DataPlane, type ListenResult } from './data-plane.ts';
import { createServiceDirectory, type ManagedServiceDirectory } from './discovery/directory.ts';
import { createStepAssembler, initialRouteTable, type StepSource } from './extra-steps.ts';
import { createRegistration, type Registration } from './registration/registration.ts';
import { createRegistryClient } from './registry-client/client.ts';
import type { RegistryApi } from './registry-client/types.ts';
import { createTelemetry } from './telemetry/index.ts';

const log = createLogger('sidecar');

export interface StartSidecarOptions {
  readonly config: SidecarConfig;
  /** Hot-reload the config directory (default true when the config came from a directory). */
  readonly watchConfig?: boolean;
  readonly clock?: Clock;
  readonly random?: Random;
  /** Fixed instance id (default: random per process). */
  readonly instanceId?: string;
  /** More governance steps per config version, after routing (tests; resilience plugs in here). */
  readonly steps?: readonly StepSource[];
}

export interface Sidecar {
  /** The effective config (listener ports resolved). */
  config(): SidecarConfig;
  readonly addresses: ListenResult;
  readonly registration: Registration;
  readonly directory: ManagedServiceDirectory;
  readonly dataPlane: DataPlane;
  /** Graceful stop: deregister, drain for `drainMs` (default 0), close. Safe to call twice. */
  close(opts?: { drainMs?: number }): Promise<void>;
}

/** Finds a port that is free on every one of `hosts` (the seed's "same port, two IPs" rule with port 0). */
async function sharedFreePort(hosts: readonly string[]): Promise<number> {
  const bind = (host: string, port: number) =>
    new Promise<import('node:net').Server | undefined>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(undefined));
      s.listen(port, host, () => resolve(s));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await bind(hosts[0]!, 0);
    if (!first) break;
    const port = (first.address() as import('node:net').AddressInfo).port;
    const rest = await Promise.all(hosts.slice(1).map((h) => bind(h, port)));
    const all = [first, ...rest];
    await Promise.all(all.map((s) => s && new Promise((r) => s.close(r))));
    if (rest.every((s) => s !== undefined)) return port;
  }
  throw new Error(`no port is free on all of ${hosts.join(', ')}`);
}

function withPort(hp: HostPort | null, port: number): HostPort | null {
  return hp ? Object.freeze({ host: hp.host, port: hp.port === 0 ? port : hp.port }) : null;
}

/**
 * Resolve port 0 before anything is built, so registration advertises the real port: outbound and
 * inbound share one port (the seed's listen rule), the admin API gets its own.
 */
async function resolvePorts(config: SidecarConfig): Promise<SidecarConfig> {
  const l = config.listeners;
  const proxyHosts = [l.outbound.host, ...(l.inbound ? [l.inbound.host] : [])];
  const proxyPort = l.outbound.port === 0 ? await sharedFreePort(proxyHosts) : l.outbound.port;
  const adminPort =
    l.admin && l.admin.port === 0 ? await sharedFreePort([l.admin.host]) : (l.admin?.port ?? 0);
  if (proxyPort === l.outbound.port && adminPort === (l.admin?.port ?? 0)) return config;
  return Object.freeze({
    ...config,
    listeners: Object.freeze({
      outbound: withPort(l.outbound, proxyPort)!,
      inbound: withPort(l.inbound, proxyPort),
      advertise: withPort(l.advertise, proxyPort),
      admin: withPort(l.admin, adminPort),
    }),
  });
}

function registryProbes(
  registration: Registration,
  directory: ManagedServiceDirectory,
  config: () => SidecarConfig,
  clock: Clock,
): Record<string, Probe> {
  return {
    registered: () => {
      const s = registration.status();
      return {
        ok: s.registered,
        detail: { serviceId: s.serviceId, instanceId: s.instanceId, consumerOnly: s.consumerOnly },
      };
    },
    registry: () => {
      const s = registration.status();
      const staleAfter = 2 * config().registry.heartbeatIntervalMs + 5000;
      const ok = s.lastHeartbeatOk !== undefined && clock.now() - s.lastHeartbeatOk <= staleAfter;
      return { ok, detail: { lastContactMs: s.lastHeartbeatOk, lastError: s.lastError } };
    },
    // Informational: discovery keeps serving from its cache when this is stale, so it never fails health.
    discovery: () => ({ ok: true, detail: directory.health() }),
  };
}

export async function startSidecar(opts: StartSidecarOptions): Promise<Sidecar> {
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? systemRandom;
  let config = await resolvePorts(opts.config);

  const routeStart = initialRouteTable(config);
  if (routeStart.issues.length > 0) {
    throw new ConfigError(
      routeStart.issues.map((i) => ({ file: '(route rules)', key: i.key, message: i.message })),
    );
  }
  // Throws a ConfigError on bad telemetry keys: start-up fails loudly, naming the key.
  const telemetry = createTelemetry({ config, clock, random, instanceId: opts.instanceId });
  const assemble = createStepAssembler({
    telemetry,
    clock,
    log,
    initialTable: routeStart.table,
    more: opts.steps,
  });

  const api: RegistryApi = createRegistryClient(config.registry);
  const registration = createRegistration({ api, config, clock, random, instanceId: opts.instanceId });
  const directory = createServiceDirectory({ api, config, clock, random, registration });
  const dataPlane = createDataPlane({
    config,
    directory,
    createBalancer: (strategy) => createBalancer(strategy, { clock, random }),
    maskSecrets: (c) => ({ ...c, flat: maskSecrets(c.flat) }),
    probes: registryProbes(registration, directory, () => config, clock),
    extraSteps: assemble,
    adminRoutes: {
      '/v1/mesher/metrics': telemetry.metricsHandler,
      '/metrics': telemetry.metricsHandler,
      '/v1/mesher/log-level': telemetry.logLevelHandler,
      '/v1/mesher/errors': telemetry.recentErrorsHandler,
      '/v1/mesher/routes': createRoutesHandler(assemble.routes),
      '/v1/mesher/routeRule/*': createRouteRuleHandler(assemble.routes),
    },
    clock,
  });
  registration.onChange((s) => {
    telemetry.counters.setRegistered(s.registered);
    telemetry.counters.setRegistryHealth(s.lastError === undefined);
  });
  const addresses = await dataPlane.listen();
  registration.start();
  directory.start();

  let watcher: ConfigWatcher | undefined;
  if (opts.watchConfig ?? true) {
    watcher = watchSidecarConfig(config.confDir, (event) => {
      if (!event.ok) {
        log.error(
          { err: event.error.message },
          'config change rejected; the last good config stays in force',
        );
        return;
      }
      // Listener addresses and identity are not hot-reloadable: keep the running ones.
      const next: SidecarConfig = Object.freeze({
        ...event.config,
        listeners: config.listeners,
        service: config.service,
      });
      config = next;
      dataPlane.setConfig(next);
      log.info({ warnings: event.warnings }, 'config reloaded');
    });
  }

  let closing: Promise<void> | undefined;
  return {
    config: () => config,
    addresses,
    registration,
    directory,
    dataPlane,
    close(closeOpts = {}) {
      closing ??= (async () => {
        watcher?.close();
        await registration.stop();
        await dataPlane.close({ drainMs: closeOpts.drainMs ?? 0 });
        directory.close();
        await api.close();
        await telemetry.close();
      })();
      return closing;
    },
  };
}
