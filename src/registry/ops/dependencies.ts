/**
 * @module registry/ops/dependencies
 * Consumer → provider dependency rules (spec §4.1 step 6, §6). Rules are stored per consumer
 * key under `dep-rules/{dp}/c/{env}/{app}/{name}/{version}` as `{"Dependency":[key…]}`; the
 * provider side is derived in the catalog. Unlike service-center, recording is synchronous: the
 * rule exists when the find that created it answers (the spec's "improve").
 */
import { ruleTail } from '../catalog.ts';
import { invalid, RegistryError } from '../errors.ts';
import { keys } from '../keys.ts';
import type { MicroService, MicroServiceKey, Tenant } from '../model.ts';
import { ENV_RE, isObject, NAME_RE, NAME_WITH_COLON_RE, str } from '../validate.ts';
import type { RegistryContext } from './context.ts';

const sameProvider = (a: MicroServiceKey, b: MicroServiceKey) =>
  (a.environment ?? '') === (b.environment ?? '') && a.appId === b.appId && a.serviceName === b.serviceName;

function ruleKey(t: Tenant, c: MicroService | MicroServiceKey): string {
  return keys.depRule(t, 'c', c.environment ?? '', c.appId, c.serviceName, c.version ?? '');
}

/** Record `consumer → provider` if not present yet (called by find with X-ConsumerId). */
export async function recordDependency(
  ctx: RegistryContext,
  t: Tenant,
  consumer: MicroService,
  provider: MicroService,
): Promise<void> {
  const idx = ctx.catalog.tenant(t);
  const consumerTail = ruleTail(consumer);
  // The common case (every find after the first): already recorded. The catalog's derived
  // provider → consumers index answers that in O(1); scanning the consumer's rules was O(rules)
  // per find (1,000 providers: ~1,000 comparisons on every find).
  const providerTail = `${provider.environment ?? ''}/${provider.appId}/${provider.serviceName}`;
  if (idx?.dependents.get(providerTail)?.has(consumerTail)) return;
  const rules = idx?.depRules.get(consumerTail) ?? [];
  const key: MicroServiceKey = {
    tenant: t,
    environment: provider.environment ?? '',
    appId: provider.appId,
    serviceName: provider.serviceName,
    version: '0.0.0+',
  };
  if (rules.some((r) => sameProvider(r, key))) return;
  await ctx.store.txn({
    success: [
      { type: 'put', key: ruleKey(t, consumer), value: JSON.stringify({ Dependency: [...rules, key] }) },
    ],
  });
}

/** Provider services of a consumer (all versions of each rule's provider). */
export function providersOf(ctx: RegistryContext, t: Tenant, consumer: MicroService): MicroService[] {
  const rules = ctx.catalog.tenant(t)?.depRules.get(ruleTail(consumer)) ?? [];
  const out: MicroService[] = [];
  for (const r of rules)
    for (const sid of ctx.catalog.findServiceIds(t, r.environment ?? '', r.appId, r.serviceName)) {
      const svc = ctx.catalog.service(t, sid);
      if (svc) out.push(svc);
    }
  return out;
}

/** Service ids of the consumers that depend on a provider. */
export function dependentsOf(ctx: RegistryContext, t: Tenant, provider: MicroService): string[] {
  const idx = ctx.catalog.tenant(t);
  if (!idx) return [];
  const names = [`${provider.environment ?? ''}/${provider.appId}/${provider.serviceName}`];
  if (provider.alias) names.push(`${provider.environment ?? ''}/${provider.appId}/${provider.alias}`);
  const out = new Set<string>();
  for (const n of names)
    for (const consumerTail of idx.dependents.get(n) ?? []) {
      const [env = '', app = '', name = '', ver = ''] = consumerTail.split('/');
      const sid = ctx.catalog.findExact(t, env, app, name, ver);
      if (sid) out.add(sid);
    }
  return [...out];
}

export function listProviders(ctx: RegistryContext, t: Tenant, sid: string): MicroService[] {
  const svc = ctx.catalog.service(t, sid);
  if (!svc) throw new RegistryError(400012, 'Consumer does not exist.');
  return providersOf(ctx, t, svc);
}

export function listConsumers(ctx: RegistryContext, t: Tenant, sid: string): MicroService[] {
  const svc = ctx.catalog.service(t, sid);
  if (!svc) throw new RegistryError(400012, 'Provider does not exist.');
  return dependentsOf(ctx, t, svc)
    .map((id) => ctx.catalog.service(t, id))
    .filter((s): s is MicroService => s !== undefined);
}

/** POST (add) / PUT (override) `/registry/dependencies` (deprecated in service-center, kept). */
export async function putDependencies(
  ctx: RegistryContext,
  t: Tenant,
  body: unknown,
  override: boolean,
): Promise<void> {
  if (!isObject(body) || !Array.isArray(body.dependencies))
    throw invalid('dependencies', 'required, an array');
  const deps = body.dependencies;
  if (deps.length < 1 || deps.length > 100) throw invalid('dependencies', 'must hold 1..100 items');
  const parsed = deps.map((d, i) => {
    const p = `dependencies[${i}]`;
    if (!isObject(d) || !isObject(d.consumer)) throw invalid(`${p}.consumer`, 'required');
    const c = d.consumer;
    const consumer: MicroServiceKey = {
      environment: str(c, 'environment', `${p}.consumer`, { re: ENV_RE }),
      appId: str(c, 'appId', `${p}.consumer`, { min: 1, max: 160, re: NAME_RE }),
      serviceName: str(c, 'serviceName', `${p}.consumer`, { min: 1, max: 128, re: NAME_RE }),
      version: str(c, 'version', `${p}.consumer`, { min: 1, max: 64 }),
    };
    if (!Array.isArray(d.providers)) throw invalid(`${p}.providers`, 'required, an array');
    if (!override && d.providers.length === 0) throw invalid(`${p}.providers`, 'at least one provider');
    if (d.providers.length > 100) throw invalid(`${p}.providers`, 'more than 100 items');
    const providers = d.providers.map((x, j): MicroServiceKey => {
      if (!isObject(x)) throw invalid(`${p}.providers[${j}]`, 'must be an object');
      return {
        tenant: t,
        environment:
          str(x, 'environment', `${p}.providers[${j}]`, { re: ENV_RE }) || consumer.environment || '',
        appId: str(x, 'appId', `${p}.providers[${j}]`, { min: 1, max: 160, re: NAME_RE }),
        serviceName: str(x, 'serviceName', `${p}.providers[${j}]`, {
          min: 1,
          max: 289,
          re: NAME_WITH_COLON_RE,
        }),
        version: str(x, 'version', `${p}.providers[${j}]`, { max: 64 }) || '0.0.0+',
      };
    });
    return { consumer, providers };
  });
  for (const { consumer } of parsed) {
    const env = consumer.environment ?? '';
    if (!ctx.catalog.findExact(t, env, consumer.appId, consumer.serviceName, consumer.version ?? ''))
      throw new RegistryError(
        400012,
        `Consumer ${env}/${consumer.appId}/${consumer.serviceName} does not exist.`,
      );
  }
  for (const { consumer, providers } of parsed) {
    const current = override ? [] : (ctx.catalog.tenant(t)?.depRules.get(ruleTail(consumer)) ?? []);
    const merged = [...current];
    for (const p of providers) if (!merged.some((r) => sameProvider(r, p))) merged.push(p);
    const key = ruleKey(t, consumer);
    await ctx.store.txn({
      success:
        merged.length === 0
          ? [{ type: 'delete', key }]
          : [{ type: 'put', key, value: JSON.stringify({ Dependency: merged }) }],
    });
  }
}
