/**
 * @module sidecar/discovery/directory
 * `createServiceDirectory`: the sidecar's `ServiceDirectory` over the registry.
 *
 * - First lookup of `app/name` queries the registry (one `find`, shared by concurrent callers),
 *   with our own serviceId as X-ConsumerId once registered: that records the dependency, which
 *   is what makes the registry's watcher send us this provider's events.
 * - Every `refreshIntervalMs` all tracked services are re-queried in batches with their last
 *   `rev` (unchanged ones cost a "not modified"); with `watch: true` the WebSocket watcher patches
 *   the cache as events arrive, and every (re)connect triggers a full refresh.
 * - Registry unreachable → cached snapshots keep being served; nothing cached → NO_ENDPOINTS.
 *   The registry says the service does not exist → SERVICE_NOT_FOUND (remembered for
 *   `notFoundTtlMs` so a flood of calls to a bad name does not become a flood of registry calls).
 *   A service that had endpoints is dropped only after it stayed unknown for `notFoundGraceMs`:
 *   a registry that restarted without its data says "does not exist" until the providers'
 *   next heartbeat re-registers them, and those providers are still alive meanwhile (the same
 *   reasoning as the registry's own self-preservation).
 * - A 400012 while sending our consumer id may mean the registry forgot *us*: the query is
 *   repeated without it; if that succeeds, registration is told to re-register.
 * - At most `maxTrackedServices` entries (least recently used evicted first).
 */
import { type Clock, type Random, systemClock, type TimerHandle } from '../../shared/clock.ts';
import { MeshError } from '../../shared/errors.ts';
import { createLogger, type Logger } from '../../shared/log.ts';
import type { SidecarConfig } from '../config/types.ts';
import { isRegistryError, type RegistryError, SC_ERROR, toRegistryError } from '../registry-client/errors.ts';
import type { BatchFindItemResult, FindResult, RegistryApi, WatchEvent } from '../registry-client/types.ts';
import { entryKey, ServiceEntry } from './service-entry.ts';
import type { DiscoveryUpdate, ServiceDirectory, ServiceSnapshot } from './types.ts';
import { WatchSync } from './watch-sync.ts';

/** What discovery needs from registration (a structural subset of `Registration`). */
export interface ConsumerIdentity {
  status(): { readonly registered: boolean; readonly serviceId?: string };
  onChange(
    listener: (status: { readonly registered: boolean; readonly serviceId?: string }) => void,
  ): () => void;
  reportLost(reason: string): void;
}

export interface ServiceDirectoryOptions {
  api: RegistryApi;
  /** Uses service.app/environment (defaults for lookups) and registry.refreshIntervalMs/watch. */
  config: Pick<SidecarConfig, 'service' | 'registry'>;
  clock?: Clock;
  random?: Random;
  /** The sidecar's registration; without it lookups are anonymous (no dependency, no watch). */
  registration?: ConsumerIdentity;
  /** Bound on tracked services (default 10,000). */
  maxTrackedServices?: number;
  /** How long "does not exist" is answered from memory, ms (default 5000). */
  notFoundTtlMs?: number;
  /** How long a service that had endpoints keeps being served after the registry stops knowing it, ms (default 60000). */
  notFoundGraceMs?: number;
  /** After a failed first lookup (registry unreachable), answer NO_ENDPOINTS without I/O for this long (default 1000). */
  failureHoldMs?: number;
  /** Services per batch query (default 100). */
  batchSize?: number;
  /** Watch reconnect backoff (default 1 s → 30 s). */
  watchBackoff?: { initialMs?: number; maxMs?: number };
  logger?: Logger;
}

export interface ManagedServiceDirectory extends ServiceDirectory {
  /** Start the refresh timer and (with watch: true) the watcher. Idempotent. */
  start(): void;
  /** Stop timers and the watcher; lookups still answer from the cache. */
  close(): void;
  /** Refresh every tracked service now (tests, admin). `full` ignores revisions. */
  refresh(full?: boolean): Promise<void>;
  /** True while the watch connection is open. */
  readonly watching: boolean;
  /** For the admin API's health: when the registry last answered a discovery query, and the last failure. */
  health(): DirectoryHealth;
}

export interface DirectoryHealth {
  readonly watching: boolean;
  readonly trackedServices: number;
  /** Clock time of the last registry answer to a discovery query. */
  readonly lastOkAt?: number;
  /** The last failure, cleared by the next answer. */
  readonly lastError?: string;
}

const SERVICE_NAME_RE = /^[a-zA-Z0-9](?:[a-zA-Z0-9_\-.:]{0,287}[a-zA-Z0-9])?$/;

export function createServiceDirectory(o: ServiceDirectoryOptions): ManagedServiceDirectory {
  return new Directory(o);
}

class Directory implements ManagedServiceDirectory {
  readonly #api: RegistryApi;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #ownApp: string;
  readonly #env: string;
  readonly #refreshMs: number;
  readonly #max: number;
  readonly #notFoundTtl: number;
  readonly #notFoundGrace: number;
  readonly #failureHold: number;
  readonly #batchSize: number;
  readonly #identity: ConsumerIdentity | undefined;
  readonly #watch: WatchSync | undefined;
  /** Insertion order = recency order (a hit re-inserts), so the first key is the LRU victim. */
  readonly #entries = new Map<string, ServiceEntry>();
  readonly #listeners = new Set<(u: DiscoveryUpdate) => void>();
  #timer: TimerHandle | undefined;
  #unsubscribe: (() => void) | undefined;
  #started = false;
  #closed = false;
  #refreshing: Promise<void> | undefined;
  #refreshAgain: boolean | 'full' = false;
  #batchUnsupported = false;
  #consumerId: string | undefined;
  #registered = false;
  #lastOkAt: number | undefined;
  #lastError: string | undefined;

  constructor(o: ServiceDirectoryOptions) {
    this.#api = o.api;
    this.#clock = o.clock ?? systemClock;
    this.#log = o.logger ?? createLogger('sidecar.discovery');
    this.#ownApp = o.config.service.app;
    this.#env = o.config.service.environment;
    this.#refreshMs = Math.max(1, o.config.registry.refreshIntervalMs);
    this.#max = Math.max(1, o.maxTrackedServices ?? 10_000);
    this.#notFoundTtl = o.notFoundTtlMs ?? 5000;
    this.#notFoundGrace = o.notFoundGraceMs ?? 60_000;
    this.#failureHold = o.failureHoldMs ?? 1000;
    this.#batchSize = Math.max(1, o.batchSize ?? 100);
    this.#identity = o.registration;
    if (o.config.registry.watch) {
      this.#watch = new WatchSync({
        api: o.api,
        clock: this.#clock,
        random: o.random,
        log: this.#log,
        backoff: o.watchBackoff,
        onOpen: () => void this.refresh(true).catch(() => undefined),
        onEvent: (e) => this.#onEvent(e),
        onConsumerUnknown: () => this.#identity?.reportLost('registry watch: consumer id unknown'),
      });
    }
  }

  health(): DirectoryHealth {
    return {
      watching: this.watching,
      trackedServices: this.#entries.size,
      lastOkAt: this.#lastOkAt,
      lastError: this.#lastError,
    };
  }

  get watching(): boolean {
    return this.#watch?.connected ?? false;
  }

  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    if (this.#identity) {
      this.#unsubscribe = this.#identity.onChange((s) => this.#onIdentity(s));
      this.#onIdentity(this.#identity.status());
    }
    this.#scheduleRefresh();
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#unsubscribe?.();
    this.#watch?.close();
  }

  // === ServiceDirectory ===

  async lookup(serviceName: string, app: string = this.#ownApp): Promise<ServiceSnapshot> {
    const key = entryKey(serviceName, app);
    const hit = this.#touch(key)?.snapshot; // hot path: no validation needed for a cached name
    if (hit) return hit;
    if (!SERVICE_NAME_RE.test(serviceName) || !SERVICE_NAME_RE.test(app)) {
      throw new MeshError('SERVICE_NOT_FOUND', { service: serviceName });
    }
    for (let round = 0; round < 3; round++) {
      const entry = this.#touch(key);
      if (entry?.snapshot) return entry.snapshot;
      const now = this.#clock.now();
      if (entry?.state === 'notFound' && now - entry.checkedAt < this.#notFoundTtl) {
        throw new MeshError('SERVICE_NOT_FOUND', { service: serviceName });
      }
      if (entry?.inflight) {
        await entry.inflight;
        continue;
      }
      if (entry && entry.failedAt > 0 && now - entry.failedAt < this.#failureHold) {
        throw noEndpoints(serviceName);
      }
      const e = entry ?? this.#track(serviceName, app);
      e.inflight = this.#fetchOne(e).finally(() => {
        e.inflight = undefined;
      });
      await e.inflight;
      if (e.snapshot) return e.snapshot;
      if (e.state === 'notFound') throw new MeshError('SERVICE_NOT_FOUND', { service: serviceName });
      throw noEndpoints(serviceName);
    }
    throw noEndpoints(serviceName);
  }

  peek(serviceName: string, app: string = this.#ownApp): ServiceSnapshot | undefined {
    return this.#entries.get(entryKey(serviceName, app))?.snapshot;
  }

  subscribe(listener: (update: DiscoveryUpdate) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  tracked(): readonly ServiceSnapshot[] {
    const out: ServiceSnapshot[] = [];
    for (const e of this.#entries.values()) if (e.snapshot) out.push(e.snapshot);
    return out;
  }

  // === refresh ===

  refresh(full = false): Promise<void> {
    if (this.#refreshing) {
      this.#refreshAgain = full || this.#refreshAgain === 'full' ? 'full' : true;
      return this.#refreshing;
    }
    const run = async () => {
      let mode: boolean | 'full' = full ? 'full' : true;
      while (mode !== false && !this.#closed) {
        this.#refreshAgain = false;
        await this.#refreshAll(mode === 'full');
        mode = this.#refreshAgain;
      }
    };
    this.#refreshing = run().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  #scheduleRefresh(): void {
    if (this.#closed) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.refresh()
        .catch((err: unknown) => this.#log.error({ err }, 'refresh failed unexpectedly'))
        .finally(() => this.#scheduleRefresh());
    }, this.#refreshMs);
  }

  async #refreshAll(full: boolean): Promise<void> {
    const entries = [...this.#entries.values()].filter((e) => !e.inflight);
    for (let i = 0; i < entries.length && !this.#closed; i += this.#batchSize) {
      const chunk = entries.slice(i, i + this.#batchSize);
      if (this.#batchUnsupported) {
        for (const e of chunk) await this.#fetchOne(e, !full);
      } else {
        await this.#fetchBatch(chunk, full);
      }
    }
  }

  /** One `find`; never rejects (outcome lands in the entry). */
  async #fetchOne(e: ServiceEntry, useRev = false): Promise<void> {
    const consumerId = this.#currentConsumer();
    e.beginFetch();
    const query = {
      appId: e.app,
      serviceName: e.serviceName,
      environment: this.#env,
      rev: useRev ? e.registryRev : undefined,
    };
    try {
      let r: FindResult;
      try {
        r = await this.#api.findInstances({ ...query, consumerId });
      } catch (err) {
        if (!consumerId || !isRegistryError(err, SC_ERROR.SERVICE_NOT_EXISTS)) throw err;
        r = await this.#api.findInstances(query); // is it the provider or us that is unknown?
        this.#identity?.reportLost('registry does not know our consumer id');
      }
      this.#applyResult(e, r.notModified ? { kind: 'notModified' } : { kind: 'updated', ...r });
    } catch (err) {
      this.#applyResult(e, { kind: 'failed', error: toRegistryError(err) });
    }
  }

  async #fetchBatch(chunk: ServiceEntry[], full: boolean): Promise<void> {
    const consumerId = this.#currentConsumer();
    const items = chunk.map((e) => ({
      appId: e.app,
      serviceName: e.serviceName,
      environment: this.#env,
      rev: full ? undefined : e.registryRev,
    }));
    for (const e of chunk) e.beginFetch();
    let results: BatchFindItemResult[];
    try {
      results = await this.#api.batchFind(items, consumerId);
    } catch (err) {
      const error = toRegistryError(err);
      for (const e of chunk) e.endFetch();
      if (error.kind === 'registry' && (error.status ?? 0) < 500 && !error.errorCode) {
        // e.g. 404/405: this registry has no batch query; fall back to one find per service.
        this.#batchUnsupported = true;
        this.#log.info({ err: error.message }, 'batch query unsupported; refreshing one service at a time');
        for (const e of chunk) await this.#fetchOne(e, !full);
        return;
      }
      for (const e of chunk) this.#applyResult(e, { kind: 'failed', error });
      return;
    }
    // 400012 with a consumer id: maybe the registry forgot us. Ask again anonymously.
    const suspect = consumerId
      ? chunk.filter((_, i) => {
          const r = results[i];
          return r?.kind === 'failed' && r.error.errorCode === SC_ERROR.SERVICE_NOT_EXISTS;
        })
      : [];
    if (suspect.length > 0) {
      try {
        const again = await this.#api.batchFind(suspect.map((e) => items[chunk.indexOf(e)]!));
        suspect.forEach((e, j) => {
          results[chunk.indexOf(e)] = again[j] ?? results[chunk.indexOf(e)]!;
        });
        if (again.some((r) => r.kind !== 'failed')) {
          this.#identity?.reportLost('registry does not know our consumer id');
        }
      } catch {
        // keep the first answers
      }
    }
    chunk.forEach((e, i) => {
      this.#applyResult(e, results[i] ?? { kind: 'failed', error: toRegistryError(new Error('no result')) });
    });
  }

  #applyResult(e: ServiceEntry, r: BatchFindItemResult): void {
    const now = this.#clock.now();
    if (r.kind !== 'failed' || r.error.kind === 'registry') {
      this.#lastOkAt = now;
      this.#lastError = undefined;
    } else {
      this.#lastError = r.error.message;
    }
    if (r.kind === 'updated') {
      e.checkedAt = now;
      e.failedAt = 0;
      e.notFoundSince = 0;
      if (e.applyFull(r.instances, r.rev) && e.snapshot) this.#emit({ kind: 'reset', snapshot: e.snapshot });
      return;
    }
    if (r.kind === 'notModified') {
      e.checkedAt = now;
      e.failedAt = 0;
      e.notFoundSince = 0;
      e.endFetch();
      return;
    }
    const err: RegistryError = r.error;
    if (err.errorCode === SC_ERROR.SERVICE_NOT_EXISTS || err.errorCode === SC_ERROR.INVALID_PARAMS) {
      e.checkedAt = now;
      e.failedAt = 0;
      if (e.snapshot && e.snapshot.endpoints.length > 0) {
        e.notFoundSince ||= now;
        if (now - e.notFoundSince < this.#notFoundGrace) {
          e.endFetch();
          this.#log.warn(
            { service: e.key },
            'registry no longer knows this service; serving the last snapshot',
          );
          return;
        }
      }
      if (e.markNotFound()) {
        this.#emit({ kind: 'doesNotExist', serviceName: e.serviceName, app: e.app });
      }
      return;
    }
    e.endFetch();
    e.failedAt = now;
    this.#log.debug({ service: e.key, err: err.message }, 'registry query failed; keeping the cache');
  }

  // === watch and identity ===

  #onEvent(event: WatchEvent): void {
    const e = this.#entries.get(entryKey(event.key.serviceName, event.key.appId));
    if (!e) return;
    if (e.applyEvent(event) && e.snapshot) this.#emit({ kind: 'reset', snapshot: e.snapshot });
  }

  /** Our serviceId once registered (sent as X-ConsumerId), else undefined. */
  #currentConsumer(): string | undefined {
    const s = this.#identity?.status();
    return s?.registered ? s.serviceId : undefined;
  }

  #onIdentity(s: { readonly registered: boolean; readonly serviceId?: string }): void {
    const becameRegistered = s.registered && !this.#registered;
    this.#registered = s.registered;
    const id = s.registered ? s.serviceId : undefined;
    if (id === undefined) return; // lost for now: keep the old id until registered again
    const changed = id !== this.#consumerId;
    this.#consumerId = id;
    if (changed && this.#watch)
      this.#watch.setConsumer(id); // its onOpen does a full refresh
    else if (becameRegistered && this.#entries.size > 0) {
      // (Re-)registered: record our dependencies (again) under this consumer id.
      void this.refresh(true).catch(() => undefined);
    }
  }

  // === cache bookkeeping ===

  #touch(key: string): ServiceEntry | undefined {
    const e = this.#entries.get(key);
    if (e) {
      this.#entries.delete(key);
      this.#entries.set(key, e);
    }
    return e;
  }

  #track(serviceName: string, app: string): ServiceEntry {
    while (this.#entries.size >= this.#max) {
      const victim = this.#pickVictim();
      if (!victim) break;
      this.#entries.delete(victim);
    }
    const e = new ServiceEntry(serviceName, app);
    this.#entries.set(e.key, e);
    return e;
  }

  /** Least recently used, preferring entries without a snapshot; never one with a fetch in flight. */
  #pickVictim(): string | undefined {
    let fallback: string | undefined;
    for (const [k, e] of this.#entries) {
      if (e.inflight) continue;
      if (!e.snapshot) return k;
      fallback ??= k;
    }
    return fallback;
  }

  #emit(update: DiscoveryUpdate): void {
    if (this.#listeners.size === 0) return;
    queueMicrotask(() => {
      for (const l of [...this.#listeners]) {
        try {
          l(update);
        } catch (err) {
          this.#log.error({ err }, 'discovery listener threw');
        }
      }
    });
  }
}

function noEndpoints(service: string): MeshError {
  return new MeshError('NO_ENDPOINTS', {
    service,
    message: 'The registry is unreachable and nothing is cached for this service',
  });
}
