/**
 * @module sidecar/registration/payload
 * Pure functions from the sidecar's config to what it registers: the microservice (with the user's
 * `properties`, which the original never sent), and the instance (endpoint `rest://<advertise>`,
 * hostName, instanceProperties, dataCenterInfo, a push health check matching the heartbeat
 * interval). Kept apart from the state machine so the wire shape is tested on its own.
 */
import { readFileSync } from 'node:fs';
import type { SidecarConfig } from '../config/types.ts';
import type {
  DataCenterInfo,
  InstanceStatus,
  MicroService,
  MicroServiceInstance,
  ServiceKey,
} from '../registry-client/types.ts';

/** Missed heartbeats the registry tolerates before expiring the instance (TTL = interval × (times+1)). */
export const HEARTBEAT_TIMES = 3;

export function serviceKeyOf(config: SidecarConfig): ServiceKey {
  const s = config.service;
  return { appId: s.app, serviceName: s.name, version: s.version, environment: s.environment };
}

export function buildMicroService(config: SidecarConfig, frameworkVersion: string): MicroService {
  const s = config.service;
  const ms: MicroService = {
    appId: s.app,
    serviceName: s.name,
    version: s.version,
    level: 'BACK',
    status: 'UP',
    alias: `${s.app}:${s.name}`,
    registerBy: 'SIDECAR',
    framework: { name: 'mesher', version: frameworkVersion },
  };
  if (s.environment) ms.environment = s.environment;
  if (Object.keys(s.properties).length > 0) ms.properties = { ...s.properties };
  return ms;
}

/** The instance endpoint list: `rest://host:port` of the advertised address, none when consumer-only. */
export function endpointsOf(config: SidecarConfig): string[] {
  const a = config.listeners.advertise;
  if (!a) return [];
  const host = a.host.includes(':') ? `[${a.host}]` : a.host;
  return [`rest://${host}:${a.port}`];
}

export function buildInstance(
  config: SidecarConfig,
  instanceId: string,
  status: InstanceStatus,
): MicroServiceInstance {
  const instance: MicroServiceInstance = {
    instanceId,
    hostName: config.service.hostname.slice(0, 64) || 'localhost',
    endpoints: endpointsOf(config),
    status,
    healthCheck: {
      mode: 'push',
      interval: Math.max(1, Math.ceil(config.registry.heartbeatIntervalMs / 1000)),
      times: HEARTBEAT_TIMES,
    },
  };
  if (Object.keys(config.service.instanceProperties).length > 0) {
    instance.properties = { ...config.service.instanceProperties };
  }
  const dc = dataCenterOf(config);
  if (dc) instance.dataCenterInfo = dc;
  return instance;
}

/**
 * dataCenterInfo from the flat config: go-chassis's `region.name` + `region.availableZone`
 * (chassis.yaml), or the later `servicecomb.datacenter.{name,region,availableZone}`. Sent only when
 * both a region and a zone are set, as the original did.
 */
export function dataCenterOf(config: SidecarConfig): DataCenterInfo | undefined {
  const f = config.flat ?? {};
  const get = (k: string): string | undefined => {
    const v = f[k];
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
  };
  const region = get('servicecomb.datacenter.region') ?? get('region.name');
  const zone = get('servicecomb.datacenter.availableZone') ?? get('region.availableZone');
  if (!region || !zone) return undefined;
  return { name: get('servicecomb.datacenter.name') ?? region, region, availableZone: zone };
}

let cachedVersion: string | undefined;
/** mesher's own version (package.json two levels above src/ or dist/), for `framework.version`. */
export function mesherVersion(): string {
  if (cachedVersion) return cachedVersion;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    cachedVersion = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    cachedVersion = 'unknown';
  }
  return cachedVersion;
}
