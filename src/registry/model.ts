/**
 * @module registry/model
 * The wire types of the v4 API (cari discovery/*.go), plus the small helpers that give them Go's
 * JSON shape: `omitEmpty` drops empty strings, arrays, maps, false and 0 from struct fields.
 */

export interface MicroServiceKey {
  tenant?: string;
  environment?: string;
  appId: string;
  serviceName: string;
  alias?: string;
  version?: string;
}

export interface MicroService {
  serviceId: string;
  appId: string;
  serviceName: string;
  version: string;
  environment?: string;
  level?: string;
  status?: string;
  description?: string;
  schemas?: string[];
  paths?: Array<{ path?: string; property?: Record<string, string> }>;
  properties?: Record<string, string>;
  alias?: string;
  registerBy?: string;
  framework?: { name?: string; version?: string };
  LBStrategy?: Record<string, string>;
  providers?: MicroServiceKey[];
  timestamp?: string;
  modTimestamp?: string;
}

export interface HealthCheck {
  mode: 'push' | 'pull';
  port?: number;
  interval: number;
  times: number;
  url?: string;
}

export interface Instance {
  instanceId: string;
  serviceId: string;
  endpoints?: string[];
  hostName: string;
  status: string;
  healthCheck: HealthCheck;
  dataCenterInfo?: { name: string; region: string; availableZone: string };
  properties?: Record<string, string>;
  version?: string;
  timestamp?: string;
  modTimestamp?: string;
}

export const INSTANCE_STATUSES = ['UP', 'DOWN', 'STARTING', 'TESTING', 'OUTOFSERVICE'] as const;

/** A tenant: `{domain}/{project}`. */
export type Tenant = string;

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === false || v === 0) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

/** Go `omitempty` for one struct level; `nested` names fields that are structs themselves. */
export function omitEmpty<T extends object>(obj: T, nested: readonly string[] = []): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const val = nested.includes(k) && v && typeof v === 'object' ? omitEmpty(v as object) : v;
    if (!isEmpty(val)) out[k] = val;
  }
  return out as T;
}

export function unixSeconds(ms: number): string {
  return String(Math.floor(ms / 1000));
}
