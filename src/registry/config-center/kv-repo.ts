/**
 * @module registry/config-center/kv-repo
 * KV storage on the registry's `Store`, durable with the rest of its data. Layout (`{d}/{p}` is
 * domain/project):
 *
 *   /cse-sr/kie/kv/{d}/{p}/{id}         → StoredKv JSON (revisions come from the record)
 *   /cse-sr/kie/idx/{d}/{p}/{sha1}      → id, sha1 over key + canonical labels: the uniqueness guard
 *   /cse-sr/kie/rev/{d}/{p}             → '' rewritten by every write: its modRevision is the
 *                                         project's X-Kie-Revision (monotonic across deletes too)
 *
 * Every write is one guarded transaction: create-if-absent on the index key (duplicate → 409),
 * compare-and-swap on the KV's modRevision for updates (retried a few times).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from '../../shared/clock.ts';
import type { KeyValue, Op, Store } from '../storage/types.ts';
import {
  canonicalLabels,
  KieError,
  type KvDoc,
  type KvFilter,
  type KvStatus,
  kvMatches,
  type StoredKv,
} from './model.ts';
import type { CreateInput, UpdateInput } from './validate.ts';

export const KIE_ROOT = '/cse-sr/kie';
export const kieKeys = {
  kvPrefix: `${KIE_ROOT}/kv/`,
  kvs: (t: string) => `${KIE_ROOT}/kv/${t}/`,
  kv: (t: string, id: string) => `${KIE_ROOT}/kv/${t}/${id}`,
  idx: (t: string, key: string, labels: string) =>
    `${KIE_ROOT}/idx/${t}/${createHash('sha1').update(`${key}\0${labels}`).digest('hex')}`,
  rev: (t: string) => `${KIE_ROOT}/rev/${t}`,
};

/** KV ids are UUIDs, as Kie's are; anything else cannot name a KV. */
export const ID_RE = /^[A-Za-z0-9-]{1,64}$/;
const CAS_RETRIES = 3;

export interface KvRepoOptions {
  store: Store;
  clock: Clock;
  /** Max KVs per domain/project (default 10,000). */
  maxKvsPerProject?: number;
}

export class KvRepo {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #quota: number;

  constructor(opts: KvRepoOptions) {
    this.#store = opts.store;
    this.#clock = opts.clock;
    this.#quota = opts.maxKvsPerProject ?? 10_000;
  }

  /** The project's X-Kie-Revision: the store revision of its last KV write (0 before any). */
  revision(tenant: string): number {
    return this.#store.get(kieKeys.rev(tenant))?.modRevision ?? 0;
  }

  get(tenant: string, id: string): KvDoc | undefined {
    if (!ID_RE.test(id)) return undefined;
    const rec = this.#store.get(kieKeys.kv(tenant, id));
    return rec ? toDoc(rec, tenant) : undefined;
  }

  /** Every KV passing `filter`, sorted by key then labels. */
  list(tenant: string, filter: KvFilter): KvDoc[] {
    const out: KvDoc[] = [];
    for (const rec of this.#store.range(kieKeys.kvs(tenant))) {
      const doc = toDoc(rec, tenant);
      if (doc && kvMatches(doc, filter)) out.push(doc);
    }
    return out.sort(
      (a, b) =>
        cmp(a.key, b.key) || cmp(canonicalLabels(a.labels), canonicalLabels(b.labels)) || cmp(a.id, b.id),
    );
  }

  async create(tenant: string, input: CreateInput): Promise<KvDoc> {
    if (this.#store.range(kieKeys.kvs(tenant)).length >= this.#quota)
      throw new KieError(400100, `at most ${this.#quota} key values per project`);
    const now = Math.floor(this.#clock.now() / 1000);
    const id = randomUUID();
    const stored: StoredKv = { id, ...input, create_time: now, update_time: now };
    const idx = kieKeys.idx(tenant, input.key, canonicalLabels(input.labels));
    const res = await this.#store.txn({
      compare: [{ key: idx, target: 'version', op: '=', value: 0 }],
      success: [
        { type: 'put', key: idx, value: id },
        { type: 'put', key: kieKeys.kv(tenant, id), value: JSON.stringify(stored) },
        { type: 'put', key: kieKeys.rev(tenant), value: '' },
      ],
    });
    if (!res.succeeded) {
      const labels = canonicalLabels(input.labels) || 'no labels';
      throw new KieError(
        409001,
        `key '${input.key}' with labels {${labels}} (id ${this.#store.get(idx)?.value})`,
      );
    }
    return this.get(tenant, id) as KvDoc;
  }

  async update(tenant: string, id: string, input: UpdateInput): Promise<KvDoc> {
    for (let attempt = 0; attempt < CAS_RETRIES; attempt++) {
      const rec = ID_RE.test(id) ? this.#store.get(kieKeys.kv(tenant, id)) : undefined;
      const current = rec ? parseStored(rec.value) : undefined;
      if (!rec || !current) throw new KieError(404001, `id ${id}`);
      if (input.key !== undefined && input.key !== current.key)
        throw new KieError(400001, `key: cannot change ('${current.key}' → '${input.key}'); create a new KV`);
      if (input.labels !== undefined && canonicalLabels(input.labels) !== canonicalLabels(current.labels))
        throw new KieError(400001, 'labels: cannot change; create a new KV with the new labels');
      const next: StoredKv = {
        ...current,
        value: input.value ?? current.value,
        status: input.status ?? current.status,
        update_time: Math.floor(this.#clock.now() / 1000),
      };
      const res = await this.#store.txn({
        compare: [{ key: rec.key, target: 'modRevision', op: '=', value: rec.modRevision }],
        success: [
          { type: 'put', key: rec.key, value: JSON.stringify(next) },
          { type: 'put', key: kieKeys.rev(tenant), value: '' },
        ],
      });
      if (res.succeeded) return this.get(tenant, id) as KvDoc;
    }
    throw new KieError(409002, `id ${id}`);
  }

  /** Delete the given ids; returns the ids that existed. One transaction for the batch. */
  async delete(tenant: string, ids: readonly string[]): Promise<string[]> {
    const ops: Op[] = [];
    const compare: Array<{ key: string; target: 'modRevision'; op: '='; value: number }> = [];
    const found: string[] = [];
    for (const id of new Set(ids)) {
      const rec = ID_RE.test(id) ? this.#store.get(kieKeys.kv(tenant, id)) : undefined;
      const kv = rec ? parseStored(rec.value) : undefined;
      if (!rec || !kv) continue;
      found.push(id);
      compare.push({ key: rec.key, target: 'modRevision', op: '=', value: rec.modRevision });
      ops.push({ type: 'delete', key: rec.key });
      ops.push({ type: 'delete', key: kieKeys.idx(tenant, kv.key, canonicalLabels(kv.labels)) });
    }
    if (ops.length === 0) return [];
    ops.push({ type: 'put', key: kieKeys.rev(tenant), value: '' });
    const res = await this.#store.txn({ compare, success: ops });
    if (!res.succeeded) throw new KieError(409002, 'a key value changed during the delete');
    return found;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Parse a stored KV; a record that is not one (corrupt, foreign) is skipped, never thrown. */
export function parseStored(text: string): StoredKv | undefined {
  try {
    const v = JSON.parse(text) as StoredKv;
    if (typeof v?.id !== 'string' || typeof v.key !== 'string' || typeof v.value !== 'string')
      return undefined;
    if (typeof v.labels !== 'object' || v.labels === null) return undefined;
    return v;
  } catch {
    return undefined;
  }
}

export function toDoc(rec: KeyValue, tenant: string): KvDoc | undefined {
  const kv = parseStored(rec.value);
  if (!kv) return undefined;
  return {
    id: kv.id,
    key: kv.key,
    value: kv.value,
    value_type: kv.value_type,
    labels: kv.labels,
    status: kv.status as KvStatus,
    create_time: kv.create_time,
    update_time: kv.update_time,
    project: tenant.slice(tenant.indexOf('/') + 1),
    create_revision: rec.createRevision,
    update_revision: rec.modRevision,
  };
}

/** `{d}/{p}` of a KV record key, or undefined for keys outside the layout. */
export function tenantOfKvKey(key: string): string | undefined {
  if (!key.startsWith(kieKeys.kvPrefix)) return undefined;
  const parts = key.slice(kieKeys.kvPrefix.length).split('/');
  return parts.length === 3 ? `${parts[0]}/${parts[1]}` : undefined;
}
