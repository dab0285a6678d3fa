/**
 * @module api-client/config-center
 * Typed calls to the config center (`/v1/{project}/kie/kv`, ServiceComb Kie's API): create, get,
 * list/search by key and labels, update, delete, an upsert by key + exact labels (what operators
 * mean by "set"), and `poll`, one long-poll round (`revision` + `wait`) that a watcher loops on.
 */
import { ApiError } from './errors.ts';
import { expectObject, Http, type HttpOptions, type HttpReply } from './http.ts';
import { decodeKv } from './kv-wire.ts';

export type Labels = Readonly<Record<string, string>>;
export type KvStatus = 'enabled' | 'disabled';
export type MatchMode = 'partial' | 'exact' | 'applicable';

export interface Kv {
  readonly id: string;
  readonly key: string;
  readonly value: string;
  readonly valueType: string;
  readonly labels: Labels;
  readonly status: KvStatus;
  readonly createRevision: number;
  readonly updateRevision: number;
  /** Unix seconds. */
  readonly updateTime: number;
}

export interface KvQuery {
  /** Exact key, or a prefix with `keyPrefix: true`. */
  readonly key?: string;
  readonly keyPrefix?: boolean;
  readonly labels?: Labels;
  /** How labels compare: partial (default), exact, applicable (KVs that apply to these labels). */
  readonly match?: MatchMode;
  readonly status?: KvStatus;
  readonly limit?: number;
  readonly offset?: number;
}

export interface KvPage {
  readonly total: number;
  readonly data: readonly Kv[];
  /** X-Kie-Revision of the answer (-1 if the server sent none). */
  readonly revision: number;
}

export type PollResult =
  | ({ readonly changed: true } & KvPage)
  | { readonly changed: false; readonly revision: number };

export interface NewKv {
  readonly key: string;
  readonly value: string;
  readonly valueType?: string;
  readonly labels?: Labels;
  readonly status?: KvStatus;
}

export interface ConfigCenterClientOptions extends HttpOptions {
  /** Kie project (default "default"). */
  readonly project?: string;
}

function toKv(v: unknown, url: string): Kv {
  const kv = decodeKv(v);
  if (kv === null) throw new ApiError(200, 'BAD_RESPONSE', `expected a KV with id and key from ${url}`, url);
  return kv;
}

function revisionOf(reply: HttpReply): number {
  const raw = reply.headers.get('x-kie-revision');
  const n = raw === null ? Number.NaN : Number(raw);
  return Number.isInteger(n) ? n : -1;
}

/** Same labels, ignoring order and empty values. */
export function sameLabels(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a).filter((k) => a[k] !== '');
  const kb = Object.keys(b).filter((k) => b[k] !== '');
  return ka.length === kb.length && ka.every((k) => a[k] === b[k]);
}

export class ConfigCenterClient {
  readonly #http: Http;
  readonly #base: string;

  constructor(opts: ConfigCenterClientOptions) {
    this.#http = new Http(opts);
    this.#base = `/v1/${encodeURIComponent(opts.project ?? 'default')}/kie/kv`;
  }

  get url(): string {
    return this.#http.baseUrl;
  }

  async create(kv: NewKv): Promise<Kv> {
    const body = {
      key: kv.key,
      value: kv.value,
      labels: kv.labels ?? {},
      ...(kv.valueType ? { value_type: kv.valueType } : {}),
      ...(kv.status ? { status: kv.status } : {}),
    };
    const reply = await this.#http.request({ method: 'POST', path: this.#base, body });
    return toKv(reply.body, this.#base);
  }

  async get(id: string): Promise<Kv> {
    const path = `${this.#base}/${encodeURIComponent(id)}`;
    return toKv((await this.#http.request({ method: 'GET', path })).body, path);
  }

  async list(q: KvQuery = {}): Promise<KvPage> {
    const reply = await this.#http.request({ method: 'GET', path: this.#base, query: toQuery(q) });
    return this.#page(reply);
  }

  /**
   * One long-poll round: answers when the project changed since `revision` (or at once when
   * `revision` is undefined), else after a matching change within `waitMs`, else `changed: false`.
   */
  async poll(q: KvQuery & { revision?: number; waitMs?: number; signal?: AbortSignal }): Promise<PollResult> {
    const query = toQuery(q);
    if (q.revision !== undefined) query.set('revision', String(q.revision));
    if (q.waitMs !== undefined) query.set('wait', `${Math.max(1, Math.round(q.waitMs))}ms`);
    const reply = await this.#http.request({
      method: 'GET',
      path: this.#base,
      query,
      ok: [304],
      signal: q.signal,
      // The server holds the request for up to waitMs: allow that plus a margin.
      timeoutMs: q.waitMs === undefined ? undefined : q.waitMs + 10_000,
    });
    if (reply.status === 304) return { changed: false, revision: revisionOf(reply) };
    return { changed: true, ...this.#page(reply) };
  }

  async update(id: string, change: { value?: string; status?: KvStatus }): Promise<Kv> {
    const path = `${this.#base}/${encodeURIComponent(id)}`;
    return toKv((await this.#http.request({ method: 'PUT', path, body: change })).body, path);
  }

  async delete(id: string): Promise<void> {
    await this.#http.request({ method: 'DELETE', path: `${this.#base}/${encodeURIComponent(id)}` });
  }

  async deleteMany(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#http.request({ method: 'DELETE', path: this.#base, body: { ids } });
  }

  /** The KV with exactly this key and these labels, if any. */
  async findExact(key: string, labels: Labels = {}): Promise<Kv | undefined> {
    const page = await this.list({ key, labels, match: 'exact' });
    return page.data.find((d) => d.key === key && sameLabels(d.labels, labels));
  }

  /** Create the KV, or update the value of the one with the same key and labels. */
  async put(kv: NewKv): Promise<{ kv: Kv; created: boolean }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await this.findExact(kv.key, kv.labels);
      if (existing) {
        const change: { value: string; status?: KvStatus } = { value: kv.value };
        if (kv.status) change.status = kv.status;
        return { kv: await this.update(existing.id, change), created: false };
      }
      try {
        return { kv: await this.create(kv), created: true };
      } catch (err) {
        // Someone created it between our lookup and create: update theirs instead.
        if (!(err instanceof ApiError && err.status === 409)) throw err;
      }
    }
    throw new ApiError(409, '409002', `key '${kv.key}' keeps changing concurrently`, this.#http.baseUrl);
  }

  #page(reply: HttpReply): KvPage {
    const body = expectObject(reply, 'a KV list', this.#base);
    const data = Array.isArray(body.data) ? body.data.map((d) => toKv(d, this.#base)) : [];
    return {
      total: typeof body.total === 'number' ? body.total : data.length,
      data,
      revision: revisionOf(reply),
    };
  }
}

function toQuery(q: KvQuery): URLSearchParams {
  const query = new URLSearchParams();
  if (q.key !== undefined && (q.key !== '' || q.keyPrefix))
    query.set('key', q.keyPrefix ? `beginWith(${q.key})` : q.key);
  for (const [k, v] of Object.entries(q.labels ?? {})) if (v !== '') query.append('label', `${k}:${v}`);
  if (q.match && q.match !== 'partial') query.set('match', q.match);
  if (q.status) query.set('status', q.status);
  if (q.limit !== undefined) query.set('limit', String(q.limit));
  if (q.offset !== undefined) query.set('offset', String(q.offset));
  return query;
}
