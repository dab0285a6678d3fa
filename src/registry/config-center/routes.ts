/**
 * @module registry/config-center/routes
 * The Kie-style HTTP API the registry process serves (issue 5 item 4), as `Route`s for the
 * registry's `Router`:
 *
 *   POST   /v1/{project}/kie/kv            create {key, value, value_type?, labels?, status?} → 200 KV
 *   GET    /v1/{project}/kie/kv            list: key, label=k:v (repeated), match, status,
 *                                          revision, wait, limit, offset → 200 {total, data} | 304
 *   DELETE /v1/{project}/kie/kv            batch: ?kvID=a,b or body {"ids": [...]} → 204
 *   GET    /v1/{project}/kie/kv/{id}       → 200 KV | 404
 *   PUT    /v1/{project}/kie/kv/{id}       update {value?, status?} → 200 KV | 404
 *   DELETE /v1/{project}/kie/kv/{id}       → 204 | 404
 *
 * Tenancy is `X-Domain-Name` + `{project}` (the registry's HTTP layer resolves both). Every KV
 * answer carries `X-Kie-Revision`. List revision rules follow Kie: no `revision` (or a negative
 * one) → answer now; the project changed since `revision` → answer now; otherwise hold for `wait`
 * until a matching change (200) or time out (304); no `wait` → 304.
 */
import type { Clock } from '../../shared/clock.ts';
import type { ApiRequest, ApiResponse, Handler, Route } from '../http/router.ts';
import { isStoreError, type Store } from '../storage/types.ts';
import { KvRepo } from './kv-repo.ts';
import { LongPoll } from './long-poll.ts';
import { badParam, isKieError, KieError } from './model.ts';
import { parseCreate, parseListQuery, parseUpdate } from './validate.ts';

export const REVISION_HEADER = 'X-Kie-Revision';
/** Bodies are one KV at most (value ≤ 128 KiB) or a list of ids. */
const BODY_LIMIT = 256 * 1024;
const MAX_BATCH_IDS = 1000;

export interface ConfigCenterDeps {
  store: Store;
  clock: Clock;
  /** Held long-poll requests at most (default 10,000). */
  maxWaiters?: number;
  /** KVs per domain/project at most (default 10,000). */
  maxKvsPerProject?: number;
}

export interface ConfigCenter {
  /** Mount these on the registry's Router next to the v4 routes. */
  readonly routes: Route[];
  /** Long-poll requests currently held. */
  readonly pendingWaiters: number;
  /** Release held requests (304) and stop watching the store. Call before closing the store. */
  close(): void;
}

export function createConfigCenter(deps: ConfigCenterDeps): ConfigCenter {
  const repo = new KvRepo({ store: deps.store, clock: deps.clock, maxKvsPerProject: deps.maxKvsPerProject });
  const poll = new LongPoll(deps.store, deps.clock, deps.maxWaiters);
  const rev = (tenant: string) => ({ [REVISION_HEADER]: String(repo.revision(tenant)) });

  const list: Handler = async (r) => {
    const q = parseListQuery(r.query);
    const current = repo.revision(r.tenant);
    const known = q.revision !== undefined && q.revision >= 0;
    if (known && current <= (q.revision as number)) {
      if (q.waitMs === undefined) return { status: 304, headers: rev(r.tenant) };
      const reason = await poll.hold(r.tenant, q.filter, q.waitMs);
      if (reason !== 'changed') return { status: 304, headers: rev(r.tenant) };
    } else if (!known && q.waitMs !== undefined && r.query.get('revision') === null) {
      // Kie: `wait` without `revision` waits for the next matching change.
      const reason = await poll.hold(r.tenant, q.filter, q.waitMs);
      if (reason !== 'changed') return { status: 304, headers: rev(r.tenant) };
    }
    const all = repo.list(r.tenant, q.filter);
    const page = all.slice(q.offset, q.limit === undefined ? undefined : q.offset + q.limit);
    return { body: { total: all.length, data: page }, headers: rev(r.tenant) };
  };

  const batchDelete: Handler = async (r) => {
    const ids = batchIds(r);
    await repo.delete(r.tenant, ids);
    return { status: 204, headers: rev(r.tenant) };
  };

  const routes: Route[] = [
    {
      method: 'POST',
      pattern: '/v1/:project/kie/kv',
      bodyLimit: BODY_LIMIT,
      handler: kie(async (r) => {
        const doc = await repo.create(r.tenant, parseCreate(r.body));
        return { body: doc, headers: rev(r.tenant) };
      }),
    },
    { method: 'GET', pattern: '/v1/:project/kie/kv', handler: kie(list) },
    { method: 'DELETE', pattern: '/v1/:project/kie/kv', bodyLimit: BODY_LIMIT, handler: kie(batchDelete) },
    {
      method: 'GET',
      pattern: '/v1/:project/kie/kv/:id',
      handler: kie((r) => {
        const doc = repo.get(r.tenant, r.params.id ?? '');
        if (!doc) throw new KieError(404001, `id ${r.params.id}`);
        return { body: doc, headers: rev(r.tenant) };
      }),
    },
    {
      method: 'PUT',
      pattern: '/v1/:project/kie/kv/:id',
      bodyLimit: BODY_LIMIT,
      handler: kie(async (r) => {
        const id = r.params.id ?? '';
        const current = repo.get(r.tenant, id);
        if (!current) throw new KieError(404001, `id ${id}`);
        const doc = await repo.update(r.tenant, id, parseUpdate(r.body, current.value_type));
        return { body: doc, headers: rev(r.tenant) };
      }),
    },
    {
      method: 'DELETE',
      pattern: '/v1/:project/kie/kv/:id',
      bodyLimit: BODY_LIMIT,
      handler: kie(async (r) => {
        const id = r.params.id ?? '';
        // `DELETE /kv/?kvID=a,b` (the older client's form) lands here with an empty id.
        if (id === '') return batchDelete(r);
        const gone = await repo.delete(r.tenant, [id]);
        if (gone.length === 0) throw new KieError(404001, `id ${id}`);
        return { status: 204, headers: rev(r.tenant) };
      }),
    },
  ];

  return {
    routes,
    get pendingWaiters() {
      return poll.pending;
    },
    close: () => poll.close(),
  };
}

function batchIds(r: ApiRequest): string[] {
  const ids: string[] = [];
  for (const raw of r.query.getAll('kvID')) ids.push(...raw.split(',').filter((s) => s !== ''));
  if (r.body !== undefined) {
    const body = r.body as { ids?: unknown };
    if (typeof body !== 'object' || body === null || !Array.isArray(body.ids))
      throw badParam('ids', 'body must be {"ids": ["<kv id>", ...]}');
    for (const id of body.ids) {
      if (typeof id !== 'string' || id === '') throw badParam('ids', 'every id must be a non-empty string');
      ids.push(id);
    }
  }
  if (ids.length === 0) throw badParam('kvID', 'give ?kvID=<id>[,<id>...] or a body {"ids": [...]}');
  if (ids.length > MAX_BATCH_IDS) throw badParam('kvID', `at most ${MAX_BATCH_IDS} ids per request`);
  return ids;
}

/** Map this API's errors to Kie's envelope; anything else goes to the registry's error handler. */
function kie(fn: Handler): Handler {
  return async (r) => {
    try {
      return await fn(r);
    } catch (err) {
      if (isKieError(err)) return errorReply(err);
      if (isStoreError(err)) return errorReply(new KieError(500001, err.message));
      throw err;
    }
  };
}

function errorReply(err: KieError): ApiResponse {
  const headers: Record<string, string> = {};
  if (err.code === 503001) headers['retry-after'] = '1';
  return { status: err.status, body: err.toBody(), headers };
}
