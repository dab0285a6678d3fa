/**
 * @module sidecar/config/build
 * The semantic pass: from type-checked values to the SidecarConfig every other part reads.
 * Applies DEFAULTS, the registry's naming rules, durations, strategy names, the listen rules and
 * the local application's ports. Problems are collected, never thrown, so the loader can report
 * them together with schema errors.
 */
import { networkInterfaces, hostname as osHostname } from 'node:os';
import { parseDurationMs } from './duration.ts';
import { resolveListeners } from './listen.ts';
import { DEFAULTS, type SidecarFileValues, STRATEGY_NAMES, type StrategyName } from './schema.ts';
import { resolveLocalApp } from './service-ports.ts';
import type { Entry } from './sources.ts';
import {
  type ConfigIssue,
  DEFAULT_PROXY_ENGINE,
  type LoadBalanceConfig,
  type ProxyEngine,
  type RegistryClientConfig,
  type ServiceIdentity,
  type SidecarConfig,
} from './types.ts';
import { locate } from './validate.ts';

/** service-center's nameRegex: alphanumeric at both ends, `_ - .` inside. */
export const NAME_REGEX = /^[a-zA-Z0-9]*$|^[a-zA-Z0-9][a-zA-Z0-9_\-.]*[a-zA-Z0-9]$/;
export const VERSION_REGEX = /^\d+(\.\d+){0,3}$/;
const ENVIRONMENTS = ['', 'development', 'testing', 'acceptance', 'production'];
const DATACENTER_REGEX = /^[A-Za-z0-9_.-]{1,128}$/;
const PROJECT_REGEX = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

type Env = Readonly<Record<string, string | undefined>>;

export interface BuildInput {
  readonly values: SidecarFileValues;
  readonly origin: ReadonlyMap<string, Entry>;
  readonly env: Env;
  readonly confDir: string;
  readonly mode: 'sidecar' | 'edge';
  readonly servicePortsFlag: string | undefined;
  readonly flat: Readonly<Record<string, unknown>>;
}

/** Match a strategy name case-insensitively; the canonical spelling, or undefined. */
export function normaliseStrategy(name: string): StrategyName | undefined {
  const n = name.trim().toLowerCase();
  return STRATEGY_NAMES.find((s) => s.toLowerCase() === n);
}

function localIPv4(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

const toStringMap = (m: Record<string, unknown> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k, String(v)]));

export function buildConfig(input: BuildInput, issues: ConfigIssue[], warnings: string[]): SidecarConfig {
  const { values, origin, env } = input;
  const sc = values.servicecomb;
  const fail = (canonical: string, message: string) => issues.push({ ...locate(origin, canonical), message });
  const warn = (canonical: string, message: string) => {
    const at = locate(origin, canonical);
    warnings.push(`${at.file}: ${at.key}: ${message}`);
  };

  // --- service identity (registry rules: service-center-api.md §2.1) ---
  const svc = sc.service;
  const name = svc.name ?? '';
  if (origin.has('servicecomb.service.name')) {
    if (name.length < 1 || name.length > 128 || !NAME_REGEX.test(name)) {
      fail(
        'servicecomb.service.name',
        `"${name}" is not a valid service name: 1-128 characters, letters and digits at both ends, _ - . inside`,
      );
    }
  } else if (!issues.some((i) => i.key === 'servicecomb.service.name')) {
    fail('servicecomb.service.name', 'is required: the name this service registers under');
  }
  const app = svc.app ?? DEFAULTS['servicecomb.service.app'];
  if (app.length < 1 || app.length > 160 || !NAME_REGEX.test(app)) {
    fail(
      'servicecomb.service.app',
      `"${app}" is not a valid app id: 1-160 characters, letters and digits at both ends`,
    );
  }
  const version = svc.version ?? DEFAULTS['servicecomb.service.version'];
  if (
    version.length > 64 ||
    !VERSION_REGEX.test(version) ||
    version.split('.').some((p) => Number(p) > 32767)
  ) {
    fail(
      'servicecomb.service.version',
      `"${version}" must be 1 to 4 numbers joined by dots, each at most 32767 (e.g. 1.0.0)`,
    );
  }
  const environment = svc.environment ?? DEFAULTS['servicecomb.service.environment'];
  if (!ENVIRONMENTS.includes(environment)) {
    fail(
      'servicecomb.service.environment',
      `"${environment}" must be empty or one of development, testing, acceptance, production`,
    );
  }
  let host = svc.hostname ?? osHostname();
  if (host === '$INTERNAL_IP') host = localIPv4() ?? osHostname();
  let dataCenter: ServiceIdentity['dataCenter'];
  const region = values.region;
  if (region?.name !== undefined || region?.availableZone !== undefined) {
    const rn = region?.name ?? '';
    const az = region?.availableZone ?? '';
    if (rn === '' || az === '') {
      warn(
        rn === '' ? 'region.name' : 'region.availableZone',
        'region.name and region.availableZone are both needed; data centre info is not sent',
      );
    } else if (!DATACENTER_REGEX.test(rn)) fail('region.name', `"${rn}" must be 1-128 of A-Z a-z 0-9 _ . -`);
    else if (!DATACENTER_REGEX.test(az))
      fail('region.availableZone', `"${az}" must be 1-128 of A-Z a-z 0-9 _ . -`);
    else dataCenter = { name: rn, region: rn, availableZone: az };
  }
  const service: ServiceIdentity = {
    name,
    app,
    version,
    environment,
    properties: toStringMap(svc.properties),
    instanceProperties: toStringMap(svc.instanceProperties),
    hostname: host,
    ...(dataCenter ? { dataCenter } : {}),
  };

  // --- registry client ---
  const reg = sc.registry ?? {};
  const addrRaw = reg.address ?? DEFAULTS['servicecomb.registry.address'];
  const addresses: string[] = [];
  for (const a of (Array.isArray(addrRaw) ? addrRaw : [addrRaw]).flatMap((s) => s.split(','))) {
    const s = a.trim();
    if (s === '') continue;
    let url: URL | undefined;
    try {
      url = new URL(s);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
      fail(
        'servicecomb.registry.address',
        `"${s}" must be an http(s) URL, e.g. http://${s.replace(/^\w+:\/\//, '')}`,
      );
    } else if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username) {
      fail(
        'servicecomb.registry.address',
        `"${s}" must be scheme://host:port only (no path, query or credentials)`,
      );
    } else if (!addresses.includes(url.origin)) addresses.push(url.origin);
  }
  if (addresses.length === 0 && !issues.some((i) => i.key.includes('registry'))) {
    fail('servicecomb.registry.address', 'needs at least one registry URL, e.g. http://127.0.0.1:30100');
  }
  const duration = (key: string, v: unknown, dflt: number): number => {
    if (v === undefined) return dflt;
    const ms = parseDurationMs(v);
    if (ms === undefined || ms <= 0) {
      fail(key, `must be a positive duration such as 30s or 500ms (got ${JSON.stringify(v)})`);
      return dflt;
    }
    return ms;
  };
  const project = env.CSE_PROJECT_ID || DEFAULTS.project;
  if (!PROJECT_REGEX.test(project)) {
    issues.push({
      file: 'env',
      key: 'CSE_PROJECT_ID',
      message: `"${project}" must be 1-64 of A-Z a-z 0-9 _ . - (no slashes)`,
    });
  }
  const registry: RegistryClientConfig = {
    addresses,
    autodiscovery: reg.autodiscovery ?? false,
    watch: reg.watch ?? DEFAULTS['servicecomb.registry.watch'],
    refreshIntervalMs: duration(
      'servicecomb.registry.refreshInterval',
      reg.refreshInterval,
      DEFAULTS['servicecomb.registry.refreshInterval'],
    ),
    heartbeatIntervalMs: duration(
      'servicecomb.registry.heartbeat.interval',
      reg.heartbeat?.interval,
      DEFAULTS['servicecomb.registry.heartbeat.interval'],
    ),
    project,
    domain: DEFAULTS.domain,
  };

  // --- load balancing ---
  const lb = (sc.loadbalance ?? {}) as Record<string, unknown> & { strategy?: { name?: string } };
  const strategyOf = (key: string, raw: string | undefined, dflt: string): string => {
    if (raw === undefined) return dflt;
    const s = normaliseStrategy(raw);
    if (!s) fail(key, `"${raw}" is not a strategy; use one of ${STRATEGY_NAMES.join(', ')}`);
    return s ?? dflt;
  };
  const strategy = strategyOf(
    'servicecomb.loadbalance.strategy.name',
    lb.strategy?.name,
    DEFAULTS['servicecomb.loadbalance.strategy.name'],
  );
  const perService: Record<string, { strategy: string }> = {};
  const fixed = new Set([
    'strategy',
    'serverListFilters',
    'retryEnabled',
    'retryOnSame',
    'retryOnNext',
    'backoff',
    'SessionStickinessRule',
  ]);
  for (const [svcName, block] of Object.entries(lb)) {
    if (fixed.has(svcName)) continue;
    const raw = (block as { strategy?: { name?: string } }).strategy?.name;
    if (raw !== undefined) {
      perService[svcName] = {
        strategy: strategyOf(`servicecomb.loadbalance.${svcName}.strategy.name`, raw, strategy),
      };
    }
  }
  const loadBalance: LoadBalanceConfig = { strategy, perService };

  // --- listeners and the local application ---
  const protocols = sc.protocols ?? {};
  const problems: Array<{ key: string; message: string }> = [];
  const notes: Array<{ key: string; message: string }> = [];
  const adminEnabled = values.admin?.enable ?? DEFAULTS['admin.enable'];
  const listeners = resolveListeners(
    {
      mode: input.mode,
      listen: protocols.http?.listenAddress ?? DEFAULTS['servicecomb.protocols.http.listenAddress'],
      advertise: protocols.http?.advertiseAddress,
      admin:
        protocols['rest-admin']?.listenAddress ?? DEFAULTS['servicecomb.protocols.rest-admin.listenAddress'],
      adminEnabled,
    },
    problems,
    notes,
  );
  for (const p of problems) fail(p.key, p.message);
  for (const n of notes) warn(n.key, n.message);

  const portProblems: ConfigIssue[] = [];
  const portNotes: ConfigIssue[] = [];
  const local = resolveLocalApp(input.servicePortsFlag, env, portProblems, portNotes);
  issues.push(...portProblems);
  for (const n of portNotes) warnings.push(`${n.file}: ${n.key}: ${n.message}`);
  if (listeners?.inbound && !local.localApp && input.mode === 'sidecar') {
    warnings.push(
      'command line: --service-ports: no rest port for the local application: inbound calls will fail until you set --service-ports rest:PORT (or SERVICE_PORTS)',
    );
  }

  // --- the proxy engine (mesher.yaml; `mesher` is a passthrough namespace, so checked here) ---
  const rawEngine = input.flat['mesher.proxy.engine'];
  let engine: ProxyEngine = DEFAULT_PROXY_ENGINE;
  if (rawEngine !== undefined) {
    const e = String(rawEngine).toLowerCase();
    if (e === 'fast' || e === 'node') engine = e;
    else fail('mesher.proxy.engine', `"${String(rawEngine)}" is not an engine; use fast or node`);
  }

  return {
    confDir: input.confDir,
    mode: input.mode,
    service,
    listeners: listeners ?? {
      outbound: { host: '127.0.0.1', port: 0 },
      inbound: null,
      advertise: null,
      admin: null,
    },
    registry,
    servicePorts: local.servicePorts,
    localApp: local.localApp,
    loadBalance,
    proxy: { engine },
    flat: input.flat,
  };
}
