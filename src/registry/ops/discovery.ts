/**
 * @module registry/ops/discovery
 * Find (GET and batch POST), instance list and get-one with X-ConsumerId, and the response
 * revision (spec §4). The revision is the hex SHA-1 of `"{maxModRevision}.{count},"` over the
 * returned instances: opaque, and it changes whenever the set or any instance changes.
 * The caller's last revision may come as `?rev` or the `X-Resource-Revision` header (improve).
 */
import { createHash } from 'node:crypto';
import type { InstanceView } from '../catalog.ts';
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
  /** The answer body: `{"instances":[...]}`, or `{}` when empty (omitempty). */
  json: string;
  rev: string;
  /** Wire JSON of the instances joined with ',' ('' for none), for callers that re-shape them. */
  joined: string;
}

const EMPTY: InstanceView = { joined: '', count: 0, maxRevision: 0 };

/** The revision of an instance list: sha1 of `"{maxModRevision}.{count},"`, hex. */
function revision(maxRevision: number, count: number): string {
  return createHash('sha1').update(`${maxRevision}.${count},`).digest('hex');
}

/** `{"instances":[...]}`, or `{}` when empty (omitempty), without re-serialising. */
function answerOf(joined: string): string {
  return joined === '' ? '{}' : `{"instances":[${joined}]}`;
}

/** A view's answer and revision, computed once per view (so once per change of the service). */
function resultOf(view: InstanceView): FindResult {
  view.memo ??= { rev: revision(view.maxRevision, view.count), json: answerOf(view.joined) };
  return { json: view.memo.json, rev: view.memo.rev, joined: view.joined };
}

/** The union of several services' views, in order (a find over several versions). */
function resultOfMany(views: readonly InstanceView[]): FindResult {
  if (views.length === 0) return resultOf(EMPTY);
  if (views.length === 1) return resultOf(views[0]!);
  let max = 0;
  let count = 0;
  const parts: string[] = [];
  for (const v of views) {
    if (v.maxRevision > max) max = v.maxRevision;
    count += v.count;
    parts.push(v.joined);
  }
  const joined = parts.join(',');
  return { json: answerOf(joined), rev: revision(max, count), joined };
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
  const ids = ctx.catalog.serviceIdSet(t, env, q.appId, q.serviceName);
  if (!ids || ids.size === 0)
    throw new RegistryError(400012, `Provider[${env}/${q.appId}/${q.serviceName}] does not exist.`);
  const tagIdx = ctx.catalog.tenant(t)?.tags;
  const views: InstanceView[] = [];
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
    const view = ctx.catalog.instanceView(t, sid);
    if (view) views.push(view);
  }
  if (consumer && first) await recordDependency(ctx, t, consumer, first);
  return resultOfMany(views);
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
    if (!tags.every((k) => k in have)) return resultOf(EMPTY);
  }
  return resultOf(ctx.catalog.instanceView(t, sid) ?? EMPTY);
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
  return { json: entry.json, rev: revision(entry.modRevision, 1) };
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
          r.joined === '' ? [] : (JSON.parse(`[${r.joined}]`) as Instance[]),
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
