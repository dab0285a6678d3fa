/**
 * @module sidecar/data-plane
 * The sidecar's data plane in one object: the outbound listener (forward proxy), the inbound
 * listener (reverse proxy, when configured) and the admin API, with their chains built once per
 * config version and swapped atomically by `setConfig`. The wiring (src/sidecar/main.ts) supplies
 * config, the service directory, the balancer factory and health probes; nothing here talks to
 * the registry.
 *
 * Chains today:  outbound = load-balance → transport;  inbound = local-target → transport.
 * Resilience steps (issue 4) slot in between as more `Step`s (see `extraSteps`).
 *
 * Edge mode (`config.mode === 'edge'`, issue 5 item 7): the inbound address is the mesh's
 * ingress. Its requests are matched against `mesher.ingress.rule.http` (./ingress) and run through
 * the OUTBOUND chain; there is no local app and no loopback forward proxy (the ingress address may
 * be 0.0.0.0, which would collide with 127.0.0.1 on the same port). Invalid rules are a
 * ConfigError at construction; on `setConfig` the last good rules stay.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Clock, systemClock } from '../shared/clock.ts';
import { createLogger } from '../shared/log.ts';
import type { ServiceResilienceView } from './admin/instances.ts';
import { tcpProbe } from './admin/probes.ts';
import { createAdminRouter } from './admin/router.ts';
import { createAdminServer } from './admin/server.ts';
import type { AdminHandler, Probe } from './admin/types.ts';
import { createBalancer } from './balancer/registry.ts';
import { compose, Slot } from './chain/compose.ts';
import type { CallContext, Outcome, Step } from './chain/types.ts';
import { ConfigError } from './config/config-error.ts';
import { maskSecrets } from './config/mask.ts';
import { DEFAULT_PROXY_ENGINE, type HostPort, type SidecarConfig } from './config/types.ts';
import type { ServiceDirectory } from './discovery/types.ts';
import { createRawUpstream } from './h1/raw-upstream.ts';
import { type IngressTable, parseIngress } from './ingress/index.ts';
import { closeListenersInOrder } from './lifecycle/close-listeners.ts';
import { createInboundCallFactory } from './listeners/inbound.ts';
import { createIngressCallFactory } from './listeners/ingress.ts';
import { createOutboundCallFactory } from './listeners/outbound.ts';
import {
  createEdgeServer,
  type EdgeEngine,
  type EdgeLimits,
  type EdgeRoute,
  type EdgeServer,
} from './listeners/server.ts';
import { dataCenterOf } from './registration/payload.ts';
import { type BalancerFactory, BalancerSet } from './steps/balancer-set.ts';
import { type CallerZone, createLoadBalance } from './steps/load-balance.ts';
import { createLocalTarget } from './steps/local-target.ts';
import { routeDecisionOf } from './steps/route.ts';
import { createTransport } from './steps/transport.ts';
import { createHttpAgentUpstream } from './upstream/http-agent.ts';
import { createLazyUndiciUpstream } from './upstream/lazy-undici.ts';
import type { Upstream, UpstreamOptions } from './upstream/types.ts';

const log = createLogger('sidecar.data-plane');

export interface DataPlaneDeps {
  readonly config: SidecarConfig;
  readonly directory: ServiceDirectory;
  /** Balancer by strategy name; default `createBalancer` from src/sidecar/balancer/registry.ts. */
  readonly createBalancer?: BalancerFactory;
  /**
   * Health probes for /v1/mesher/health (e.g. `registry`, `registered`). A `localApp` TCP probe is
   * added when config has a local app and none is given.
   */
  readonly probes?: Readonly<Record<string, Probe>>;
  /** More admin endpoints by path (e.g. telemetry's `/v1/mesher/metrics`, `/v1/mesher/log-level`). */
  readonly adminRoutes?: Readonly<Record<string, AdminHandler>>;
  /** Extra readiness conditions for /v1/mesher/ready (beyond "listeners are up"). */
  readonly readiness?: Readonly<Record<string, Probe>>;
  /** How /v1/mesher/config masks secrets; default the config module's `maskSecrets` over the whole tree. */
  readonly maskSecrets?: (config: SidecarConfig) => unknown;
  /** Request-parsing limits of the proxy listeners. */
  readonly limits?: EdgeLimits;
  /** Connection-pool options, or a ready-made Upstream (tests, benchmarks). */
  readonly upstream?: UpstreamOptions | Upstream;
  /**
   * Governance steps to run before load balancing (outbound) / before the local target (inbound),
   * built per config version. Issue 4's timeouts, retries, breakers and limits plug in here.
   */
  readonly extraSteps?: (
    config: SidecarConfig,
    plane: PlaneServices,
  ) => { outbound?: Step[]; inbound?: Step[]; resilience?: (service: string) => ServiceResilienceView };
  readonly clock?: Clock;
}

/** What the data plane lends `extraSteps`: steps that answer calls themselves (egress) send through it. */
export interface PlaneServices {
  /** The transport step as a function: sends `call` to `call.target` through the upstream pool. */
  readonly send: (call: CallContext) => Promise<Outcome>;
  /**
   * The service's current instance count in our own app, from discovery's cache (no I/O);
   * undefined when the service is not cached. The outlier detectors size their ejection cap by it.
   */
  readonly endpointCount: (service: string) => number | undefined;
}

export interface ListenResult {
  /**
   * The loopback forward proxy. In edge mode there is none and this is the ingress address (the
   * same as `inbound`), where traffic enters the outbound chain.
   */
  readonly outbound: AddressInfo;
  readonly inbound?: AddressInfo;
  readonly admin?: AddressInfo;
}

export interface DataPlane {
  /** Bind every configured listener (port 0 picks a free port); resolves with the real addresses. */
  listen(): Promise<ListenResult>;
  /**
   * Stop accepting, let in-flight requests finish for up to `drainMs` (default 0), then close every
   * remaining connection, tunnel and pooled upstream socket.
   */
  close(opts?: { drainMs?: number }): Promise<void>;
  /** Build chains for `next` and swap them in; calls in flight keep their chain. Listener addresses are not changed. */
  setConfig(next: SidecarConfig): void;
}

/** The config with secret-looking values masked (src/sidecar/config/mask.ts). */
export function defaultMaskSecrets(config: SidecarConfig): unknown {
  return maskSecrets(config as unknown as Record<string, unknown>);
}

const defaultBalancerFactory: BalancerFactory = (strategy) => createBalancer(strategy);

/**
 * The sidecar's own zone for zone-aware balancing: the same dataCenterInfo it registers
 * (`region.name`/`region.availableZone` or `servicecomb.datacenter.*`), computed once per config
 * version. Undefined when either part is missing (then every endpoint is equally near).
 */
export function callerZoneOf(config: SidecarConfig): CallerZone | undefined {
  const dc = dataCenterOf(config);
  return dc === undefined ? undefined : Object.freeze({ region: dc.region, availableZone: dc.availableZone });
}

/**
 * The upstream pool: an explicit `transport` wins; otherwise the engine decides (fast: the raw
 * node:net upstream of ./h1/raw-upstream.ts; node: the http.Agent one).
 */
function createUpstream(opts: UpstreamOptions = {}, engine: EdgeEngine = 'node'): Upstream {
  if (opts.transport === 'undici') return createLazyUndiciUpstream(opts);
  if (opts.transport === 'http-agent' || engine === 'node') return createHttpAgentUpstream(opts);
  return createRawUpstream(opts);
}

/** The transport never calls `next`; this one says so if it ever did. */
const noNext = (): Promise<Outcome> => Promise.reject(new Error('the transport step called next'));

function isUpstream(u: DataPlaneDeps['upstream']): u is Upstream {
  return u !== undefined && typeof (u as Upstream).request === 'function';
}

function listenOn(server: Server, addr: HostPort): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(addr.port, addr.host, () => {
      server.removeListener('error', onError);
      server.on('error', (err) => log.error({ err }, 'listener error'));
      resolve(server.address() as AddressInfo);
    });
  });
}

export function createDataPlane(deps: DataPlaneDeps): DataPlane {
  const clock = deps.clock ?? systemClock;
  let config = deps.config;
  // The engine: deps (tests, benchmarks) win over mesher.proxy.engine (default 'fast').
  const engine: EdgeEngine = deps.limits?.engine ?? config.proxy?.engine ?? DEFAULT_PROXY_ENGINE;
  const upstream = isUpstream(deps.upstream) ? deps.upstream : createUpstream(deps.upstream, engine);
  const transport = createTransport(upstream);
  const balancerFactory = deps.createBalancer ?? defaultBalancerFactory;
  let balancers = new BalancerSet(config.loadBalance, balancerFactory);
  let listening = false;
  const edge = config.mode === 'edge';
  const plane: PlaneServices = {
    send: (call) => transport(call, noNext),
    endpointCount: (service) => deps.directory.peek(service)?.endpoints.length,
  };
  // This config version's resilience view (circuits, ejections) for /v1/mesher/instances.
  let resilienceView: ((service: string) => ServiceResilienceView) | undefined;
  let ingress: IngressTable | undefined;
  let ingressFlat: SidecarConfig['flat'] | undefined;

  /** This version's ingress rules; invalid ones throw at start-up and keep the last good later. */
  function ingressFor(cfg: SidecarConfig): IngressTable {
    if (ingress !== undefined && ingressFlat === cfg.flat) return ingress;
    const r = parseIngress(cfg.flat);
    ingressFlat = cfg.flat;
    for (const w of r.warnings) log.warn({ key: w.key }, `ingress: ${w.message}`);
    if (r.issues.length === 0) ingress = r.table;
    else if (ingress === undefined) {
      throw new ConfigError(
        r.issues.map((i) => ({ file: '(ingress rules)', key: i.key, message: i.message })),
      );
    } else log.error({ issues: r.issues }, 'ingress rules rejected; the last good rules stay in force');
    if (ingress.rules.length === 0) log.warn('edge mode without ingress rules: every request answers 404');
    return ingress;
  }

  function routes(cfg: SidecarConfig, set: BalancerSet): { outbound: EdgeRoute; inbound: EdgeRoute } {
    // Parse the rules first: a bad rule fails before any step is built.
    const rules = edge ? ingressFor(cfg) : undefined;
    const extra = deps.extraSteps?.(cfg, plane) ?? {};
    resilienceView = extra.resilience;
    const identity = { service: cfg.service.name };
    const outboundHandler = compose([
      ...(extra.outbound ?? []),
      createLoadBalance({
        directory: deps.directory,
        balancers: set,
        route: routeDecisionOf,
        zone: callerZoneOf(cfg),
      }),
      transport,
    ]);
    return {
      outbound: { makeCall: createOutboundCallFactory(identity), handler: outboundHandler },
      inbound:
        rules === undefined
          ? {
              makeCall: createInboundCallFactory(identity),
              handler: compose([...(extra.inbound ?? []), createLocalTarget(cfg), transport]),
            }
          : { makeCall: createIngressCallFactory(identity, rules), handler: outboundHandler },
    };
  }

  const initial = routes(config, balancers);
  const outboundSlot = new Slot(initial.outbound);
  const inboundSlot = new Slot(initial.inbound);
  const limits: EdgeLimits = { ...deps.limits, engine };
  // Edge mode: no loopback forward proxy (see the module header).
  const outbound: EdgeServer | undefined = edge ? undefined : createEdgeServer(limits, outboundSlot);
  const inbound: EdgeServer | undefined = config.listeners.inbound
    ? createEdgeServer(limits, inboundSlot)
    : undefined;

  const probes: Record<string, Probe> = { ...deps.probes };
  if (config.localApp && probes.localApp === undefined) probes.localApp = tcpProbe(config.localApp);
  const admin = config.listeners.admin
    ? createAdminServer(
        createAdminRouter({
          config: () => config,
          directory: deps.directory,
          probes,
          readiness: deps.readiness ?? {},
          listening: () => listening,
          maskSecrets: deps.maskSecrets ?? defaultMaskSecrets,
          extraRoutes: deps.adminRoutes ?? {},
          introspection: {
            balancers: (service, app) => balancers.describe(service, app, config.service.app),
            resilience: (service) => resilienceView?.(service),
          },
        }),
      )
    : undefined;

  const servers = (): Server[] =>
    [outbound?.server, inbound?.server, admin].filter((s): s is Server => s !== undefined);

  return {
    async listen() {
      let inboundAddr: AddressInfo | undefined;
      if (inbound && config.listeners.inbound)
        inboundAddr = await listenOn(inbound.server, config.listeners.inbound);
      const outboundAddr = outbound
        ? await listenOn(outbound.server, config.listeners.outbound)
        : (inboundAddr as AddressInfo);
      const result: { outbound: AddressInfo; inbound?: AddressInfo; admin?: AddressInfo } = {
        outbound: outboundAddr,
      };
      if (inboundAddr) result.inbound = inboundAddr;
      if (admin && config.listeners.admin) result.admin = await listenOn(admin, config.listeners.admin);
      listening = true;
      log.info(result, 'data plane listening');
      return result;
    },

    async close(opts = {}) {
      listening = false;
      // Inbound stops first and refuses new calls; outbound serves on while inbound requests are
      // in flight (the app may need it), then refuses too (lifecycle/close-listeners.ts).
      const { closed } = await closeListenersInOrder({
        inbound: inbound === undefined ? undefined : { edge: inbound, slot: inboundSlot },
        outbound: outbound === undefined ? undefined : { edge: outbound, slot: outboundSlot },
        others: admin === undefined ? [] : [admin],
        inFlightMs: opts.drainMs ?? 0,
        clock,
      });
      for (const s of servers()) s.closeAllConnections();
      const raw: Duplex[] = [...(outbound?.rawSockets ?? []), ...(inbound?.rawSockets ?? [])];
      for (const socket of raw) socket.destroy();
      upstream.close();
      await closed;
    },

    setConfig(next) {
      balancers = new BalancerSet(next.loadBalance, balancerFactory, balancers);
      const r = routes(next, balancers);
      config = next;
      outboundSlot.swap(r.outbound);
      inboundSlot.swap(r.inbound);
    },
  };
}
