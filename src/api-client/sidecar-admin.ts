/**
 * @module api-client/sidecar-admin
 * Typed calls to a sidecar's admin API (`rest-admin` listener, default 127.0.0.1:30102):
 * version, health (a red 503 is an answer, not an error), the discovery cache, the effective
 * config, and the route rules (`/v1/mesher/routeRule/{service}` as in the original, plus the full
 * table at `/v1/mesher/routes`; both answer `undefined` when the sidecar has none / no such endpoint).
 */
import { isApiError } from './errors.ts';
import { expectObject, Http, type HttpOptions } from './http.ts';

export interface SidecarHealth {
  readonly ok: boolean;
  readonly serviceName: string;
  readonly version: string;
  readonly status: string;
  readonly checks: unknown;
}

export interface SidecarVersion {
  readonly name: string;
  readonly version: string;
  readonly commit: string;
  readonly node: string;
}

export interface TrackedService {
  readonly serviceName: string;
  readonly app: string;
  readonly endpoints: ReadonlyArray<{ instanceId: string; host: string; port: number; version: string }>;
}

/** The effective config as the sidecar shows it (secrets masked); `flat` holds every key. */
export interface SidecarConfigView {
  readonly service?: { name?: string; app?: string; version?: string; environment?: string };
  readonly flat: Readonly<Record<string, unknown>>;
  readonly [k: string]: unknown;
}

export class SidecarAdminClient {
  readonly #http: Http;

  constructor(opts: HttpOptions) {
    this.#http = new Http(opts);
  }

  get url(): string {
    return this.#http.baseUrl;
  }

  async version(): Promise<SidecarVersion> {
    const path = '/v1/mesher/version';
    const b = expectObject(await this.#http.request({ method: 'GET', path }), 'a version', path);
    return {
      name: String(b.name ?? ''),
      version: String(b.version ?? ''),
      commit: String(b.commit ?? ''),
      node: String(b.node ?? ''),
    };
  }

  async health(): Promise<SidecarHealth> {
    const path = '/v1/mesher/health';
    const reply = await this.#http.request({ method: 'GET', path, ok: [503] });
    const b = expectObject(reply, 'a health report', path);
    return {
      ok: reply.status === 200,
      serviceName: String(b.serviceName ?? ''),
      version: String(b.version ?? ''),
      status: String(b.status ?? ''),
      checks: b.checks,
    };
  }

  async instances(service?: string): Promise<TrackedService[]> {
    const path = '/v1/mesher/instances';
    const query = service ? new URLSearchParams({ service }) : undefined;
    const b = expectObject(
      await this.#http.request({ method: 'GET', path, query }),
      'the discovery cache',
      path,
    );
    return Array.isArray(b.services) ? (b.services as TrackedService[]) : [];
  }

  async config(): Promise<SidecarConfigView> {
    const path = '/v1/mesher/config';
    const b = expectObject(await this.#http.request({ method: 'GET', path }), 'a config', path);
    const flat = typeof b.flat === 'object' && b.flat !== null ? (b.flat as Record<string, unknown>) : {};
    return { ...b, flat };
  }

  /** The rules in force for calls to `service`, or undefined when it has none. */
  async routeRule(service: string): Promise<unknown[] | undefined> {
    return this.#optional(`/v1/mesher/routeRule/${encodeURIComponent(service)}`);
  }

  /** The full effective route table, or undefined if this sidecar does not serve it. */
  async routes(): Promise<unknown | undefined> {
    return this.#optional('/v1/mesher/routes');
  }

  async #optional<T>(path: string): Promise<T | undefined> {
    try {
      return (await this.#http.request({ method: 'GET', path })).body as T;
    } catch (err) {
      if (isApiError(err) && err.status === 404) return undefined;
      throw err;
    }
  }
}
