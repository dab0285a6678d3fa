/**
 * @module registry/ops/tags
 * Service tags (spec §6): POST replaces the whole map, PUT updates one existing key, DELETE
 * removes comma-separated keys all-or-nothing. Keys and values match `^[a-zA-Z][a-zA-Z0-9_\-.]{0,63}$`.
 */
import { invalid, RegistryError } from '../errors.ts';
import { keys } from '../keys.ts';
import type { Tenant } from '../model.ts';
import { checkStr, isObject, pathId, TAG_RE } from '../validate.ts';
import type { RegistryContext } from './context.ts';

function mustService(ctx: RegistryContext, t: Tenant, sid: string): void {
  pathId(sid, 'serviceId');
  if (!ctx.catalog.service(t, sid)) throw new RegistryError(400012, 'Service does not exist.');
}

async function write(
  ctx: RegistryContext,
  t: Tenant,
  sid: string,
  tags: Record<string, string>,
): Promise<void> {
  const res = await ctx.store.txn({
    compare: [{ key: keys.service(t, sid), target: 'version', op: '!=', value: 0 }],
    success: [{ type: 'put', key: keys.tags(t, sid), value: JSON.stringify(tags) }],
  });
  if (!res.succeeded) throw new RegistryError(400012, 'Service does not exist.');
}

export function parseTagMap(raw: unknown, max: number): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) throw invalid('tags', 'must be an object');
  const entries = Object.entries(raw);
  if (entries.length > max) throw new RegistryError(400100, `no quota to add tags, max ${max}`);
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    checkStr(k, `tags key '${k.slice(0, 80)}'`, { re: TAG_RE });
    out[k] = checkStr(v, `tags.${k}`, { re: TAG_RE });
  }
  return out;
}

export async function replaceTags(
  ctx: RegistryContext,
  t: Tenant,
  sid: string,
  body: unknown,
): Promise<void> {
  if (!isObject(body)) throw invalid('tags', 'required');
  const tags = parseTagMap(body.tags, ctx.config.quota.tags);
  mustService(ctx, t, sid);
  await write(ctx, t, sid, tags);
}

export function getTags(ctx: RegistryContext, t: Tenant, sid: string): Record<string, string> {
  mustService(ctx, t, sid);
  return ctx.catalog.tenant(t)?.tags.get(sid) ?? {};
}

export async function updateTag(
  ctx: RegistryContext,
  t: Tenant,
  sid: string,
  key: string,
  value: string | null,
): Promise<void> {
  checkStr(key, 'key', { re: TAG_RE });
  checkStr(value ?? '', 'value', { re: TAG_RE });
  const tags = getTags(ctx, t, sid);
  if (!(key in tags)) throw new RegistryError(400018, `Tag ${key} does not exist.`);
  await write(ctx, t, sid, { ...tags, [key]: value as string });
}

export async function deleteTags(
  ctx: RegistryContext,
  t: Tenant,
  sid: string,
  keyList: string,
): Promise<void> {
  const names = keyList.split(',').filter((k) => k !== '');
  if (names.length === 0) throw invalid('key', 'required');
  for (const [i, k] of names.entries()) checkStr(k, `key[${i}]`, { re: TAG_RE });
  const tags = { ...getTags(ctx, t, sid) };
  for (const k of names) if (!(k in tags)) throw new RegistryError(400018, `Tag ${k} does not exist.`);
  for (const k of names) delete tags[k];
  await write(ctx, t, sid, tags);
}
