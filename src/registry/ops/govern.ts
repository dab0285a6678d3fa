/**
 * @module registry/ops/govern
 * Read-only views for dashboards (spec §6 "Governance"), health (every replica's SERVICECENTER
 * instance and the self-preservation state) and version. Everything here is derived from the
 * catalog; nothing writes.
 */
import { arch, platform } from 'node:os';
import { RegistryError } from '../errors.ts';
import type { MicroService, Tenant } from '../model.ts';
import { bool, checkStr, ENV_RE } from '../validate.ts';
import { isGlobal } from './access.ts';
import type { RegistryContext } from './context.ts';
import { dependentsOf, providersOf } from './dependencies.ts';
import { listSchemas } from './schemas.ts';

function detail(ctx: RegistryContext, t: Tenant, svc: MicroService, options: Set<string>) {
  const all = options.has('all') || options.size === 0;
  const sid = svc.serviceId;
  const out: Record<string, unknown> = { microService: svc };
  if (all || options.has('instances')) {
    const insts = [...(ctx.catalog.instancesOf(t, sid)?.values() ?? [])].map((e) => e.inst);
    if (insts.length > 0) out.instances = insts;
  }
  if (all || options.has('schemas')) {
    const schemas = listSchemas(ctx, t, sid, '1');
    if (schemas.length > 0) out.schemaInfos = schemas;
  }
  if (all || options.has('dependencies')) {
    const providers = providersOf(ctx, t, svc);
    const consumers = dependentsOf(ctx, t, svc)
      .map((id) => ctx.catalog.service(t, id))
      .filter((s): s is MicroService => !!s);
    if (providers.length > 0) out.providers = providers;
    if (consumers.length > 0) out.consumers = consumers;
  }
  if (all || options.has('tags')) {
    const tags = ctx.catalog.tenant(t)?.tags.get(sid);
    if (tags && Object.keys(tags).length > 0) out.tags = tags;
  }
  const versions = ctx.catalog
    .findServiceIds(t, svc.environment ?? '', svc.appId, svc.serviceName)
    .map((id) => ctx.catalog.service(t, id)?.version)
    .filter((v): v is string => !!v);
  if (versions.length > 0) out.microServiceVersions = versions;
  return out;
}

export function governService(ctx: RegistryContext, t: Tenant, sid: string) {
  const svc = ctx.catalog.service(t, sid);
  if (!svc) throw new RegistryError(400012, 'Service does not exist.');
  return { service: detail(ctx, t, svc, new Set(['all'])) };
}

export function governServices(ctx: RegistryContext, t: Tenant, q: URLSearchParams) {
  const options = new Set((q.get('options') ?? '').split(',').filter((x) => x !== ''));
  const withShared = bool(q.get('withShared'), 'withShared') ?? false;
  const countOnly = bool(q.get('countOnly'), 'countOnly') ?? false;
  const env = q.get('env');
  if (env !== null) checkStr(env, 'env', { re: ENV_RE });
  const appId = q.get('appId');
  const name = q.get('serviceName');
  const services = [...(ctx.catalog.tenant(t)?.services.values() ?? [])].filter(
    (s) =>
      (withShared || !isGlobal(ctx, t, s)) &&
      (env === null || (s.environment ?? '') === env) &&
      (!appId || s.appId === appId) &&
      (!name || s.serviceName === name),
  );
  const apps = new Set(services.map((s) => s.appId));
  let instances = 0;
  let online = 0;
  for (const s of services)
    for (const e of ctx.catalog.instancesOf(t, s.serviceId)?.values() ?? []) {
      instances++;
      if (e.inst.status === 'UP') online++;
    }
  const statistics = {
    services: { count: services.length, onlineCount: services.length, appCount: apps.size },
    instances: { count: instances, countByDomain: instances },
    apps: { count: apps.size },
    onlineInstances: online,
  };
  if (countOnly) return { statistics };
  const allServicesDetail = services.map((s) => detail(ctx, t, s, options));
  return allServicesDetail.length > 0 ? { allServicesDetail, statistics } : { statistics };
}

export function governRelations(ctx: RegistryContext, t: Tenant) {
  const services = [...(ctx.catalog.tenant(t)?.services.values() ?? [])].filter((s) => !isGlobal(ctx, t, s));
  const node = (s: MicroService) => ({
    id: s.serviceId,
    name: s.serviceName,
    appId: s.appId,
    version: s.version,
  });
  const nodes = services.map(node);
  const lines: Array<{ from: ReturnType<typeof node>; to: ReturnType<typeof node> }> = [];
  for (const s of services)
    for (const p of providersOf(ctx, t, s)) lines.push({ from: node(s), to: node(p) });
  const out: Record<string, unknown> = {};
  if (nodes.length > 0) out.nodes = nodes;
  if (lines.length > 0) out.lines = lines;
  return out;
}

export function governApps(ctx: RegistryContext, t: Tenant, q: URLSearchParams) {
  const withShared = bool(q.get('withShared'), 'withShared') ?? false;
  const env = q.get('env') ?? '';
  checkStr(env, 'env', { re: ENV_RE });
  const apps = new Set<string>();
  for (const s of ctx.catalog.tenant(t)?.services.values() ?? [])
    if ((s.environment ?? '') === env && (withShared || !isGlobal(ctx, t, s))) apps.add(s.appId);
  return apps.size > 0 ? { appIds: [...apps].sort() } : {};
}

export function health(ctx: RegistryContext) {
  const h = ctx.store.health();
  if (!h.ok) throw new RegistryError(400002, h.reason);
  if (!ctx.self) throw new RegistryError(400012, 'The registry has not registered itself.');
  const insts = [...(ctx.catalog.instancesOf(ctx.self.tenant, ctx.self.serviceId)?.values() ?? [])];
  // Every live replica (each registers itself), plus this replica's self-preservation state
  // (an extension: service-center clients ignore unknown fields).
  return {
    ...(insts.length > 0 ? { instances: insts.map((e) => e.inst) } : {}),
    selfPreservation: ctx.catalog.selfPreservation(),
  };
}

export function version(ctx: RegistryContext, apiVersion: '3.0.0' | '4.0.0') {
  return {
    version: ctx.config.version,
    buildTag: 'mesher',
    runtime: `node ${process.version}`,
    os: platform(),
    arch: arch(),
    apiVersion,
  };
}
