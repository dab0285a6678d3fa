/**
 * @module registry/catalog
 * The registry's read model: decoded services, instances, tags, schemas and dependency rules,
 * indexed by tenant, name and alias, kept current from the store's watch stream (service-center's
 * list-watch cache, §8.2). Every read the API makes is O(1) or O(result) against these maps.
 * Writes never touch the catalog directly: they go to the store and come back here as events,
 * so an etcd backend (whose events arrive asynchronously) slots in without changing the API code.
 * Instance deletes caused by lease expiry pass through the self-preservation gate
 * (./self-preservation.ts), which may hold them back after an outage; explicit deregistrations
 * (recognised by their marker key) and deletes of a deleted service are applied at once.
 */
import { type Clock, systemClock } from '../shared/clock.ts';
import { createLogger, type Logger } from '../shared/log.ts';
import { keys, splitTenantKey } from './keys.ts';
import type { Instance, MicroService, MicroServiceKey, Tenant } from './model.ts';
import {
  DEFAULT_SELF_PRESERVATION,
  DEREGISTER_MARKER_PREFIX,
  instanceKeyOfMarker,
  instanceTtlMs,
  SelfPreservation,
  type SelfPreservationOptions,
  type SelfPreservationState,
} from './self-preservation.ts';
import type { KeyValue, Store, WatchEvent } from './storage/types.ts';

export interface CatalogOptions {
  clock?: Clock;
  logger?: Logger;
  /** Self-preservation settings (default: off; `startRegistry` turns it on with etcd). */
  selfPreservation?: Partial<SelfPreservationOptions>;
  /** The registry's instance TTL override in seconds (0 = from each instance's health check). */
  instanceTtlSec?: number;
  /** Characters of instance views (find answers) kept at most (default 16 Mi, ~16 MB). */
  viewCacheChars?: number;
}

/**
 * A service's instances as a find answers them, built on first read after a change and shared by
 * every find until the next one (discovery is read far more often than written). Immutable,
 * except `memo`, which discovery fills once with the answer text and its revision.
 */
export interface InstanceView {
  /** Wire JSON of each instance joined with ',' in catalog order ('' for none). */
  readonly joined: string;
  readonly count: number;
  /** Highest modRevision among the instances (0 for none). */
  readonly maxRevision: number;
  memo?: { readonly rev: string; readonly json: string };
}

/**
 * An instance as the catalog keeps it: just the store's record. The value is already the wire
 * JSON, so find and watch splice it into responses without parsing or re-serialising, and 100k
 * instances cost one string each instead of a string plus an object graph.
 */
export class InstanceEntry {
  constructor(readonly kv: KeyValue) {}
  /** The wire JSON of the instance. */
  get json(): string {
    return this.kv.value;
  }
  /** A freshly parsed copy (callers may modify it). */
  get inst(): Instance {
    return JSON.parse(this.kv.value) as Instance;
  }
  get lease(): number {
    return this.kv.lease;
  }
  get modRevision(): number {
    return this.kv.modRevision;
  }
}

export interface InstanceChange {
  action: 'CREATE' | 'UPDATE' | 'DELETE';
  tenant: Tenant;
  service: MicroService;
  /** The instance's wire JSON (for DELETE: the last value it had). */
  instanceJson: string;
  revision: number;
}

export class TenantIndex {
  readonly services = new Map<string, MicroService>();
  /** `env/app/name` → service ids of every version. */
  readonly byName = new Map<string, Set<string>>();
  /** `env/app/alias` → service ids. */
  readonly byAlias = new Map<string, Set<string>>();
  readonly tags = new Map<string, Record<string, string>>();
  readonly instances = new Map<string, Map<string, InstanceEntry>>();
  /** consumer `env/app/name/version` → the provider keys it depends on. */
  readonly depRules = new Map<string, MicroServiceKey[]>();
  /** provider `env/app/name` → consumer `env/app/name/version` keys (derived from depRules). */
  readonly dependents = new Map<string, Set<string>>();
  instanceCount = 0;
  /** service id → its cached InstanceView (dropped on any change to its instances). */
  readonly views = new Map<string, InstanceView>();
  /** schema-ref key → content hash, and hash → number of refs (for content garbage collection). */
  readonly schemaRefs = new Map<string, string>();
  readonly schemaHashRefs = new Map<string, number>();
}

const providerTail = (p: MicroServiceKey) => `${p.environment ?? ''}/${p.appId}/${p.serviceName}`;
const serviceTail = (s: MicroService) => `${s.environment ?? ''}/${s.appId}/${s.serviceName}`;
export const ruleTail = (s: { environment?: string; appId: string; serviceName: string; version?: string }) =>
  `${s.environment ?? ''}/${s.appId}/${s.serviceName}/${s.version ?? ''}`;

function addTo(map: Map<string, Set<string>>, k: string, v: string): void {
  let set = map.get(k);
  if (!set) {
    set = new Set();
    map.set(k, set);
  }
  set.add(v);
}
function removeFrom(map: Map<string, Set<string>>, k: string, v: string): void {
  const set = map.get(k);
  if (!set) return;
  set.delete(v);
  if (set.size === 0) map.delete(k);
}

export class Catalog {
  readonly #tenants = new Map<Tenant, TenantIndex>();
  readonly #listeners = new Set<(c: InstanceChange) => void>();
  readonly #stop: () => void;
  readonly #preservation: SelfPreservation;
  /** Instance keys whose deregistration marker was seen: their DELETE is explicit. */
  readonly #explicit = new Set<string>();
  /** Revision of each expiry the gate has not applied yet (as many as the gate holds). */
  readonly #expiredAt = new Map<string, number>();
  readonly #ttlOverrideSec: number;
  readonly #viewLimit: number;
  #viewChars = 0;
  serviceCount = 0;
  instanceCount = 0;

  constructor(store: Store, opts: CatalogOptions = {}) {
    this.#ttlOverrideSec = opts.instanceTtlSec ?? 0;
    this.#viewLimit = opts.viewCacheChars ?? 16 * 1024 * 1024;
    this.#preservation = new SelfPreservation(
      { ...DEFAULT_SELF_PRESERVATION, ...opts.selfPreservation },
      {
        clock: opts.clock ?? systemClock,
        log: opts.logger ?? createLogger('registry'),
        total: () => this.instanceCount,
        apply: (key) => this.#removeInstance(key, true, this.#expiredAt.get(key)),
        serviceExists: (key) => {
          const sk = splitTenantKey(key, keys.instancePrefix);
          return sk !== null && this.service(sk.tenant, sk.rest[0] ?? '') !== undefined;
        },
      },
    );
    for (const kv of store.range('/cse-sr/'))
      this.#apply({ type: 'PUT', kv, revision: kv.modRevision }, false);
    this.#stop = store.watch('/cse-sr/', (evs) => {
      for (const e of evs) this.#apply(e, true);
    });
  }

  close(): void {
    this.#stop();
    this.#preservation.close();
    this.#listeners.clear();
  }

  /** Self-preservation state (for health and logs). */
  selfPreservation(): SelfPreservationState {
    return this.#preservation.state();
  }

  /** Instance CREATE/UPDATE/DELETE events, synchronously as the store applies them. */
  onInstanceChange(fn: (c: InstanceChange) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  tenant(t: Tenant): TenantIndex | undefined {
    return this.#tenants.get(t);
  }

  tenants(): IterableIterator<[Tenant, TenantIndex]> {
    return this.#tenants.entries();
  }

  service(t: Tenant, sid: string): MicroService | undefined {
    return this.#tenants.get(t)?.services.get(sid);
  }

  instance(t: Tenant, sid: string, iid: string): InstanceEntry | undefined {
    return this.#tenants.get(t)?.instances.get(sid)?.get(iid);
  }

  instancesOf(t: Tenant, sid: string): Map<string, InstanceEntry> | undefined {
    return this.#tenants.get(t)?.instances.get(sid);
  }

  /**
   * The instances of a service as one shared, cached view (undefined when it has none). Views are
   * kept up to `viewCacheChars` in all; past that every view is dropped and rebuilt on demand.
   */
  instanceView(t: Tenant, sid: string): InstanceView | undefined {
    const idx = this.#tenants.get(t);
    const map = idx?.instances.get(sid);
    if (!idx || !map) return undefined;
    const cached = idx.views.get(sid);
    if (cached) return cached;
    const parts: string[] = [];
    let maxRevision = 0;
    for (const e of map.values()) {
      parts.push(e.json);
      if (e.modRevision > maxRevision) maxRevision = e.modRevision;
    }
    const view: InstanceView = { joined: parts.join(','), count: parts.length, maxRevision };
    const size = view.joined.length;
    if (this.#viewChars + size > this.#viewLimit) this.#dropViews();
    if (size <= this.#viewLimit) {
      idx.views.set(sid, view);
      this.#viewChars += size;
    }
    return view;
  }

  /** Characters held by cached views (for tests and metrics). */
  viewCacheChars(): number {
    return this.#viewChars;
  }

  #dropViews(): void {
    for (const idx of this.#tenants.values()) idx.views.clear();
    this.#viewChars = 0;
  }

  #invalidate(idx: TenantIndex, sid: string): void {
    const v = idx.views.get(sid);
    if (!v) return;
    idx.views.delete(sid);
    this.#viewChars -= v.joined.length;
  }

  /** Service ids under (env, app, name), falling back to the alias index (spec §4.1 step 3). */
  findServiceIds(t: Tenant, env: string, app: string, name: string): string[] {
    const ids = this.serviceIdSet(t, env, app, name);
    return ids ? [...ids] : [];
  }

  /** The live set behind findServiceIds, not copied (callers must not keep or change it). */
  serviceIdSet(t: Tenant, env: string, app: string, name: string): ReadonlySet<string> | undefined {
    const idx = this.#tenants.get(t);
    if (!idx) return undefined;
    const k = `${env}/${app}/${name}`;
    return idx.byName.get(k) ?? idx.byAlias.get(k);
  }

  /** The exact service id of (env, app, name|alias, version), if any. */
  findExact(t: Tenant, env: string, app: string, name: string, ver: string): string | undefined {
    for (const sid of this.findServiceIds(t, env, app, name))
      if (this.service(t, sid)?.version === ver) return sid;
    return undefined;
  }

  #idx(t: Tenant): TenantIndex {
    let idx = this.#tenants.get(t);
    if (!idx) {
      idx = new TenantIndex();
      this.#tenants.set(t, idx);
    }
    return idx;
  }

  #apply(e: WatchEvent, notify: boolean): void {
    const key = e.kv.key;
    if (key.startsWith(keys.instancePrefix)) this.#applyInstance(e, notify);
    else if (key.startsWith(DEREGISTER_MARKER_PREFIX)) this.#applyMarker(e);
    else if (key.startsWith(keys.servicePrefix)) this.#applyService(e);
    else if (key.startsWith(keys.tagsPrefix)) this.#applyTags(e);
    else if (key.startsWith(keys.depRulePrefix)) this.#applyDepRule(e);
    else if (key.startsWith(keys.schemaRefPrefix)) this.#applySchemaRef(e);
  }

  /** Refs to a schema content hash in a tenant (0 = the content is garbage). */
  schemaHashRefs(t: Tenant, hash: string): number {
    return this.#tenants.get(t)?.schemaHashRefs.get(hash) ?? 0;
  }

  #applySchemaRef(e: WatchEvent): void {
    const sk = splitTenantKey(e.kv.key, keys.schemaRefPrefix);
    if (!sk) return;
    const idx = this.#idx(sk.tenant);
    const old = idx.schemaRefs.get(e.kv.key);
    if (old !== undefined) {
      const n = (idx.schemaHashRefs.get(old) ?? 1) - 1;
      if (n > 0) idx.schemaHashRefs.set(old, n);
      else idx.schemaHashRefs.delete(old);
      idx.schemaRefs.delete(e.kv.key);
    }
    if (e.type === 'DELETE') return;
    idx.schemaRefs.set(e.kv.key, e.kv.value);
    idx.schemaHashRefs.set(e.kv.value, (idx.schemaHashRefs.get(e.kv.value) ?? 0) + 1);
  }

  #applyService(e: WatchEvent): void {
    const sk = splitTenantKey(e.kv.key, keys.servicePrefix);
    if (!sk) return;
    const idx = this.#idx(sk.tenant);
    const sid = sk.rest.join('/');
    const prev = idx.services.get(sid);
    if (prev) {
      removeFrom(idx.byName, serviceTail(prev), sid);
      if (prev.alias) removeFrom(idx.byAlias, `${prev.environment ?? ''}/${prev.appId}/${prev.alias}`, sid);
      idx.services.delete(sid);
      this.serviceCount--;
    }
    if (e.type === 'DELETE') return;
    const svc = parse<MicroService>(e.kv);
    if (!svc) return;
    idx.services.set(sid, svc);
    this.serviceCount++;
    addTo(idx.byName, serviceTail(svc), sid);
    if (svc.alias) addTo(idx.byAlias, `${svc.environment ?? ''}/${svc.appId}/${svc.alias}`, sid);
  }

  #applyTags(e: WatchEvent): void {
    const sk = splitTenantKey(e.kv.key, keys.tagsPrefix);
    if (!sk) return;
    const idx = this.#idx(sk.tenant);
    if (e.type === 'DELETE') idx.tags.delete(sk.rest.join('/'));
    else idx.tags.set(sk.rest.join('/'), parse<Record<string, string>>(e.kv) ?? {});
  }

  #applyDepRule(e: WatchEvent): void {
    const sk = splitTenantKey(e.kv.key, keys.depRulePrefix);
    if (sk?.rest[0] !== 'c') return; // provider-side rules are derived, not read
    const idx = this.#idx(sk.tenant);
    const consumer = sk.rest.slice(1).join('/');
    const rules =
      e.type === 'DELETE' ? [] : (parse<{ Dependency?: MicroServiceKey[] }>(e.kv)?.Dependency ?? []);
    // Apply the difference only: a rule usually changes by one provider, and removing then
    // re-adding every entry (a Set per provider, dropped when empty) made each rewrite of a
    // 1,000-provider rule allocate ~1,000 Sets.
    const next = new Set(rules.map(providerTail));
    for (const p of idx.depRules.get(consumer) ?? []) {
      const tail = providerTail(p);
      if (!next.has(tail)) removeFrom(idx.dependents, tail, consumer);
    }
    for (const tail of next) addTo(idx.dependents, tail, consumer);
    if (e.type === 'DELETE') idx.depRules.delete(consumer);
    else idx.depRules.set(consumer, rules);
  }

  #applyMarker(e: WatchEvent): void {
    const instanceKey = instanceKeyOfMarker(e.kv.key);
    if (e.type === 'DELETE') {
      this.#explicit.delete(instanceKey);
    } else if (this.#preservation.has(instanceKey)) {
      // Deregistering an instance whose delete is held back: apply it now.
      this.#preservation.cancel(instanceKey);
      this.#removeInstance(instanceKey, true, e.revision);
    } else this.#explicit.add(instanceKey);
  }

  #applyInstance(e: WatchEvent, notify: boolean): void {
    const sk = splitTenantKey(e.kv.key, keys.instancePrefix);
    if (sk?.rest.length !== 2) return;
    const [sid, iid] = sk.rest as [string, string];
    const idx = this.#idx(sk.tenant);
    let map = idx.instances.get(sid);
    const prev = map?.get(iid);
    if (e.type === 'DELETE') {
      if (!prev) return;
      // A replayed delete of an older version (a store resync) must not remove a newer record.
      if (e.kv.modRevision < prev.modRevision) return;
      const explicit = this.#explicit.delete(e.kv.key);
      if (!explicit && notify && this.#preservation.enabled) {
        this.#expiredAt.set(e.kv.key, e.revision);
        this.#preservation.expire(e.kv.key, instanceTtlMs(prev.json, this.#ttlOverrideSec));
        return;
      }
      this.#preservation.cancel(e.kv.key);
      this.#removeInstance(e.kv.key, notify, e.revision);
      return;
    }
    this.#preservation.cancel(e.kv.key);
    this.#expiredAt.delete(e.kv.key);
    // A store resync replays records the catalog already has: nothing changed, nothing to tell.
    if (prev && prev.modRevision === e.kv.modRevision && prev.json === e.kv.value) return;
    if (!map) {
      map = new Map();
      idx.instances.set(sid, map);
    }
    if (!prev) {
      idx.instanceCount++;
      this.instanceCount++;
    }
    map.set(iid, new InstanceEntry(e.kv));
    this.#invalidate(idx, sid);
    // A held instance written again is an UPDATE for whoever still lists it.
    const action = prev || e.kv.version !== 1 ? 'UPDATE' : 'CREATE';
    this.#notify(sk.tenant, sid, action, e.kv.value, e.revision, notify);
  }

  /** Remove an instance now (a delete that was explicit, or that the gate let through). */
  #removeInstance(key: string, notify: boolean, revision = 0): void {
    this.#expiredAt.delete(key);
    const sk = splitTenantKey(key, keys.instancePrefix);
    if (sk?.rest.length !== 2) return;
    const [sid, iid] = sk.rest as [string, string];
    const idx = this.#tenants.get(sk.tenant);
    const map = idx?.instances.get(sid);
    const prev = map?.get(iid);
    if (!idx || !map || !prev) return;
    map.delete(iid);
    this.#invalidate(idx, sid);
    if (map.size === 0) idx.instances.delete(sid);
    idx.instanceCount--;
    this.instanceCount--;
    this.#notify(sk.tenant, sid, 'DELETE', prev.json, revision || prev.modRevision, notify);
  }

  #notify(
    tenant: Tenant,
    sid: string,
    action: InstanceChange['action'],
    instanceJson: string,
    revision: number,
    notify: boolean,
  ): void {
    if (!notify || this.#listeners.size === 0) return;
    const service = this.#tenants.get(tenant)?.services.get(sid);
    if (!service) return;
    const change: InstanceChange = { action, tenant, service, instanceJson, revision };
    for (const fn of this.#listeners) fn(change);
  }
}

function parse<T>(kv: KeyValue): T | undefined {
  try {
    return JSON.parse(kv.value) as T;
  } catch {
    return undefined;
  }
}
