/**
 * @module api-client/registry
 * Typed calls to the registry's public ServiceComb v4 API: list and get services, list a
 * service's instances, and find instances by app + name. Answers are decoded defensively (the
 * registry omits empty fields, Go-style) into the small shapes operators and the dashboard show.
 */
import { ApiError } from './errors.ts';
import { expectObject, Http, type HttpOptions } from './http.ts';

export interface ServiceInfo {
  readonly serviceId: string;
  readonly appId: string;
  readonly serviceName: string;
  readonly version: string;
  readonly environment: string;
  readonly status: string;
  readonly framework: string;
  readonly registerBy: string;
  readonly properties: Readonly<Record<string, string>>;
}

export interface InstanceInfo {
  readonly instanceId: string;
  readonly serviceId: string;
  readonly hostName: string;
  readonly endpoints: readonly string[];
  readonly status: string;
  readonly version: string;
  readonly properties: Readonly<Record<string, string>>;
}

export interface RegistryClientOptions extends HttpOptions {
  /** API project segment (default "default"). */
  readonly project?: string;
}

const str = (v: unknown): string =>
  typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
const strMap = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (typeof v === 'object' && v !== null)
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = str(x);
  return out;
};

function toService(v: unknown): ServiceInfo {
  const s = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  const fw = (s.framework ?? {}) as Record<string, unknown>;
  return {
    serviceId: str(s.serviceId),
    appId: str(s.appId),
    serviceName: str(s.serviceName),
    version: str(s.version),
    environment: str(s.environment),
    status: str(s.status),
    framework: [str(fw.name), str(fw.version)].filter(Boolean).join('/'),
    registerBy: str(s.registerBy),
    properties: strMap(s.properties),
  };
}

function toInstance(v: unknown): InstanceInfo {
  const i = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  return {
    instanceId: str(i.instanceId),
    serviceId: str(i.serviceId),
    hostName: str(i.hostName),
    endpoints: Array.isArray(i.endpoints) ? i.endpoints.map(str) : [],
    status: str(i.status),
    version: str(i.version),
    properties: strMap(i.properties),
  };
}

function listOf(body: Record<string, unknown>, field: string, url: string): unknown[] {
  const v = body[field];
  if (v === undefined) return []; // omitempty: an empty list is not sent
  if (!Array.isArray(v))
    throw new ApiError(200, 'BAD_RESPONSE', `expected '${field}' to be a list from ${url}`, url);
  return v;
}

export class RegistryClient {
  readonly #http: Http;
  readonly #base: string;

  constructor(opts: RegistryClientOptions) {
    this.#http = new Http(opts);
    this.#base = `/v4/${encodeURIComponent(opts.project ?? 'default')}/registry`;
  }

  get url(): string {
    return this.#http.baseUrl;
  }

  /** Every service of the tenant, sorted by app, name, version. */
  async listServices(): Promise<ServiceInfo[]> {
    const path = `${this.#base}/microservices`;
    const reply = await this.#http.request({ method: 'GET', path });
    const services = listOf(expectObject(reply, 'a service list', path), 'services', path).map(toService);
    return services.sort(
      (a, b) =>
        a.appId.localeCompare(b.appId) ||
        a.serviceName.localeCompare(b.serviceName) ||
        a.version.localeCompare(b.version, undefined, { numeric: true }),
    );
  }

  async getService(serviceId: string): Promise<ServiceInfo> {
    const path = `${this.#base}/microservices/${encodeURIComponent(serviceId)}`;
    const body = expectObject(await this.#http.request({ method: 'GET', path }), 'a service', path);
    return toService(body.service);
  }

  /** Instances registered under one service id. */
  async listInstances(serviceId: string): Promise<InstanceInfo[]> {
    const path = `${this.#base}/microservices/${encodeURIComponent(serviceId)}/instances`;
    const body = expectObject(await this.#http.request({ method: 'GET', path }), 'an instance list', path);
    return listOf(body, 'instances', path).map(toInstance);
  }

  /**
   * Discovery as a consumer sees it: instances of every version of `appId/serviceName`.
   * An unknown service is the registry's 400012 `ApiError`.
   */
  async findInstances(q: { appId?: string; serviceName: string; env?: string }): Promise<InstanceInfo[]> {
    const path = `${this.#base}/instances`;
    const query = new URLSearchParams({ appId: q.appId ?? 'default', serviceName: q.serviceName });
    if (q.env) query.set('env', q.env);
    const body = expectObject(
      await this.#http.request({ method: 'GET', path, query }),
      'an instance list',
      path,
    );
    return listOf(body, 'instances', path).map(toInstance);
  }
}
