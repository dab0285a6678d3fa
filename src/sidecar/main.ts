/**
 * @module sidecar/main
 * Wires one sidecar together: config → registry client → registration → service directory →
 * data plane (listeners, chains, admin API) → config hot reload. `startSidecar` is what the
 * `mesher sidecar` command, the demo and the integration tests call; it never waits for the
 * registry (registration and discovery retry in the background).
 *
 * Lifecycle (./lifecycle): local health checks run at start-up and keep the instance's registry
 * status UP/DOWN; `/v1/mesher/ready` needs the listeners up, the local app healthy and no shutdown
 * in progress. Shutdown order (graceful): deregister first, so peers stop picking the instance,
 * keep ACCEPTING and serving for the drain period, then stop accepting and give in-flight requests
 * a bounded time (lifecycle/shutdown.ts).
 */
import { createServer } from 'node:net';
import { type Clock, type Random, systemClock, systemRandom } from '../shared/clock.ts';
import { createLogger } from '../shared/log.ts';
import { createRouteRuleHandler, createRoutesHandler } from './admin/route-rule.ts';
import type { Probe } from './admin/types.ts';
import { createBalancer } from './balancer/registry.ts';
import { ConfigError, type ConfigWatcher, maskSecrets, watchSidecarConfig } from './config/index.ts';
import type { HostPort, SidecarConfig } from './config/types.ts';
import { createConfigCenterSource } from './config-center/index.ts';
import { overlayConfig } from './config-overlay.ts';
import { createDataPlane, type DataPlane, type ListenResult } from './data-plane.ts';
import { createServiceDirectory, type ManagedServiceDirectory } from './discovery/directory.ts';
import { createStepAssembler, initialRouteTable, type StepSource } from './extra-steps.ts';
import { parseHealthChecks } from './lifecycle/health-check-config.ts';
import { createLocalHealthChecker, type LocalHealthChecker } from './lifecycle/health-checker.ts';
import type { HealthProbe } from './lifecycle/health-probe.ts';
import { bindHealthToRegistration } from './lifecycle/health-registration.ts';
import { localAppProbe, readinessProbes } from './lifecycle/readiness.ts';
import { runShutdown, type ShutdownHandle, type ShutdownReport } from './lifecycle/shutdown.ts';
import { parseShutdownSettings, type ShutdownSettings } from './lifecycle/shutdown-config.ts';
import { createRegistration, type Registration } from './registration/registration.ts';
import { createRegistryClient } from './registry-client/client.ts';
import type { RegistryApi } from './registry-client/types.ts';
import { createResilience, type Resilience } from './resilience.ts';
import { createTelemetry } from './telemetry/index.ts';
import { createSidecarTopology } from './topology/index.ts';

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
  /** Override `mesher.shutdown.*` (tests). */
  readonly shutdown?: Partial<ShutdownSettings>;
  /** Environment for MESHER_DRAIN_MS (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Replaces the real HTTP/TCP local health probe (tests). */
  readonly healthProbe?: HealthProbe;
}

export interface CloseOptions {
  /** Keep accepting and serving this long after deregistering (default 0). */
  readonly drainMs?: number;
  /** Then wait this long for in-flight requests before cutting them (default: drainMs). */
  readonly inFlightTimeoutMs?: number;
}

export interface Sidecar {
  /** The effective config (listener ports resolved). */
  config(): SidecarConfig;
  readonly addresses: ListenResult;
  readonly registration: Registration;
  readonly directory: ManagedServiceDirectory;
  readonly dataPlane: DataPlane;
  /** The resilience engines (circuits, budgets, ejections): what /v1/mesher/resilience shows. */
  readonly resilience: Resilience;
  /** The local health checker (undefined when no `localHealthCheck` is configured). */
  health(): LocalHealthChecker | undefined;
  /** Shutdown timings from `mesher.shutdown.*` (and MESHER_DRAIN_MS). */
  readonly shutdownSettings: ShutdownSettings;
  /** True once close()/shutdown() began. */
  draining(): boolean;
  /**
   * Stop: deregister, keep serving for `drainMs` (default 0), stop accepting, wait for in-flight
   * requests up to `inFlightTimeoutMs`, close. Safe to call twice (the first call's options win).
   */
  close(opts?: CloseOptions): Promise<void>;
  /**
   * Graceful stop with `shutdownSettings`; resolves with the timings of each phase. `drain: false`
   * skips the drain period; `beforeClose` runs after it, before the listeners stop accepting.
   * Only the first call's options count.
   */
  shutdown(opts?: { drain?: boolean; beforeClose?: () => Promise<void> }): Promise<ShutdownReport>;
  /** Cut the drain period short (nothing left to serve, e.g. `mesher run`'s app exited). */
  endDrain(): void;
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
  // In edge mode only the ingress (inbound) address is bound; outbound is not a second socket.
  const proxyHosts =
    config.mode === 'edge' && l.inbound
      ? [l.inbound.host]
      : [l.outbound.host, ...(l.inbound ? [l.inbound.host] : [])];
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

  // Both throw a ConfigError naming the key: start-up fails loudly on a bad localHealthCheck.
  let healthSpecs = parseHealthChecks(config.flat.localHealthCheck);
  const shutdownSettings: ShutdownSettings = Object.freeze({
    ...parseShutdownSettings(config.flat, opts.env),
    ...opts.shutdown,
  });

  const routeStart = initialRouteTable(config);
  if (routeStart.issues.length > 0) {
    throw new ConfigError(
      routeStart.issues.map((i) => ({ file: '(route rules)', key: i.key, message: i.message })),
    );
  }
  // Throws a ConfigError on bad telemetry keys: start-up fails loudly, naming the key.
  const telemetry = createTelemetry({ config, clock, random, instanceId: opts.instanceId });
  // Who calls whom: cumulative per-edge counters pushed to the registry every interval, read off
  // the request metrics (nothing per request). Throws a ConfigError on bad mesher.topology.* keys.
  const topology = createSidecarTopology({ config, metricsRegistry: telemetry.registry, clock });
  // Timeouts, retries with a budget, circuit breaker + fallback, outlier ejection, rate limits and
  // fault injection: built per config version, engines kept across reloads.
  const resilience = createResilience({ clock, random, counters: telemetry.counters });
  const assemble = createStepAssembler({
    telemetry,
    clock,
    log,
    initialTable: routeStart.table,
    more: [resilience.steps, ...(opts.steps ?? [])],
  });

  const api: RegistryApi = createRegistryClient(config.registry);
  const registration = createRegistration({ api, config, clock, random, instanceId: opts.instanceId });
  const directory = createServiceDirectory({ api, config, clock, random, registration });

  let checker: LocalHealthChecker | undefined;
  let unbindHealth: () => void = () => {};
  const startHealthChecks = () => {
    if (healthSpecs.length === 0) return;
    checker = createLocalHealthChecker({ checks: healthSpecs, clock, probe: opts.healthProbe });
    unbindHealth = bindHealthToRegistration(checker, registration);
    void checker.start();
  };
  const stopHealthChecks = () => {
    unbindHealth();
    checker?.stop();
    checker = undefined;
  };
  let draining = false;
  const appProbe = localAppProbe({ checker: () => checker, localApp: config.localApp });

  const dataPlane = createDataPlane({
    config,
    directory,
    createBalancer: (strategy) => createBalancer(strategy, { clock, random }),
    maskSecrets: (c) => ({ ...c, flat: maskSecrets(c.flat) }),
    probes: {
      ...registryProbes(registration, directory, () => config, clock),
      ...(appProbe ? { localApp: appProbe } : {}),
    },
    readiness: readinessProbes({
      checker: () => checker,
      localApp: config.localApp,
      draining: () => draining,
    }),
    extraSteps: assemble,
    adminRoutes: {
      '/v1/mesher/metrics': telemetry.metricsHandler,
      '/metrics': telemetry.metricsHandler,
      '/v1/mesher/log-level': telemetry.logLevelHandler,
      '/v1/mesher/errors': telemetry.recentErrorsHandler,
      '/v1/mesher/routes': createRoutesHandler(assemble.routes),
      '/v1/mesher/routeRule/*': createRouteRuleHandler(assemble.routes),
      '/v1/mesher/resilience': resilience.adminHandler,
    },
    clock,
  });
  registration.onChange((s) => {
    telemetry.counters.setRegistered(s.registered);
    telemetry.counters.setRegistryHealth(s.lastError === undefined);
  });
  const addresses = await dataPlane.listen();
  // The first round of checks runs now, not after one interval; the instance registers DOWN until
  // every check passes.
  startHealthChecks();
  registration.start();
  directory.start();
  topology.start();

  // The file/env view of the config, and the config center's overrides laid over it.
  let baseConfig = config;
  let overrides: Readonly<Record<string, unknown>> = {};
  const applyConfig = (source: string) => {
    const next = overlayConfig(baseConfig, overrides);
    if (next.rejected.length > 0) log.error({ rejected: next.rejected, source }, 'config values rejected');
    config = next.config;
    dataPlane.setConfig(config);
  };

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
      baseConfig = Object.freeze({
        ...event.config,
        listeners: config.listeners,
        service: config.service,
      });
      applyConfig('files');
      reloadHealthChecks(config);
      log.info({ warnings: event.warnings }, 'config reloaded');
    });
  }

  // The config center's governance keys override files and env, live (`servicecomb.config.client.*`).
  const configCenter = createConfigCenterSource({
    config,
    clock,
    env: opts.env,
    onChange: (update) => {
      if (update.ignored.length > 0)
        log.warn({ ignored: update.ignored }, 'config center keys that need a restart were not applied');
      // The first answer usually brings no overrides at all: rebuilding the chains for it would
      // only reset balancer state (round-robin positions) while traffic already flows.
      if (JSON.stringify(update.overrides) === JSON.stringify(overrides)) return;
      overrides = update.overrides;
      applyConfig('config center');
    },
    onError: (err) => log.warn({ err: String(err) }, 'config center unreachable; keeping the last settings'),
  });
  if (configCenter.settings) void configCenter.start();

  /** A changed, valid localHealthCheck list replaces the running checks; an invalid one is logged. */
  function reloadHealthChecks(next: SidecarConfig): void {
    if (draining) return;
    let specs: typeof healthSpecs;
    try {
      specs = parseHealthChecks(next.flat.localHealthCheck);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'localHealthCheck change rejected; the running checks stay');
      return;
    }
    if (JSON.stringify(specs, specKey) === JSON.stringify(healthSpecs, specKey)) return;
    healthSpecs = specs;
    stopHealthChecks();
    startHealthChecks();
    // No checks any more: nothing can mark the instance DOWN, so it must be UP.
    if (specs.length === 0) void registration.setStatus('UP');
    log.info({ checks: specs.length }, 'local health checks reloaded');
  }

  let shutdown: ShutdownHandle | undefined;
  const begin = (
    timings: { drainMs: number; inFlightTimeoutMs: number },
    beforeClose?: () => Promise<void>,
  ): ShutdownHandle => {
    shutdown ??= runShutdown(
      {
        markDraining: () => {
          draining = true;
          watcher?.close();
          configCenter.stop();
          stopHealthChecks();
        },
        deregister: () => registration.stop(),
        ...(beforeClose ? { beforeClose } : {}),
        closeListeners: (inFlightTimeoutMs) => dataPlane.close({ drainMs: inFlightTimeoutMs }),
        release: async () => {
          directory.close();
          await topology.close();
          await api.close();
          await telemetry.close();
        },
      },
      timings,
      { clock, log },
    );
    return shutdown;
  };

  return {
    config: () => config,
    addresses,
    registration,
    directory,
    dataPlane,
    resilience,
    health: () => checker,
    shutdownSettings,
    draining: () => draining,
    async close(closeOpts = {}) {
      const drainMs = closeOpts.drainMs ?? 0;
      await begin({ drainMs, inFlightTimeoutMs: closeOpts.inFlightTimeoutMs ?? drainMs }).done;
    },
    shutdown: (o = {}) =>
      begin({ ...shutdownSettings, drainMs: o.drain === false ? 0 : shutdownSettings.drainMs }, o.beforeClose)
        .done,
    endDrain: () => shutdown?.endDrain(),
  };
}

/** JSON.stringify replacer for comparing check lists (RegExp and matcher objects by their text). */
function specKey(_key: string, value: unknown): unknown {
  if (value instanceof RegExp) return String(value);
  if (typeof value === 'function') return undefined;
  return value;
}
