/**
 * @module test/support/fake-registry-api
 * An in-memory `RegistryApi` for unit tests of registration and discovery: services, instances,
 * revisions (rev → notModified), dependencies recorded on find with a consumer id, cross-app
 * rules, and watchers that receive CREATE/UPDATE/DELETE for their consumer's providers.
 * Tests steer it: `down` makes every call fail as unreachable, `failNext` injects one error,
 * `hold` parks calls of a method until released, `forgetEverything` simulates a registry that
 * restarted without its data. Every call is recorded in `calls`.
 */
import type { SidecarConfig } from '../../src/sidecar/config/types.ts';
import { RegistryError, SC_ERROR } from '../../src/sidecar/registry-client/errors.ts';
import type {
  BatchFindItem,
  BatchFindItemResult,
  CallOptions,
  FindQuery,
  FindResult,
  InstanceStatus,
  MicroService,
  MicroServiceInstance,
  RegistryApi,
  ServiceKey,
  WatchEvent,
  WatchHandle,
  WatchHandlers,
} from '../../src/sidecar/registry-client/types.ts';

type Method = Exclude<keyof RegistryApi, 'close'>;

interface StoredService extends MicroService {
  serviceId: string;
}

interface FakeWatcher {
  consumerId: string;
  handlers: WatchHandlers;
  closed: boolean;
}

export class FakeRegistryApi implements RegistryApi {
  /** When true every call rejects with an 'unreachable' RegistryError. */
  down = false;
  readonly calls: Array<{ method: Method; args: unknown[] }> = [];
  readonly services = new Map<string, StoredService>();
  readonly instances = new Map<string, Map<string, MicroServiceInstance>>();
  readonly dependencies = new Map<string, Set<string>>();
  readonly watchers = new Set<FakeWatcher>();
  #revs = new Map<string, number>();
  #failures: Array<{ method: Method; error: RegistryError }> = [];
  #holds = new Map<Method, Array<() => void>>();
  #held = new Set<Method>();
  #seq = 0;

  // === test controls ===

  addService(appId: string, serviceName: string, extra: Partial<MicroService> = {}): string {
    const version = extra.version ?? '1.0.0';
    const serviceId = `sid-${appId}-${serviceName}-${version}`;
    this.services.set(serviceId, { appId, serviceName, version, environment: '', ...extra, serviceId });
    this.instances.set(serviceId, this.instances.get(serviceId) ?? new Map());
    return serviceId;
  }

  addInstance(serviceId: string, inst: Partial<MicroServiceInstance> & { endpoints: string[] }): string {
    const instanceId = inst.instanceId ?? `iid-${++this.#seq}`;
    const svc = this.services.get(serviceId);
    if (!svc) throw new Error(`fake: no service ${serviceId}`);
    const full: MicroServiceInstance = {
      hostName: 'h',
      status: 'UP',
      ...inst,
      instanceId,
      serviceId,
      version: svc.version,
    };
    const existed = this.instances.get(serviceId)!.has(instanceId);
    this.instances.get(serviceId)!.set(instanceId, full);
    this.#bump(serviceId, existed ? 'UPDATE' : 'CREATE', full);
    return instanceId;
  }

  updateInstance(serviceId: string, instanceId: string, patch: Partial<MicroServiceInstance>): void {
    const cur = this.instances.get(serviceId)?.get(instanceId);
    if (!cur) throw new Error('fake: no such instance');
    const next = { ...cur, ...patch };
    this.instances.get(serviceId)!.set(instanceId, next);
    this.#bump(serviceId, 'UPDATE', next);
  }

  removeInstance(serviceId: string, instanceId: string): void {
    const cur = this.instances.get(serviceId)?.get(instanceId);
    if (!cur) return;
    this.instances.get(serviceId)!.delete(instanceId);
    this.#bump(serviceId, 'DELETE', cur);
  }

  /** The registry restarted without its data: everything is gone, watch sockets drop. */
  forgetEverything(): void {
    this.services.clear();
    this.instances.clear();
    this.dependencies.clear();
    this.#revs.clear();
    this.dropWatchers();
  }

  /** Every open watch connection closes (as when the registry process dies). */
  dropWatchers(error?: RegistryError): void {
    for (const w of [...this.watchers]) {
      this.watchers.delete(w);
      if (w.closed) continue;
      w.closed = true;
      queueMicrotask(() => w.handlers.onClose(error ?? unreachable()));
    }
  }

  /** The next call of `method` rejects with `error`. */
  failNext(method: Method, error: RegistryError): void {
    this.#failures.push({ method, error });
  }

  /** Park calls of `method` until the returned function is called. */
  hold(method: Method): () => void {
    this.#held.add(method);
    return () => {
      this.#held.delete(method);
      for (const release of this.#holds.get(method)?.splice(0) ?? []) release();
    };
  }

  count(method: Method): number {
    return this.calls.filter((c) => c.method === method).length;
  }

  openWatchers(): FakeWatcher[] {
    return [...this.watchers].filter((w) => !w.closed);
  }

  // === RegistryApi ===

  async existence(key: ServiceKey, o?: CallOptions): Promise<string | null> {
    await this.#enter('existence', [key], o);
    for (const s of this.services.values()) {
      if (s.appId === key.appId && s.serviceName === key.serviceName && s.version === key.version) {
        return s.serviceId;
      }
    }
    return null;
  }

  async createService(service: MicroService, o?: CallOptions): Promise<string> {
    await this.#enter('createService', [service], o);
    const existing = [...this.services.values()].find(
      (s) =>
        s.appId === service.appId && s.serviceName === service.serviceName && s.version === service.version,
    );
    if (existing) return existing.serviceId;
    const { appId, serviceName, ...rest } = service;
    return this.addService(appId, serviceName, rest);
  }

  async getService(serviceId: string, o?: CallOptions): Promise<MicroService | null> {
    await this.#enter('getService', [serviceId], o);
    const s = this.services.get(serviceId);
    return s ? structuredClone(s) : null;
  }

  async updateServiceProperties(serviceId: string, properties: Record<string, string>, o?: CallOptions) {
    await this.#enter('updateServiceProperties', [serviceId, properties], o);
    const s = this.services.get(serviceId);
    if (!s) throw notFound(SC_ERROR.SERVICE_NOT_EXISTS);
    s.properties = { ...properties };
  }

  async registerInstance(serviceId: string, instance: MicroServiceInstance, o?: CallOptions) {
    await this.#enter('registerInstance', [serviceId, instance], o);
    if (!this.services.has(serviceId)) throw notFound(SC_ERROR.SERVICE_NOT_EXISTS);
    const id = instance.instanceId ?? `iid-${++this.#seq}`;
    if (this.instances.get(serviceId)!.has(id)) return id; // known id = heartbeat, data not updated
    return this.addInstance(serviceId, { ...instance, instanceId: id, endpoints: instance.endpoints ?? [] });
  }

  async heartbeat(serviceId: string, instanceId: string, o?: CallOptions) {
    await this.#enter('heartbeat', [serviceId, instanceId], o);
    if (!this.instances.get(serviceId)?.has(instanceId)) throw notFound(SC_ERROR.INSTANCE_NOT_EXISTS);
  }

  async deregisterInstance(serviceId: string, instanceId: string, o?: CallOptions) {
    await this.#enter('deregisterInstance', [serviceId, instanceId], o);
    if (!this.instances.get(serviceId)?.has(instanceId)) throw notFound(SC_ERROR.INSTANCE_NOT_EXISTS);
    this.removeInstance(serviceId, instanceId);
  }

  async setInstanceStatus(serviceId: string, instanceId: string, status: InstanceStatus, o?: CallOptions) {
    await this.#enter('setInstanceStatus', [serviceId, instanceId, status], o);
    if (!this.instances.get(serviceId)?.has(instanceId)) throw notFound(SC_ERROR.INSTANCE_NOT_EXISTS);
    this.updateInstance(serviceId, instanceId, { status });
  }

  async findInstances(query: FindQuery, o?: CallOptions): Promise<FindResult> {
    await this.#enter('findInstances', [query], o);
    const r = this.#find(query, query.consumerId);
    if (r.kind === 'failed') throw r.error;
    if (r.kind === 'notModified') return { notModified: true, rev: query.rev ?? '' };
    return { notModified: false, rev: r.rev, instances: r.instances };
  }

  async batchFind(items: readonly BatchFindItem[], consumerId?: string, o?: CallOptions) {
    await this.#enter('batchFind', [items, consumerId], o);
    if (consumerId !== undefined && !this.services.has(consumerId)) {
      return items.map(() => ({ kind: 'failed', error: notFound(SC_ERROR.SERVICE_NOT_EXISTS) }) as const);
    }
    return items.map((i) => this.#find(i, consumerId));
  }

  watch(consumerId: string, handlers: WatchHandlers): WatchHandle {
    this.calls.push({ method: 'watch', args: [consumerId] });
    const w: FakeWatcher = { consumerId, handlers, closed: false };
    queueMicrotask(() => {
      if (w.closed) return;
      if (this.down) {
        w.closed = true;
        handlers.onClose(unreachable());
        return;
      }
      this.watchers.add(w);
      handlers.onOpen();
      if (!this.services.has(consumerId)) {
        this.watchers.delete(w);
        w.closed = true;
        handlers.onClose(notFound(SC_ERROR.SERVICE_NOT_EXISTS));
      }
    });
    return {
      close: () => {
        w.closed = true;
        this.watchers.delete(w);
      },
    };
  }

  async close(): Promise<void> {
    this.dropWatchers();
  }

  // === internals ===

  async #enter(method: Method, args: unknown[], o?: CallOptions): Promise<void> {
    this.calls.push({ method, args: structuredClone(args) });
    if (this.#held.has(method)) {
      await new Promise<void>((resolve) => {
        const list = this.#holds.get(method) ?? [];
        list.push(resolve);
        this.#holds.set(method, list);
      });
    }
    await Promise.resolve();
    if (o?.signal?.aborted) throw new RegistryError('aborted', 'aborted');
    if (this.down) throw unreachable();
    const i = this.#failures.findIndex((f) => f.method === method);
    if (i >= 0) throw this.#failures.splice(i, 1)[0]!.error;
  }

  #find(q: BatchFindItem, consumerId: string | undefined): BatchFindItemResult {
    const consumer = consumerId === undefined ? undefined : this.services.get(consumerId);
    if (consumerId !== undefined && !consumer) {
      return { kind: 'failed', error: notFound(SC_ERROR.SERVICE_NOT_EXISTS) };
    }
    const providers = [...this.services.values()].filter(
      (s) => s.appId === q.appId && (s.serviceName === q.serviceName || s.alias === q.serviceName),
    );
    if (providers.length === 0) return { kind: 'failed', error: notFound(SC_ERROR.SERVICE_NOT_EXISTS) };
    const visible = providers.filter(
      (p) =>
        !consumer ||
        p.appId === consumer.appId ||
        String(p.properties?.allowCrossApp ?? '').toLowerCase() === 'true',
    );
    if (consumer) {
      const deps = this.dependencies.get(consumer.serviceId) ?? new Set<string>();
      for (const p of providers) deps.add(p.serviceId);
      this.dependencies.set(consumer.serviceId, deps);
    }
    const rev = visible.map((p) => `${p.serviceId}:${this.#revs.get(p.serviceId) ?? 0}`).join(',');
    if (q.rev !== undefined && q.rev === rev) return { kind: 'notModified' };
    const instances = visible.flatMap((p) => [...(this.instances.get(p.serviceId)?.values() ?? [])]);
    return { kind: 'updated', rev, instances: structuredClone(instances) };
  }

  #bump(serviceId: string, action: WatchEvent['action'], instance: MicroServiceInstance): void {
    this.#revs.set(serviceId, (this.#revs.get(serviceId) ?? 0) + 1);
    const svc = this.services.get(serviceId);
    if (!svc) return;
    const event: WatchEvent = {
      action,
      key: { appId: svc.appId, serviceName: svc.serviceName, version: svc.version, environment: '' },
      instance: structuredClone(instance),
    };
    for (const w of this.watchers) {
      if (w.closed || !this.dependencies.get(w.consumerId)?.has(serviceId)) continue;
      queueMicrotask(() => {
        if (!w.closed) w.handlers.onEvent(event);
      });
    }
  }
}

function unreachable(): RegistryError {
  return new RegistryError('unreachable', 'fake registry is down');
}

function notFound(code: string): RegistryError {
  return new RegistryError('registry', `fake registry: ${code}`, { errorCode: code, status: 400 });
}

/** Let queued promise callbacks and microtasks run (the fake answers asynchronously). */
export async function flush(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A minimal valid SidecarConfig for tests; `over` patches the parts a test cares about. */
export function testSidecarConfig(
  over: {
    service?: Partial<SidecarConfig['service']>;
    registry?: Partial<SidecarConfig['registry']>;
    advertise?: { host: string; port: number } | null;
    flat?: Record<string, unknown>;
  } = {},
): SidecarConfig {
  const advertise = over.advertise === undefined ? { host: '127.0.0.2', port: 30101 } : over.advertise;
  return {
    confDir: '/tmp/conf',
    mode: 'sidecar',
    service: {
      name: 'client',
      app: 'demo',
      version: '1.0.0',
      environment: '',
      properties: {},
      instanceProperties: {},
      hostname: 'host-1',
      ...over.service,
    },
    listeners: {
      outbound: { host: '127.0.0.1', port: 30101 },
      inbound: advertise,
      advertise,
      admin: null,
    },
    registry: {
      addresses: ['http://127.0.0.1:30100'],
      watch: false,
      refreshIntervalMs: 30_000,
      heartbeatIntervalMs: 30_000,
      project: 'default',
      domain: 'default',
      ...over.registry,
    },
    servicePorts: { rest: 8080 },
    localApp: { host: '127.0.0.1', port: 8080 },
    loadBalance: { strategy: 'RoundRobin', perService: {} },
    flat: over.flat ?? {},
  };
}
