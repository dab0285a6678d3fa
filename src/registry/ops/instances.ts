/**
 * @module registry/ops/instances
 * Instance register (renew on a known instanceId), get, list, deregister, heartbeat (single and
 * batch), status, properties and bulk status (spec §3). An instance lives under a store lease of
 * TTL = interval × (times + 1) (§3.2); a heartbeat is a keepalive: O(1), nothing written to disk.
 */
import { randomUUID } from 'node:crypto';
import { invalid, RegistryError } from '../errors.ts';
import { keys } from '../keys.ts';
import {
  type HealthCheck,
  INSTANCE_STATUSES,
  type Instance,
  omitEmpty,
  type Tenant,
  unixSeconds,
} from '../model.ts';
import { deregisterMarkerKey } from '../self-preservation.ts';
import {
  checkStr,
  DC_RE,
  INSTANCE_ID_RE,
  int,
  isObject,
  NO_SPACE_RE,
  pathId,
  str,
  strMap,
} from '../validate.ts';
import type { RegistryConfig, RegistryContext } from './context.ts';

const MAX_INT32 = 2 ** 31 - 1;

/** Normalise the health check and compute the lease TTL in seconds (spec §3.2). */
export function normaliseHealthCheck(raw: unknown, cfg: RegistryConfig): { hc: HealthCheck; ttlSec: number } {
  let hc: HealthCheck;
  if (raw === undefined || raw === null) hc = { mode: 'push', interval: 30, times: 3 };
  else {
    if (!isObject(raw)) throw invalid('instance.healthCheck', 'must be an object');
    const p = 'instance.healthCheck';
    const mode = checkStr(raw.mode ?? '', `${p}.mode`, { oneOf: ['push', 'pull'] }) as 'push' | 'pull';
    hc = {
      mode,
      port: int(raw.port, `${p}.port`, 0, 65535),
      interval: int(raw.interval, `${p}.interval`, 1, MAX_INT32),
      times: int(raw.times, `${p}.times`, 0, MAX_INT32),
      url: str(raw, 'url', p, { re: NO_SPACE_RE }),
    };
    if (mode === 'pull') {
      hc.interval = 30;
      hc.times = 3;
    } else {
      hc.interval = Math.max(hc.interval, cfg.minIntervalSec);
      hc.times = Math.max(hc.times, cfg.minTimes);
    }
  }
  const ttlSec = cfg.instanceTtlSec > 0 ? cfg.instanceTtlSec : hc.interval * (hc.times + 1);
  return { hc: omitEmpty(hc), ttlSec };
}

export function parseInstance(raw: unknown, cfg: RegistryConfig): { inst: Instance; ttlSec: number } {
  if (!isObject(raw)) throw invalid('instance', 'required');
  const p = 'instance';
  const endpoints = raw.endpoints ?? [];
  if (!Array.isArray(endpoints) || endpoints.length > 100)
    throw invalid(`${p}.endpoints`, 'must be an array');
  for (const [i, e] of endpoints.entries()) checkStr(e, `${p}.endpoints[${i}]`, { re: /\S+/, max: 512 });
  const { hc, ttlSec } = normaliseHealthCheck(raw.healthCheck, cfg);
  const inst: Instance = {
    instanceId: str(raw, 'instanceId', p, { max: 64, re: INSTANCE_ID_RE }),
    serviceId: '',
    endpoints: endpoints as string[],
    hostName: str(raw, 'hostName', p, { required: true, min: 1, max: 64, re: /\S/ }),
    status: str(raw, 'status', p, { oneOf: INSTANCE_STATUSES }) || 'UP',
    healthCheck: hc,
    properties: strMap(raw.properties, `${p}.properties`),
  };
  if (raw.dataCenterInfo !== undefined && raw.dataCenterInfo !== null) {
    const d = raw.dataCenterInfo;
    if (!isObject(d)) throw invalid(`${p}.dataCenterInfo`, 'must be an object');
    const q = `${p}.dataCenterInfo`;
    inst.dataCenterInfo = {
      name: str(d, 'name', q, { min: 1, max: 128, re: DC_RE }),
      region: str(d, 'region', q, { min: 1, max: 128, re: DC_RE }),
      availableZone: str(d, 'availableZone', q, { min: 1, max: 128, re: DC_RE }),
    };
  }
  return { inst, ttlSec };
}

/** Register (or renew, for a known instanceId); returns the instanceId. */
export async function registerInstance(
  ctx: RegistryContext,
  t: Tenant,
  sid: string,
  raw: unknown,
): Promise<string> {
  pathId(sid, 'serviceId');
  const { inst, ttlSec } = parseInstance(raw, ctx.config);
  if (inst.instanceId) {
    const known = ctx.catalog.instance(t, sid, inst.instanceId);
    // A known instance is renewed. One whose lease is gone (its delete held back by
    // self-preservation) is written again below, which ends the hold.
    if (known && ctx.store.keepAlive(known.lease)) return inst.instanceId;
    if (known && !ctx.store.health().ok) return inst.instanceId; // outage: cannot tell, keep it
  }
  if (ctx.catalog.instanceCount >= ctx.config.quota.instances)
    throw new RegistryError(400100, `no quota to create instance, max ${ctx.config.quota.instances}`);
  const svc = ctx.catalog.service(t, sid);
  if (!svc) throw new RegistryError(400012, "Invalid 'serviceID' in request body.");
  const iid = inst.instanceId || randomUUID().replaceAll('-', '');
  const now = unixSeconds(ctx.clock.now());
  const stored = omitEmpty(
    { ...inst, instanceId: iid, serviceId: sid, version: svc.version, timestamp: now, modTimestamp: now },
    ['dataCenterInfo'],
  );
  const lease = await ctx.store.grantLease(ttlSec * 1000);
  const res = await ctx.store.txn({
    compare: [{ key: keys.service(t, sid), target: 'version', op: '!=', value: 0 }],
    success: [
      // service-center also writes `/inst/leases/...` = leaseId; here the instance record carries
      // its lease (KeyValue.lease, as etcd's kv.lease does), which saves a key per instance.
      { type: 'put', key: keys.instance(t, sid, iid), value: JSON.stringify(stored), lease },
    ],
  });
  if (!res.succeeded) {
    await ctx.store.revokeLease(lease);
    throw new RegistryError(400012, "Invalid 'serviceID' in request body.");
  }
  return iid;
}

function mustInstance(ctx: RegistryContext, t: Tenant, sid: string, iid: string) {
  pathId(sid, 'serviceId');
  checkStr(iid, 'instanceId', { min: 1, max: 64, re: INSTANCE_ID_RE });
  const entry = ctx.catalog.instance(t, sid, iid);
  if (!entry) throw new RegistryError(400017, 'Instance does not exist.');
  return entry;
}

export async function deregisterInstance(
  ctx: RegistryContext,
  t: Tenant,
  sid: string,
  iid: string,
): Promise<void> {
  const entry = mustInstance(ctx, t, sid, iid);
  const key = keys.instance(t, sid, iid);
  // The marker, written before the delete in the same transaction and under the instance's own
  // lease, tells every replica's catalog that this delete is explicit (never held back by
  // self-preservation); revoking the lease next removes the marker too.
  const res = await ctx.store.txn({
    compare: [{ key, target: 'version', op: '!=', value: 0 }],
    success: [
      { type: 'put', key: deregisterMarkerKey(key), value: '', lease: entry.lease },
      { type: 'delete', key },
    ],
  });
  if (!res.succeeded) {
    // Already gone from the store: its lease expired and self-preservation holds it in the
    // catalogs. A bare marker (put, then deleted) ends the hold on every replica.
    const marker = deregisterMarkerKey(key);
    await ctx.store.txn({ success: [{ type: 'put', key: marker, value: '' }] });
    await ctx.store.txn({ success: [{ type: 'delete', key: marker }] });
    return;
  }
  await ctx.store.revokeLease(entry.lease);
}

export function heartbeat(ctx: RegistryContext, t: Tenant, sid: string, iid: string): void {
  const entry = mustInstance(ctx, t, sid, iid);
  if (ctx.store.keepAlive(entry.lease)) return;
  // While the store is unreachable the lease cannot be checked: answer 200 so clients do not
  // re-register into an outage (service-center §8.3). The store renews it once it is back.
  if (!ctx.store.health().ok) return;
  throw new RegistryError(400017, 'leaseId not exist, instance not exist');
}

export function heartbeats(
  ctx: RegistryContext,
  t: Tenant,
  body: unknown,
): Array<{ serviceId: string; instanceId: string; errMessage?: string }> {
  if (!isObject(body) || !Array.isArray(body.instances) || body.instances.length === 0)
    throw new RegistryError(400001, 'Request format invalid.');
  if (body.instances.length > 10_000) throw invalid('instances', 'more than 10000 items');
  const seen = new Set<string>();
  const out: Array<{ serviceId: string; instanceId: string; errMessage?: string }> = [];
  for (const [i, x] of body.instances.entries()) {
    if (!isObject(x)) throw invalid(`instances[${i}]`, 'must be an object');
    const serviceId = checkStr(x.serviceId ?? '', `instances[${i}].serviceId`, { min: 1, max: 64 });
    const instanceId = checkStr(x.instanceId ?? '', `instances[${i}].instanceId`, { min: 1, max: 64 });
    const k = `${serviceId}/${instanceId}`;
    if (seen.has(k)) continue;
    seen.add(k);
    try {
      heartbeat(ctx, t, serviceId, instanceId);
      out.push({ serviceId, instanceId });
    } catch (err) {
      out.push({ serviceId, instanceId, errMessage: err instanceof Error ? err.message : String(err) });
    }
  }
  return out;
}

/** Re-write an instance under its existing lease (TTL not extended). */
async function rewrite(ctx: RegistryContext, t: Tenant, inst: Instance, lease: number): Promise<void> {
  const next = omitEmpty({ ...inst, modTimestamp: unixSeconds(ctx.clock.now()) }, ['dataCenterInfo']);
  const key = keys.instance(t, inst.serviceId, inst.instanceId);
  const res = await ctx.store
    .txn({
      compare: [{ key, target: 'version', op: '!=', value: 0 }],
      success: [{ type: 'put', key, value: JSON.stringify(next), lease }],
    })
    .catch(() => ({ succeeded: false }));
  if (!res.succeeded) throw new RegistryError(400017, 'Instance does not exist.');
}

export async function setInstanceStatus(
  ctx: RegistryContext,
  t: Tenant,
  sid: string,
  iid: string,
  value: string | null,
): Promise<void> {
  const entry = mustInstance(ctx, t, sid, iid);
  const status = checkStr(value ?? '', 'value', { oneOf: INSTANCE_STATUSES });
  await rewrite(ctx, t, { ...entry.inst, status }, entry.lease);
}

export async function setInstanceProperties(
  ctx: RegistryContext,
  t: Tenant,
  sid: string,
  iid: string,
  body: unknown,
): Promise<void> {
  const entry = mustInstance(ctx, t, sid, iid);
  const properties = strMap(isObject(body) ? body.properties : undefined, 'properties');
  await rewrite(ctx, t, { ...entry.inst, properties }, entry.lease);
}

/** `PUT /registry/instances/status`: set the status of every matching instance (validated). */
export async function bulkStatus(ctx: RegistryContext, t: Tenant, body: unknown): Promise<void> {
  if (!isObject(body)) throw invalid('body', 'required');
  const status = checkStr(body.status ?? '', 'status', { oneOf: INSTANCE_STATUSES });
  const matches = strMap(isObject(body.matches) ? body.matches.properties : undefined, 'matches.properties');
  const pairs = Object.entries(matches);
  if (pairs.length === 0) throw invalid('matches.properties', 'at least one property to match');
  const idx = ctx.catalog.tenant(t);
  if (!idx) return;
  const targets = [];
  for (const map of idx.instances.values())
    for (const e of map.values())
      if (e.inst.status !== status && pairs.every(([k, v]) => e.inst.properties?.[k] === v)) targets.push(e);
  for (const e of targets) await rewrite(ctx, t, { ...e.inst, status }, e.lease).catch(() => undefined);
}
