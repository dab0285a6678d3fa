/**
 * @module sidecar/registry-client/client
 * `createRegistryClient`: the HTTP implementation of `RegistryApi` against a ServiceComb
 * service-center v4 registry (ours or the real one). Paths are relative to
 * `/v4/{project}/registry`; every call sends `X-Domain-Name`; failover and timeouts live in
 * ./http-transport.ts, the WebSocket watcher in ./watcher.ts, learning the other registry
 * replicas (`autodiscovery`) in ./peer-discovery.ts.
 */
import { type Clock, systemClock } from '../../shared/clock.ts';
import type { RegistryClientConfig } from '../config/types.ts';
import { RegistryError, SC_ERROR } from './errors.ts';
import { parseEnvelope, RegistryTransport, type TransportResponse } from './http-transport.ts';
import { type PeerDiscovery, startPeerDiscovery } from './peer-discovery.ts';
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
  WatchHandle,
  WatchHandlers,
} from './types.ts';
import { openWatch } from './watcher.ts';

export interface RegistryClientOptions {
  /** Per-attempt timeout of each call, ms (default 5000). */
  timeoutMs?: number;
  /** Largest response body accepted, bytes (default 16 MiB). */
  maxResponseBytes?: number;
  /** Largest watch event accepted, bytes (default 1 MiB). */
  maxWatchMessageBytes?: number;
  /** Client pings on the watch socket, ms (default 30000); a missing pong closes it. */
  watchPingIntervalMs?: number;
  userAgent?: string;
  /** Period of the replica-list read when `autodiscovery` is on, ms (default: refreshIntervalMs, else 30000). */
  autodiscoveryIntervalMs?: number;
  /** Drives the autodiscovery timer (default: the system clock). */
  clock?: Clock;
}

/** The subset of RegistryClientConfig the client needs. */
export type RegistryClientTarget = Pick<RegistryClientConfig, 'addresses' | 'project' | 'domain'> &
  Partial<Pick<RegistryClientConfig, 'autodiscovery' | 'refreshIntervalMs'>>;

export interface RegistryClient extends RegistryApi {
  /** Every address the client may use: the configured seeds, then learned replicas. */
  readonly addresses: readonly string[];
  currentAddress(): string;
  /** Read the replica list now (a no-op promise when autodiscovery is off). */
  discoverPeers(): Promise<void>;
}

export function createRegistryClient(
  config: RegistryClientTarget,
  opts: RegistryClientOptions = {},
): RegistryClient {
  const transport = new RegistryTransport({
    addresses: config.addresses,
    domain: config.domain || 'default',
    timeoutMs: opts.timeoutMs,
    maxResponseBytes: opts.maxResponseBytes,
    userAgent: opts.userAgent,
  });
  const project = config.project || 'default';
  const base = `/v4/${encodeURIComponent(project)}/registry`;
  const watches = new Set<WatchHandle>();
  const enc = encodeURIComponent;
  const inst = (sid: string, iid: string) => `${base}/microservices/${enc(sid)}/instances/${enc(iid)}`;
  const peers: PeerDiscovery | null = config.autodiscovery
    ? startPeerDiscovery({
        transport,
        base,
        clock: opts.clock ?? systemClock,
        intervalMs: opts.autodiscoveryIntervalMs ?? config.refreshIntervalMs ?? 30_000,
        timeoutMs: opts.timeoutMs,
      })
    : null;

  async function call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    o: CallOptions | undefined,
    extra: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<TransportResponse> {
    const res = await transport.request({
      method,
      path,
      body: extra.body,
      headers: extra.headers,
      timeoutMs: o?.timeoutMs,
      signal: o?.signal,
    });
    if (res.status >= 200 && res.status < 300) return res;
    if (res.status === 304) return res;
    throw errorOf(res);
  }

  return {
    get addresses() {
      return transport.pool.addresses;
    },
    currentAddress: () => transport.pool.current(),
    discoverPeers: () => peers?.refresh() ?? Promise.resolve(),

    async existence(key: ServiceKey, o?: CallOptions): Promise<string | null> {
      const q = new URLSearchParams({
        type: 'microservice',
        appId: key.appId,
        serviceName: key.serviceName,
        version: key.version,
        env: key.environment,
      });
      try {
        const body = json(await call('GET', `${base}/existence?${q}`, o));
        return str(body.serviceId, 'serviceId');
      } catch (err) {
        const code = (err as RegistryError).errorCode;
        if (code === SC_ERROR.SERVICE_NOT_EXISTS || code === SC_ERROR.SERVICE_VERSION_NOT_EXISTS) return null;
        throw err;
      }
    },

    async createService(service: MicroService, o?: CallOptions): Promise<string> {
      const body = json(await call('POST', `${base}/microservices`, o, { body: { service } }));
      return str(body.serviceId, 'serviceId');
    },

    async getService(serviceId: string, o?: CallOptions): Promise<MicroService | null> {
      try {
        const body = json(await call('GET', `${base}/microservices/${enc(serviceId)}`, o));
        if (typeof body.service !== 'object' || body.service === null) {
          throw new RegistryError('protocol', 'registry answer lacks "service"');
        }
        return body.service as MicroService;
      } catch (err) {
        if ((err as RegistryError).errorCode === SC_ERROR.SERVICE_NOT_EXISTS) return null;
        throw err;
      }
    },

    async updateServiceProperties(serviceId, properties, o) {
      await call('PUT', `${base}/microservices/${enc(serviceId)}/properties`, o, { body: { properties } });
    },

    async registerInstance(serviceId: string, instance: MicroServiceInstance, o?: CallOptions) {
      const body = json(
        await call('POST', `${base}/microservices/${enc(serviceId)}/instances`, o, { body: { instance } }),
      );
      return str(body.instanceId, 'instanceId');
    },

    async heartbeat(serviceId, instanceId, o) {
      await call('PUT', `${inst(serviceId, instanceId)}/heartbeat`, o);
    },

    async deregisterInstance(serviceId, instanceId, o) {
      await call('DELETE', inst(serviceId, instanceId), o);
    },

    async setInstanceStatus(serviceId: string, instanceId: string, status: InstanceStatus, o?: CallOptions) {
      await call('PUT', `${inst(serviceId, instanceId)}/status?value=${enc(status)}`, o);
    },

    async findInstances(query: FindQuery, o?: CallOptions): Promise<FindResult> {
      const q = new URLSearchParams({ appId: query.appId, serviceName: query.serviceName });
      if (query.environment) q.set('env', query.environment);
      if (query.rev) q.set('rev', query.rev);
      const headers: Record<string, string> = query.consumerId ? { 'x-consumerid': query.consumerId } : {};
      const res = await call('GET', `${base}/instances?${q}`, o, { headers });
      const rev = header(res, 'x-resource-revision') ?? '';
      if (res.status === 304) return { notModified: true, rev: rev || (query.rev ?? '') };
      const body = json(res);
      return { notModified: false, rev, instances: instancesOf(body.instances) };
    },

    async batchFind(items: readonly BatchFindItem[], consumerId?: string, o?: CallOptions) {
      if (items.length === 0) return [];
      const services = items.map((i) => {
        const service: Record<string, string> = { appId: i.appId, serviceName: i.serviceName };
        if (i.environment) service.environment = i.environment;
        return i.rev ? { service, rev: i.rev } : { service };
      });
      const headers: Record<string, string> = consumerId ? { 'x-consumerid': consumerId } : {};
      const res = await call('POST', `${base}/instances/action?type=query`, o, {
        body: { services },
        headers,
      });
      return parseBatch(json(res).services, items.length, res.address);
    },

    watch(consumerId: string, handlers: WatchHandlers): WatchHandle {
      const address = transport.pool.current();
      const handle = openWatch({
        address,
        path: `${base}/microservices/${enc(consumerId)}/watcher`,
        domain: transport.domain,
        handshakeTimeoutMs: opts.timeoutMs ?? 5000,
        maxPayloadBytes: opts.maxWatchMessageBytes ?? 1024 * 1024,
        pingIntervalMs: opts.watchPingIntervalMs ?? 30_000,
        handlers: {
          onOpen: () => {
            transport.pool.markHealthy(address);
            handlers.onOpen();
          },
          onEvent: handlers.onEvent,
          onClose: (err) => {
            watches.delete(handle);
            if (err?.transient) transport.pool.markFailed(address);
            handlers.onClose(err);
          },
        },
      });
      watches.add(handle);
      return handle;
    },

    async close() {
      peers?.stop();
      for (const w of watches) w.close();
      watches.clear();
      await transport.close();
    },
  };
}

function errorOf(res: TransportResponse): RegistryError {
  const env = parseEnvelope(res.text);
  if (env) {
    return new RegistryError('registry', `registry: ${env.errorMessage ?? 'error'} (${env.errorCode})`, {
      errorCode: env.errorCode,
      status: res.status,
      address: res.address,
      detail: env.detail,
    });
  }
  return new RegistryError('registry', `registry answered HTTP ${res.status}`, {
    status: res.status,
    address: res.address,
  });
}

function json(res: TransportResponse): Record<string, unknown> {
  if (res.text === '') return {};
  try {
    const v: unknown = JSON.parse(res.text);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new RegistryError('protocol', `registry ${res.address} sent a body that is not a JSON object`, {
    address: res.address,
    status: res.status,
  });
}

function str(v: unknown, field: string): string {
  if (typeof v === 'string' && v !== '') return v;
  throw new RegistryError('protocol', `registry answer lacks "${field}"`);
}

function header(res: TransportResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function instancesOf(v: unknown): MicroServiceInstance[] {
  if (!Array.isArray(v)) return [];
  return v.filter((i): i is MicroServiceInstance => typeof i === 'object' && i !== null);
}

/** Map `{updated, notModified, failed}` back to one result per request item. */
function parseBatch(v: unknown, n: number, address: string): BatchFindItemResult[] {
  const out: Array<BatchFindItemResult | undefined> = new Array(n).fill(undefined);
  const s = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  const inRange = (i: unknown): i is number => Number.isInteger(i) && (i as number) >= 0 && (i as number) < n;
  for (const u of Array.isArray(s.updated) ? s.updated : []) {
    const item = u as { index?: unknown; rev?: unknown; instances?: unknown };
    const index = item.index ?? 0; // omitempty: index 0 is left out on the wire
    if (!inRange(index)) continue;
    out[index] = {
      kind: 'updated',
      rev: typeof item.rev === 'string' ? item.rev : '',
      instances: instancesOf(item.instances),
    };
  }
  for (const i of Array.isArray(s.notModified) ? s.notModified : []) {
    if (inRange(i)) out[i] = { kind: 'notModified' };
  }
  for (const f of Array.isArray(s.failed) ? s.failed : []) {
    const item = f as { indexes?: unknown; error?: unknown };
    const env = item.error as { errorCode?: unknown; errorMessage?: unknown; detail?: unknown } | undefined;
    const errorCode = env?.errorCode === undefined ? undefined : String(env.errorCode);
    const error = new RegistryError('registry', `registry: ${String(env?.errorMessage ?? 'failed')}`, {
      errorCode,
      status: errorCode ? Math.trunc(Number(errorCode) / 1000) || undefined : undefined,
      address,
      detail: typeof env?.detail === 'string' ? env.detail : undefined,
    });
    for (const i of Array.isArray(item.indexes) ? item.indexes : []) {
      if (inRange(i)) out[i] = { kind: 'failed', error };
    }
  }
  return out.map(
    (r) =>
      r ?? {
        kind: 'failed',
        error: new RegistryError('protocol', 'registry batch answer does not mention this item', { address }),
      },
  );
}
