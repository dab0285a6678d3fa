/**
 * @module registry/ops/services
 * Microservice create (idempotent, alias), get, list, delete (single, batch, force), properties
 * and existence (spec §2.2).
 */
import { invalid, RegistryError } from '../errors.ts';
import { keys, serviceIdFor } from '../keys.ts';
import { type MicroService, omitEmpty, type Tenant, unixSeconds } from '../model.ts';
import type { Op } from '../storage/types.ts';
import {
  ALIAS_RE,
  ENV_RE,
  isObject,
  NAME_RE,
  NAME_WITH_COLON_RE,
  NO_SPACE_RE,
  PATH_RE,
  pathId,
  SCHEMA_ID_RE,
  str,
  strArray,
  strMap,
  version,
} from '../validate.ts';
import { isGlobal } from './access.ts';
import type { RegistryContext } from './context.ts';
import { SELF_NAME } from './context.ts';
import { dependentsOf } from './dependencies.ts';
import { collectSchemaGarbage, refHashes } from './schemas.ts';

/** Validate a `service` object and fill the defaults (spec §2.1). */
export function parseService(raw: unknown, now: number): MicroService {
  if (!isObject(raw)) throw new RegistryError(400001, 'Request body is empty');
  const p = 'service';
  const s: MicroService = {
    serviceId: str(raw, 'serviceId', p, { max: 64, re: NO_SPACE_RE }),
    appId: str(raw, 'appId', p, { max: 160, re: NAME_RE }) || 'default',
    serviceName: str(raw, 'serviceName', p, { required: true, min: 1, max: 128, re: NAME_RE }),
    version: version(str(raw, 'version', p, {}) || '0.0.1', `${p}.version`),
    environment: str(raw, 'environment', p, { re: ENV_RE }),
    level: str(raw, 'level', p, { oneOf: ['FRONT', 'MIDDLE', 'BACK'] }) || 'BACK',
    status: str(raw, 'status', p, { oneOf: ['UP', 'DOWN'] }) || 'UP',
    description: str(raw, 'description', p, { max: 256 }),
    schemas: strArray(raw.schemas, `${p}.schemas`, 100, { re: SCHEMA_ID_RE }),
    properties: strMap(raw.properties, `${p}.properties`),
    alias: str(raw, 'alias', p, { max: 128, re: ALIAS_RE }),
    registerBy: str(raw, 'registerBy', p, { oneOf: ['SDK', 'SIDECAR', 'PLATFORM'] }),
    timestamp: unixSeconds(now),
    modTimestamp: unixSeconds(now),
  };
  if (raw.paths !== undefined && raw.paths !== null) {
    if (!Array.isArray(raw.paths) || raw.paths.length > 100) throw invalid(`${p}.paths`, 'must be an array');
    s.paths = raw.paths.map((x, i) => {
      if (!isObject(x)) throw invalid(`${p}.paths[${i}]`, 'must be an object');
      return omitEmpty({
        path: str(x, 'path', `${p}.paths[${i}]`, { re: PATH_RE }),
        property: strMap(x.property, `${p}.paths[${i}].property`),
      });
    });
  }
  if (isObject(raw.framework)) {
    s.framework = {
      name: str(raw.framework, 'name', `${p}.framework`, { max: 64, re: NAME_RE }),
      version: str(raw.framework, 'version', `${p}.framework`, { max: 64 }),
    };
  }
  if (isObject(raw.LBStrategy)) s.LBStrategy = strMap(raw.LBStrategy, `${p}.LBStrategy`);
  if (Array.isArray(raw.providers))
    s.providers = raw.providers.filter(isObject) as unknown as MicroService['providers'];
  return omitEmpty(s, ['framework']);
}

/** Create a service; returns its id (the existing one for an identical key without an id). */
export async function createService(ctx: RegistryContext, t: Tenant, svc: MicroService): Promise<string> {
  const [domain = 'default', project = 'default'] = t.split('/');
  const env = svc.environment ?? '';
  const indexKey = keys.index(t, env, svc.appId, svc.serviceName, svc.version);
  const aliasKey = svc.alias ? keys.alias(t, env, svc.appId, svc.alias, svc.version) : null;
  const requested = svc.serviceId;
  const existing = ctx.store.get(indexKey)?.value ?? (aliasKey ? ctx.store.get(aliasKey)?.value : undefined);
  if (existing !== undefined) return idempotent(existing, requested);
  const isSelf = svc.serviceName === SELF_NAME && ctx.self === null;
  if (!isSelf && ctx.catalog.serviceCount >= ctx.config.quota.services)
    throw new RegistryError(400100, `no quota to create service, max ${ctx.config.quota.services}`);
  const sid = requested || serviceIdFor(indexKey);
  const { serviceId: _ignored, ...rest } = svc;
  const stored = { serviceId: sid, ...rest };
  const success: Op[] = [
    { type: 'put', key: keys.service(t, sid), value: JSON.stringify(stored) },
    { type: 'put', key: indexKey, value: sid },
    { type: 'put', key: keys.domain(domain), value: '' },
    { type: 'put', key: keys.project(domain, project), value: '' },
  ];
  if (aliasKey) success.push({ type: 'put', key: aliasKey, value: sid });
  const compare = [
    { key: keys.service(t, sid), target: 'version' as const, op: '=' as const, value: 0 },
    { key: indexKey, target: 'version' as const, op: '=' as const, value: 0 },
  ];
  if (aliasKey) compare.push({ key: aliasKey, target: 'version', op: '=', value: 0 });
  const res = await ctx.store.txn({ compare, success });
  if (res.succeeded) return sid;
  const again = ctx.store.get(indexKey)?.value ?? (aliasKey ? ctx.store.get(aliasKey)?.value : undefined);
  if (again !== undefined) return idempotent(again, requested);
  throw new RegistryError(400010, 'ServiceID conflict or found the same service with different id.');
}

function idempotent(existing: string, requested: string): string {
  if (!requested || requested === existing) return existing;
  throw new RegistryError(400010, 'ServiceID conflict or found the same service with different id.');
}

export function getService(ctx: RegistryContext, t: Tenant, sid: string): MicroService {
  pathId(sid, 'serviceId');
  const svc = ctx.catalog.service(t, sid);
  if (!svc) throw new RegistryError(400012, 'Service does not exist.');
  return svc;
}

export function listServices(ctx: RegistryContext, t: Tenant, withShared: boolean): MicroService[] {
  const idx = ctx.catalog.tenant(t);
  if (!idx) return [];
  const out: MicroService[] = [];
  for (const svc of idx.services.values()) if (withShared || !isGlobal(ctx, t, svc)) out.push(svc);
  return out;
}

export async function deleteService(
  ctx: RegistryContext,
  t: Tenant,
  sid: string,
  force: boolean,
): Promise<void> {
  pathId(sid, 'serviceId');
  if (ctx.self && ctx.self.tenant === t && ctx.self.serviceId === sid)
    throw invalid('serviceId', 'the registry itself cannot be deleted');
  const svc = ctx.catalog.service(t, sid);
  if (!svc) throw new RegistryError(400012, 'Service does not exist.');
  if (!force) {
    const others = dependentsOf(ctx, t, svc).filter((c) => c !== sid);
    if (others.length > 0)
      throw new RegistryError(400023, `${others.length} consumer(s) depend on this service`);
    if ((ctx.catalog.instancesOf(t, sid)?.size ?? 0) > 0)
      throw new RegistryError(400013, 'Can not delete the service while it has instances.');
  }
  for (const entry of [...(ctx.catalog.instancesOf(t, sid)?.values() ?? [])])
    if (entry.lease) await ctx.store.revokeLease(entry.lease);
  const env = svc.environment ?? '';
  // Revoking the leases deleted the instances; anything left (none normally) is deleted by key,
  // not by prefix, so a delete costs O(service), not O(store).
  const ops: Op[] = [...(ctx.catalog.instancesOf(t, sid)?.values() ?? [])].map(
    (e): Op => ({ type: 'delete', key: e.kv.key }),
  );
  ops.push(
    { type: 'delete', key: keys.service(t, sid) },
    { type: 'delete', key: keys.index(t, env, svc.appId, svc.serviceName, svc.version) },
    { type: 'delete', key: keys.tags(t, sid) },
    { type: 'delete', key: keys.depRule(t, 'c', env, svc.appId, svc.serviceName, svc.version) },
  );
  if (svc.alias) ops.push({ type: 'delete', key: keys.alias(t, env, svc.appId, svc.alias, svc.version) });
  for (const schemaId of svc.schemas ?? [])
    ops.push(
      { type: 'delete', key: keys.schemaRef(t, sid, schemaId) },
      { type: 'delete', key: keys.schemaSum(t, sid, schemaId) },
    );
  const hashes = refHashes(ctx, t, sid, svc.schemas ?? []);
  await ctx.store.txn({ success: ops });
  await collectSchemaGarbage(ctx, t, hashes);
}

export async function deleteServices(
  ctx: RegistryContext,
  t: Tenant,
  body: unknown,
): Promise<Array<{ serviceId: string; errMessage?: string }>> {
  if (!isObject(body) || !Array.isArray(body.serviceIds) || body.serviceIds.length === 0)
    throw invalid('serviceIds', 'required, a non-empty array');
  if (body.serviceIds.length > 1000) throw invalid('serviceIds', 'more than 1000 items');
  if (body.force !== undefined && typeof body.force !== 'boolean')
    throw invalid('force', 'must be a boolean');
  const ids = [...new Set(body.serviceIds.map((x, i) => pathId(x as string, `serviceIds[${i}]`)))];
  const out: Array<{ serviceId: string; errMessage?: string }> = [];
  for (const serviceId of ids) {
    try {
      await deleteService(ctx, t, serviceId, body.force === true);
      out.push({ serviceId });
    } catch (err) {
      out.push({ serviceId, errMessage: err instanceof Error ? err.message : String(err) });
    }
  }
  return out;
}

export async function updateServiceProperties(
  ctx: RegistryContext,
  t: Tenant,
  sid: string,
  body: unknown,
): Promise<void> {
  pathId(sid, 'serviceId');
  const properties = strMap(isObject(body) ? body.properties : undefined, 'properties');
  const svc = getService(ctx, t, sid);
  const next = omitEmpty({ ...svc, properties, modTimestamp: unixSeconds(ctx.clock.now()) });
  const res = await ctx.store.txn({
    compare: [{ key: keys.service(t, sid), target: 'version', op: '!=', value: 0 }],
    success: [{ type: 'put', key: keys.service(t, sid), value: JSON.stringify(next) }],
  });
  if (!res.succeeded) throw new RegistryError(400012, 'Service does not exist.');
}

/** `GET /existence?type=microservice|schema` (spec §2.2). */
export function existence(
  ctx: RegistryContext,
  t: Tenant,
  q: URLSearchParams,
): { body: Record<string, string>; headers?: Record<string, string> } {
  const type = q.get('type');
  if (type === 'schema') {
    const sid = pathId(q.get('serviceId') ?? '', 'serviceId');
    const schemaId = q.get('schemaId') ?? '';
    if (!SCHEMA_ID_RE.test(schemaId)) throw invalid('schemaId', `does not match ${SCHEMA_ID_RE.source}`);
    getService(ctx, t, sid);
    if (!ctx.store.get(keys.schemaRef(t, sid, schemaId)))
      throw new RegistryError(400016, 'Schema does not exist.');
    const summary = ctx.store.get(keys.schemaSum(t, sid, schemaId))?.value ?? '';
    return { body: { serviceId: sid, schemaId }, headers: { 'X-Schema-Summary': summary } };
  }
  if (type !== 'microservice')
    throw new RegistryError(400001, 'Only micro-service and schema can be used as type.');
  const q2 = Object.fromEntries(q) as Record<string, unknown>;
  const appId = str(q2, 'appId', 'query', { min: 1, max: 160, re: NAME_RE });
  const name = str(q2, 'serviceName', 'query', { min: 1, max: 289, re: NAME_WITH_COLON_RE });
  const ver = version(q.get('version') ?? '', 'query.version');
  const env = str(q2, 'env', 'query', { re: ENV_RE });
  const ids = ctx.catalog.findServiceIds(t, env, appId, name);
  if (ids.length === 0) throw new RegistryError(400012, `${env}/${appId}/${name}/${ver} does not exist.`);
  const sid = ctx.catalog.findExact(t, env, appId, name, ver);
  if (!sid) throw new RegistryError(400026, `${env}/${appId}/${name}/${ver} does not exist.`);
  return { body: { serviceId: sid } };
}
