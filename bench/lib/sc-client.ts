/**
 * @module bench/lib/sc-client
 * The few service-center v4 calls the benchmarks make (create service, register instance,
 * heartbeat, find), over an undici keep-alive Pool. Deliberately independent of
 * src/sidecar/registry-client: the benchmark drives the registry as any outside client would.
 */
import { Pool } from 'undici';

export interface InstanceSpec {
  readonly endpoints: readonly string[];
  readonly hostName?: string;
  readonly intervalS?: number;
  readonly times?: number;
}

export class ScClient {
  readonly pool: Pool;
  private readonly prefix: string;

  constructor(
    readonly origin: string,
    opts: { connections?: number; project?: string; pipelining?: number } = {},
  ) {
    this.pool = new Pool(origin, {
      connections: opts.connections ?? 8,
      pipelining: opts.pipelining ?? 1,
      keepAliveTimeout: 60_000,
    });
    this.prefix = `/v4/${opts.project ?? 'default'}/registry`;
  }

  async call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; json: unknown; headers: Record<string, string | string[] | undefined> }> {
    const res = await this.pool.request({
      method,
      path: this.prefix + path,
      headers: { 'content-type': 'application/json', 'x-domain-name': 'default', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    return { status: res.statusCode, json, headers: res.headers };
  }

  private async ok<T>(what: string, r: Promise<{ status: number; json: unknown }>): Promise<T> {
    const { status, json } = await r;
    if (status !== 200) throw new Error(`${what}: HTTP ${status} ${JSON.stringify(json)?.slice(0, 300)}`);
    return json as T;
  }

  async createService(name: string, app = 'default', version = '1.0.0'): Promise<string> {
    const body = { service: { serviceName: name, appId: app, version } };
    const j = await this.ok<{ serviceId: string }>(
      `create ${name}`,
      this.call('POST', '/microservices', body),
    );
    return j.serviceId;
  }

  async registerInstance(serviceId: string, spec: InstanceSpec): Promise<string> {
    const instance = {
      hostName: spec.hostName ?? 'bench',
      endpoints: spec.endpoints,
      status: 'UP',
      healthCheck: { mode: 'push', interval: spec.intervalS ?? 30, times: spec.times ?? 3 },
    };
    const j = await this.ok<{ instanceId: string }>(
      `register instance of ${serviceId}`,
      this.call('POST', `/microservices/${serviceId}/instances`, { instance }),
    );
    return j.instanceId;
  }

  heartbeat(serviceId: string, instanceId: string): Promise<{ status: number }> {
    return this.call('PUT', `/microservices/${serviceId}/instances/${instanceId}/heartbeat`);
  }

  async deregister(serviceId: string, instanceId: string): Promise<number> {
    return (await this.call('DELETE', `/microservices/${serviceId}/instances/${instanceId}`)).status;
  }

  find(name: string, consumerId?: string, app = 'default') {
    const q = `/instances?appId=${encodeURIComponent(app)}&serviceName=${encodeURIComponent(name)}`;
    return this.call('GET', q, undefined, consumerId ? { 'x-consumerid': consumerId } : {});
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
