/**
 * @module registry/ops/schemas
 * Schemas (spec §6): content is stored once per tenant by SHA-256, a per-service ref points at it
 * and a summary sits beside it; the service's `schemas` list tracks the ids. Every write is one
 * transaction guarded by "the service still exists".
 */
import { createHash } from 'node:crypto';
import { invalid, RegistryError } from '../errors.ts';
import { keys } from '../keys.ts';
import { type MicroService, omitEmpty, type Tenant } from '../model.ts';
import type { Op } from '../storage/types.ts';
import { checkStr, isObject, pathId, SCHEMA_ID_RE } from '../validate.ts';
import type { RegistryContext } from './context.ts';

const SUMMARY_RE = /^[a-zA-Z0-9]*$/;
const MAX_SCHEMA_CHARS = 1_000_000;

function service(ctx: RegistryContext, t: Tenant, sid: string): MicroService {
  pathId(sid, 'serviceId');
  const svc = ctx.catalog.service(t, sid);
  if (!svc) throw new RegistryError(400012, 'Service does not exist.');
  return svc;
}

function writeOps(t: Tenant, sid: string, schemaId: string, schema: string, summary: string): Op[] {
  const hash = createHash('sha256').update(schema).digest('hex');
  const ops: Op[] = [
    { type: 'put', key: keys.schemaContent(t, hash), value: schema },
    { type: 'put', key: keys.schemaRef(t, sid, schemaId), value: hash },
  ];
  ops.push(
    summary
      ? { type: 'put', key: keys.schemaSum(t, sid, schemaId), value: summary }
      : { type: 'delete', key: keys.schemaSum(t, sid, schemaId) },
  );
  return ops;
}

async function commit(ctx: RegistryContext, t: Tenant, svc: MicroService, schemas: string[], ops: Op[]) {
  const next = omitEmpty({ ...svc, schemas });
  const key = keys.service(t, svc.serviceId);
  const before = refHashes(ctx, t, svc.serviceId, svc.schemas ?? []);
  const res = await ctx.store.txn({
    compare: [{ key, target: 'version', op: '!=', value: 0 }],
    success: [...ops, { type: 'put', key, value: JSON.stringify(next) }],
  });
  if (!res.succeeded) throw new RegistryError(400012, 'Service does not exist.');
  await collectSchemaGarbage(ctx, t, before);
}

/** Content hashes the service's schema refs point at now. */
export function refHashes(
  ctx: RegistryContext,
  t: Tenant,
  sid: string,
  schemaIds: readonly string[],
): string[] {
  const out: string[] = [];
  for (const id of schemaIds) {
    const hash = ctx.store.get(keys.schemaRef(t, sid, id))?.value;
    if (hash !== undefined) out.push(hash);
  }
  return out;
}

/**
 * Delete schema content no ref points at any more (service-center leaves this to a daily cron).
 * The ref count is read and the delete applied in the same tick (the store applies a txn
 * synchronously), so a concurrent write cannot re-reference the content in between.
 */
export async function collectSchemaGarbage(ctx: RegistryContext, t: Tenant, hashes: readonly string[]) {
  const dead = [...new Set(hashes)].filter((h) => ctx.catalog.schemaHashRefs(t, h) === 0);
  if (dead.length === 0) return;
  await ctx.store.txn({ success: dead.map((h): Op => ({ type: 'delete', key: keys.schemaContent(t, h) })) });
}

export async function putSchema(
  ctx: RegistryContext,
  t: Tenant,
  sid: string,
  schemaId: string,
  body: unknown,
): Promise<void> {
  checkStr(schemaId, 'schemaId', { re: SCHEMA_ID_RE });
  if (!isObject(body)) throw invalid('schema', 'required');
  const schema = checkStr(body.schema ?? '', 'schema', { min: 1, max: MAX_SCHEMA_CHARS });
  const summary = checkStr(body.summary ?? '', 'summary', { max: 128, re: SUMMARY_RE });
  const svc = service(ctx, t, sid);
  const ids = svc.schemas ?? [];
  if (!ids.includes(schemaId) && ids.length >= ctx.config.quota.schemas)
    throw new RegistryError(400100, `no quota to add schema, max ${ctx.config.quota.schemas}`);
  const schemas = ids.includes(schemaId) ? ids : [...ids, schemaId];
  await commit(ctx, t, svc, schemas, writeOps(t, sid, schemaId, schema, summary));
}

/** POST: replace the whole set. */
export async function putSchemas(ctx: RegistryContext, t: Tenant, sid: string, body: unknown): Promise<void> {
  if (!isObject(body) || !Array.isArray(body.schemas)) throw invalid('schemas', 'required, an array');
  if (body.schemas.length > ctx.config.quota.schemas)
    throw new RegistryError(400100, `no quota to add schema, max ${ctx.config.quota.schemas}`);
  const items = body.schemas.map((x, i) => {
    if (!isObject(x)) throw invalid(`schemas[${i}]`, 'must be an object');
    return {
      schemaId: checkStr(x.schemaId ?? '', `schemas[${i}].schemaId`, { min: 1, re: SCHEMA_ID_RE }),
      schema: checkStr(x.schema ?? '', `schemas[${i}].schema`, { min: 1, max: MAX_SCHEMA_CHARS }),
      summary: checkStr(x.summary ?? '', `schemas[${i}].summary`, { min: 1, max: 128, re: SUMMARY_RE }),
    };
  });
  const svc = service(ctx, t, sid);
  const ids = items.map((x) => x.schemaId);
  if (new Set(ids).size !== ids.length) throw invalid('schemas', 'duplicate schemaId');
  const ops: Op[] = [];
  for (const old of svc.schemas ?? [])
    if (!ids.includes(old))
      ops.push(
        { type: 'delete', key: keys.schemaRef(t, sid, old) },
        { type: 'delete', key: keys.schemaSum(t, sid, old) },
      );
  for (const x of items) ops.push(...writeOps(t, sid, x.schemaId, x.schema, x.summary));
  await commit(ctx, t, svc, ids, ops);
}

export function getSchema(
  ctx: RegistryContext,
  t: Tenant,
  sid: string,
  schemaId: string,
): { schema: string; summary: string } {
  checkStr(schemaId, 'schemaId', { re: SCHEMA_ID_RE });
  service(ctx, t, sid);
  const hash = ctx.store.get(keys.schemaRef(t, sid, schemaId))?.value;
  const schema = hash === undefined ? undefined : ctx.store.get(keys.schemaContent(t, hash))?.value;
  if (schema === undefined) throw new RegistryError(400016, 'Schema does not exist.');
  return { schema, summary: ctx.store.get(keys.schemaSum(t, sid, schemaId))?.value ?? '' };
}

export function listSchemas(
  ctx: RegistryContext,
  t: Tenant,
  sid: string,
  withSchema: string | null,
): Array<{ schemaId: string; summary?: string; schema?: string }> {
  if (withSchema !== null && withSchema !== '0' && withSchema !== '1')
    throw invalid('withSchema', 'must be 0 or 1');
  const svc = service(ctx, t, sid);
  return (svc.schemas ?? []).map((schemaId) => {
    const out: { schemaId: string; summary?: string; schema?: string } = { schemaId };
    const summary = ctx.store.get(keys.schemaSum(t, sid, schemaId))?.value;
    if (summary) out.summary = summary;
    if (withSchema === '1') {
      const hash = ctx.store.get(keys.schemaRef(t, sid, schemaId))?.value;
      const schema = hash === undefined ? undefined : ctx.store.get(keys.schemaContent(t, hash))?.value;
      if (schema) out.schema = schema;
    }
    return out;
  });
}

export async function deleteSchema(
  ctx: RegistryContext,
  t: Tenant,
  sid: string,
  schemaId: string,
): Promise<void> {
  checkStr(schemaId, 'schemaId', { re: SCHEMA_ID_RE });
  const svc = service(ctx, t, sid);
  if (!ctx.store.get(keys.schemaRef(t, sid, schemaId)))
    throw new RegistryError(400016, 'Schema does not exist.');
  await commit(
    ctx,
    t,
    svc,
    (svc.schemas ?? []).filter((x) => x !== schemaId),
    [
      { type: 'delete', key: keys.schemaRef(t, sid, schemaId) },
      { type: 'delete', key: keys.schemaSum(t, sid, schemaId) },
    ],
  );
}
