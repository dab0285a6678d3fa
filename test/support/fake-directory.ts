/**
 * @module test/support/fake-directory
 * A `ServiceDirectory` the test feeds: `set(name, endpoints)` installs a snapshot (new revision),
 * `remove(name)` makes lookups reject with SERVICE_NOT_FOUND. Counts lookups so tests can check
 * the hot path peeks instead of looking up. Also a tiny round-robin `Balancer` for data-plane tests
 * that must not depend on the real balancers, and `endpointOf` to turn a test upstream into an Endpoint.
 */
import { MeshError } from '../../src/shared/errors.ts';
import type { Balancer, CallReport, PickRequest, PickResult } from '../../src/sidecar/balancer/types.ts';
import type { SidecarConfig } from '../../src/sidecar/config/types.ts';
import type {
  DiscoveryUpdate,
  Endpoint,
  ServiceDirectory,
  ServiceSnapshot,
} from '../../src/sidecar/discovery/types.ts';

export function endpointOf(
  addr: { host: string; port: number },
  instanceId: string,
  serviceId = 'svc',
): Endpoint {
  return {
    key: `${instanceId}@${addr.host}:${addr.port}`,
    instanceId,
    serviceId,
    host: addr.host,
    port: addr.port,
    tls: false,
    version: '0.0.1',
    app: 'default',
    properties: {},
  };
}

export class FakeDirectory implements ServiceDirectory {
  #snapshots = new Map<string, ServiceSnapshot>();
  #listeners = new Set<(u: DiscoveryUpdate) => void>();
  #rev = 0;
  lookups = 0;

  set(serviceName: string, endpoints: readonly Endpoint[], app = 'default'): ServiceSnapshot {
    const snapshot: ServiceSnapshot = { serviceName, app, revision: String(++this.#rev), endpoints };
    this.#snapshots.set(serviceName, snapshot);
    this.#emit({ kind: 'reset', snapshot });
    return snapshot;
  }

  remove(serviceName: string, app = 'default'): void {
    this.#snapshots.delete(serviceName);
    this.#emit({ kind: 'doesNotExist', serviceName, app });
  }

  #emit(update: DiscoveryUpdate): void {
    for (const l of this.#listeners) queueMicrotask(() => l(update));
  }

  async lookup(serviceName: string): Promise<ServiceSnapshot> {
    this.lookups++;
    const s = this.#snapshots.get(serviceName);
    if (s === undefined) throw new MeshError('SERVICE_NOT_FOUND', { service: serviceName });
    return s;
  }

  peek(serviceName: string): ServiceSnapshot | undefined {
    return this.#snapshots.get(serviceName);
  }

  subscribe(listener: (update: DiscoveryUpdate) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  tracked(): readonly ServiceSnapshot[] {
    return [...this.#snapshots.values()];
  }
}

/** Round-robin test balancer that records every start/finish report. */
export class FakeRoundRobin implements Balancer {
  readonly name = 'FakeRoundRobin';
  endpoints: readonly Endpoint[] = [];
  updates = 0;
  inFlight = 0;
  readonly finished: Array<{ key: string } & CallReport> = [];
  #next = 0;

  update(endpoints: readonly Endpoint[]): void {
    this.endpoints = endpoints;
    this.updates++;
  }

  pick(req?: PickRequest): PickResult {
    const n = this.endpoints.length;
    for (let i = 0; i < n; i++) {
      const e = this.endpoints[(this.#next + i) % n]!;
      if (req?.exclude?.has(e.key)) continue;
      this.#next = (this.#next + i + 1) % n;
      return { kind: 'ok', endpoint: e };
    }
    return { kind: 'unavailable' };
  }

  onStart(): void {
    this.inFlight++;
  }

  onFinish(endpoint: Endpoint, report: CallReport): void {
    this.inFlight--;
    this.finished.push({ key: endpoint.key, ...report });
  }
}

/** A minimal valid SidecarConfig on ephemeral ports (inbound and admin off unless overridden). */
export function testSidecarConfig(overrides: Partial<SidecarConfig> = {}): SidecarConfig {
  return {
    confDir: '/nonexistent',
    mode: 'sidecar',
    service: {
      name: 'client',
      app: 'default',
      version: '0.0.1',
      environment: '',
      properties: {},
      instanceProperties: {},
      hostname: 'test',
    },
    listeners: { outbound: { host: '127.0.0.1', port: 0 }, inbound: null, advertise: null, admin: null },
    registry: {
      addresses: ['http://127.0.0.1:1'],
      watch: false,
      refreshIntervalMs: 30_000,
      heartbeatIntervalMs: 30_000,
      project: 'default',
      domain: 'default',
    },
    servicePorts: {},
    localApp: null,
    loadBalance: { strategy: 'RoundRobin', perService: {} },
    flat: {},
    ...overrides,
  };
}
