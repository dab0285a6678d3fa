/**
 * @module registry/ops/discovery
 * Find (GET and batch POST), instance list and get-one with X-ConsumerId, and the response
 * revision (spec §4). The revision is the hex SHA-1 of `"{maxModRevision}.{count},"` over the
 * returned instances: opaque, and it changes whenever the set or any instance changes.
 * The caller's last revision may come as `?rev` or the `X-Resource-Revision` header (improve).
 */
import { createHash } from 'node:crypto';
import type { InstanceEntry } from '../catalog.ts';
import { invalid, RegistryError } from '../errors.ts';
import type { Instance, MicroService, Tenant } from '../model.ts';
import {
  checkStr,
  ENV_RE,
  isObject,
  NAME_RE,
  NAME_WITH_COLON_RE,
  NO_SPACE_RE,
  pathId,
  TAG_RE,
} from '../validate.ts';
import { canAccess, isGlobalName } from './access.ts';
import type { RegistryContext } from './context.ts';
import { recordDependency } from './dependencies.ts';

export interface FindQuery {
  appId: string;
  serviceName: string;
  env?: string;
  tags?: string[];
  consumerId?: string;
}

export interface FindResult {
  /** Wire JSON of each instance, ready to splice into a response. */
  raws: string[];
  rev: string;
}

export function revisionOf(entries: Iterable<InstanceEntry>): FindResult {
  let max = 0;
  const raws: string[] = [];
  for (const e of entries) {
    raws.push(e.json);
    if (e.modRevision > max) max = e.modRevision;
  }
  const rev = createHash('sha1').update(`${max}.${raws.length},`).digest('hex');
  return { raws, rev };
}

/** `{"instances":[...]}`, or `{}` when empty (omitempty), without re-serialising. */
export function instancesJson(raws: readonly string[]): string {
  return raws.length === 0 ? '{}' : `{"instances":[${raws.join(',')}]}`;
}

export function parseTags(raw: string | null | undefined, name = 'tags'): string[] {
  if (!raw) return [];
  const tags = raw.split(',').filter((x) => x !== '');
  for (const [i, tag] of tags.entries()) checkStr(tag, `${name}[${i}]`, { re: TAG_RE });
  return tags;
}

function consumerOf(
  ctx: RegistryContext,
  t: Tenant,
  consumerId: string | undefined,
): MicroService | undefined {
  if (!consumerId) return undefined;
  checkStr(consumerId, 'X-ConsumerId', { max: 64, re: NO_SPACE_RE });
  const c = ctx.catalog.service(t, consumerId);
  if (!c) throw new RegistryError(400012, `Consumer[${consumerId}] does not exist.`);
  return c;
}

/** Discovery by app and name (spec §4.1). Records the dependency synchronously. */
export async function find(ctx: RegistryContext, t: Tenant, q: FindQuery): Promise<FindResult> {
  checkStr(q.appId, 'appId', { min: 1, max: 160, re: NAME_RE });
  checkStr(q.serviceName, 'serviceName', { min: 1, max: 289, re: NAME_WITH_COLON_RE });
  checkStr(q.env ?? '', 'env', { re: ENV_RE });
  const consumer = consumerOf(ctx, t, q.consumerId);
  let env = consumer ? (consumer.environment ?? '') : (q.env ?? '');
  if (isGlobalName(ctx, t, q.appId, q.serviceName)) env = ctx.config.environment;
  const ids = ctx.catalog.findServiceIds(t, env, q.appId, q.serviceName);
  if (ids.length === 0)
    throw new RegistryError(400012, `Provider[${env}/${q.appId}/${q.serviceName}] does not exist.`);
  const tagIdx = ctx.catalog.tenant(t)?.tags;
  const visible: InstanceEntry[] = [];
  let first: MicroService | undefined;
  for (const sid of ids) {
    const svc = ctx.catalog.service(t, sid);
    if (!svc) continue;
    first ??= svc;
    if (q.tags && q.tags.length > 0) {
      const tags = tagIdx?.get(sid) ?? {};
      if (!q.tags.every((k) => k in tags)) continue;
    }
    if (consumer && !canAccess(ctx, t, consumer, svc)) continue;
    const insts = ctx.catalog.instancesOf(t, sid);
    if (insts) for (const e of insts.values()) visible.push(e);
  }
  if (consumer && first) await recordDependency(ctx, t, consumer, first);
  return revisionOf(visible);
}

/** `GET /microservices/{sid}/instances` (no dependency is recorded). */
export function listInstances(
  ctx: RegistryContext,
  t: Tenant,
  sid: string,
  consumerId: string | undefined,
  tags: string[],
): FindResult {
  pathId(sid, 'serviceId');
  const consumer = consumerOf(ctx, t, consumerId);
  const provider = ctx.catalog.service(t, sid);
  if (!provider) throw new RegistryError(400012, `Provider[${sid}] does not exist.`);
  if (consumer && !canAccess(ctx, t, consumer, provider))
    throw new RegistryError(400012, `Consumer[${consumer.serviceId}] can not access provider[${sid}].`);
  if (tags.length > 0) {
    const have = ctx.catalog.tenant(t)?.tags.get(sid) ?? {};
    if (!tags.every((k) => k in have)) return revisionOf([]);
  }
  return revisionOf(ctx.catalog.instancesOf(t, sid)?.values() ?? []);
}

export function getInstance(
  ctx: RegistryContext,
  t: Tenant,
  sid: string,
  iid: string,
  consumerId: string | undefined,
): { json: string; rev: string } {
  pathId(sid, 'serviceId');
  pathId(iid, 'instanceId');
  const consumer = consumerOf(ctx, t, consumerId);
  const provider = ctx.catalog.service(t, sid);
  if (!provider) throw new RegistryError(400012, `Provider[${sid}] does not exist.`);
  const entry = ctx.catalog.instance(t, sid, iid);
  if (!entry || (consumer && !canAccess(ctx, t, consumer, provider)))
    throw new RegistryError(400017, 'Instance does not exist.');
  const { rev } = revisionOf([entry]);
  return { json: entry.json, rev };
}

interface BatchGroup {
  updated?: Array<{ index: number; rev: string; instances?: Instance[] }>;
  notModified?: number[];
  failed?: Array<{ indexes: number[]; error: ReturnType<RegistryError['toBody']> }>;
}

/** `POST /registry/instances/action?type=query` (spec §4.5). */
export async function batchFind(
  ctx: RegistryContext,
  t: Tenant,
  body: unknown,
  consumerId: string | undefined,
): Promise<{ services?: BatchGroup; instances?: BatchGroup }> {
  if (!isObject(body)) throw new RegistryError(400001, 'Required services or instances');
  const services = body.services ?? [];
  const instances = body.instances ?? [];
  if (!Array.isArray(services) || !Array.isArray(instances)) throw invalid('services', 'must be an array');
  if (services.length === 0 && instances.length === 0)
    throw new RegistryError(400001, 'Required services or instances');
  if (services.length + instances.length > 1000) throw invalid('services', 'more than 1000 items in total');
  // Validate everything first: one bad item fails the whole request.
  const sItems = services.map((x, i) => {
    if (!isObject(x) || !isObject(x.service)) throw invalid(`services[${i}].service`, 'required');
    const s = x.service;
    const q: FindQuery = {
      appId: checkStr(s.appId ?? '', `services[${i}].service.appId`, { min: 1, max: 160, re: NAME_RE }),
      serviceName: checkStr(s.serviceName ?? '', `services[${i}].service.serviceName`, {
        min: 1,
        max: 289,
        re: NAME_WITH_COLON_RE,
      }),
      env: checkStr(s.environment ?? '', `services[${i}].service.environment`, { re: ENV_RE }),
      consumerId,
    };
    return { q, rev: typeof x.rev === 'string' ? x.rev : '' };
  });
  const iItems = instances.map((x, i) => {
    if (!isObject(x) || !isObject(x.instance)) throw invalid(`instances[${i}].instance`, 'required');
    const sid = checkStr(x.instance.serviceId ?? '', `instances[${i}].instance.serviceId`, {
      min: 1,
      max: 64,
    });
    const iid = checkStr(x.instance.instanceId ?? '', `instances[${i}].instance.instanceId`, {
      min: 1,
      max: 64,
    });
    return { sid, iid, rev: typeof x.rev === 'string' ? x.rev : '' };
  });
  const out: { services?: BatchGroup; instances?: BatchGroup } = {};
  if (sItems.length > 0) {
    const g = newGroup();
    for (const [index, item] of sItems.entries()) {
      try {
        const r = await find(ctx, t, item.q);
        addResult(
          g,
          index,
          item.rev,
          r.rev,
          r.raws.map((x) => JSON.parse(x) as Instance),
        );
      } catch (err) {
        addFailure(g, index, err);
      }
    }
    out.services = finish(g);
  }
  if (iItems.length > 0) {
    const g = newGroup();
    for (const [index, item] of iItems.entries()) {
      try {
        const r = getInstance(ctx, t, item.sid, item.iid, consumerId);
        addResult(g, index, item.rev, r.rev, [JSON.parse(r.json) as Instance]);
      } catch (err) {
        addFailure(g, index, err);
      }
    }
    out.instances = finish(g);
  }
  return out;
}

type Group = Required<BatchGroup> & { byCode: Map<string, number[]> };
const newGroup = (): Group => ({ updated: [], notModified: [], failed: [], byCode: new Map() });

function addResult(g: Group, index: number, seen: string, rev: string, instances: Instance[]): void {
  if (seen && seen === rev) g.notModified.push(index);
  else g.updated.push(instances.length > 0 ? { index, rev, instances } : { index, rev });
}

function addFailure(g: Group, index: number, err: unknown): void {
  const e = err instanceof RegistryError ? err : new RegistryError(500003, String(err));
  const body = e.toBody();
  let idx = g.byCode.get(body.errorCode);
  if (!idx) {
    idx = [];
    g.byCode.set(body.errorCode, idx);
    g.failed.push({ indexes: idx, error: body });
  }
  idx.push(index);
}

function finish(g: Group): BatchGroup {
  const out: BatchGroup = {};
  if (g.updated.length > 0) out.updated = g.updated;
  if (g.notModified.length > 0) out.notModified = g.notModified;
  if (g.failed.length > 0) out.failed = g.failed;
  return out;
}
