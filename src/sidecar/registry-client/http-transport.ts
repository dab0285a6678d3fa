/**
 * @module sidecar/registry-client/http-transport
 * One JSON-over-HTTP call to the registry with failover, on node:http(s) keep-alive Agents (a
 * pool per origin, idle sockets closed after keepAliveTimeoutMs). Every call: X-Domain-Name,
 * per-attempt timeout covering headers and body, a cap on the response size. Transient failures
 * (connect errors, timeouts, 5xx) move on to the next address; anything else is returned to the
 * caller as is. Parsing envelopes is ./client.ts's job.
 *
 * node:http rather than npm undici (issue 7, docs/benchmarks.md "Memory"): the few calls a minute
 * a sidecar makes do not need undici's speed, and loading it cost the sidecar about 5 MB RSS (and
 * npm undici touches globalThis.Headers on load, which loads Node's bundled copy as well).
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { AddressPool } from './address-pool.ts';
import { RegistryError } from './errors.ts';

export interface TransportOptions {
  addresses: readonly string[];
  domain: string;
  /** Per-attempt timeout, ms (default 5000). */
  timeoutMs?: number;
  /** Largest response body accepted, bytes (default 16 MiB). */
  maxResponseBytes?: number;
  /** Idle keep-alive time of pooled connections, ms (default 4000: below common server timeouts). */
  keepAliveTimeoutMs?: number;
  userAgent?: string;
}

export interface TransportRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path and query, starting with '/'. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface TransportResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body as text ('' when empty). */
  text: string;
  address: string;
}

export class RegistryTransport {
  readonly pool: AddressPool;
  readonly domain: string;
  readonly #agents: { readonly http: http.Agent; readonly https: https.Agent };
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #userAgent: string;

  constructor(opts: TransportOptions) {
    this.pool = new AddressPool(opts.addresses);
    this.domain = opts.domain;
    this.#timeoutMs = opts.timeoutMs ?? 5000;
    this.#maxBytes = opts.maxResponseBytes ?? 16 * 1024 * 1024;
    this.#userAgent = opts.userAgent ?? 'mesher-sidecar';
    if (!(this.#timeoutMs > 0)) throw new RangeError('registry client timeoutMs must be > 0');
    // `timeout` on a keep-alive Agent closes a pooled socket idle that long (never one in use).
    const agentOpts = { keepAlive: true, maxSockets: 32, timeout: opts.keepAliveTimeoutMs ?? 4000 };
    this.#agents = { http: new http.Agent(agentOpts), https: new https.Agent(agentOpts) };
  }

  /**
   * Send the request to the current address, failing over on transient errors. Resolves with the
   * first non-transient answer (any status below 500); rejects with the last transient error when
   * every address failed.
   */
  async request(req: TransportRequest): Promise<TransportResponse> {
    let last: RegistryError | undefined;
    for (const address of this.pool.order()) {
      if (req.signal?.aborted) throw abortedError(address, req.signal.reason);
      try {
        const res = await this.#onceWithReconnect(address, req);
        if (res.status >= 500) {
          last = serverError(res);
          this.pool.markFailed(address);
          continue;
        }
        this.pool.markHealthy(address);
        return res;
      } catch (err) {
        const e = err as RegistryError;
        if (!e.transient) throw e;
        last = e;
        this.pool.markFailed(address);
      }
    }
    throw last ?? new RegistryError('unreachable', 'no registry address to try');
  }

  /**
   * A pooled keep-alive connection the registry closed (restart, idle timeout) fails the request
   * written on it with a socket error; that says nothing about the registry, so try once more on a
   * fresh connection before calling the address failed. Every call the sidecar makes is idempotent
   * (the instanceId is chosen client-side), so the repeat is safe.
   */
  async #onceWithReconnect(address: string, req: TransportRequest): Promise<TransportResponse> {
    try {
      return await this.#once(address, req);
    } catch (err) {
      const code = ((err as RegistryError).cause as { code?: string } | undefined)?.code;
      if ((err as RegistryError).kind !== 'unreachable' || !STALE_SOCKET_CODES.has(code ?? '')) throw err;
      return await this.#once(address, req);
    }
  }

  /** Close every pooled connection (a call still in flight fails as unreachable). */
  async close(): Promise<void> {
    this.#agents.http.destroy();
    this.#agents.https.destroy();
  }

  async #once(address: string, req: TransportRequest): Promise<TransportResponse> {
    const timeoutMs = req.timeoutMs ?? this.#timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.#userAgent,
      'x-domain-name': this.domain,
      ...req.headers,
    };
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] = 'application/json';
    }
    try {
      return await this.#send(address, req, headers, body, signal);
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      if (req.signal?.aborted) throw abortedError(address, err);
      if (timeout.aborted) {
        throw new RegistryError('timeout', `registry ${address} did not answer within ${timeoutMs} ms`, {
          address,
          cause: err,
        });
      }
      const code = (err as { code?: string }).code;
      throw new RegistryError(
        'unreachable',
        `registry ${address} unreachable: ${code ?? (err as Error).message}`,
        { address, cause: err },
      );
    }
  }

  /** One request on the pooled agent; the body read up to the cap. Rejects with the raw error. */
  #send(
    address: string,
    req: TransportRequest,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<TransportResponse> {
    const url = new URL(req.path, address);
    const secure = url.protocol === 'https:';
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    return new Promise((resolve, reject) => {
      const outgoing = (secure ? https : http).request(
        url,
        { method: req.method, headers, agent: secure ? this.#agents.https : this.#agents.http, signal },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > this.#maxBytes) {
              outgoing.destroy();
              reject(
                new RegistryError('protocol', `registry response larger than ${this.#maxBytes} bytes`, {
                  address,
                  status: res.statusCode,
                }),
              );
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers as IncomingHttpHeaders,
              text: Buffer.concat(chunks).toString('utf8'),
              address,
            }),
          );
          res.on('error', reject);
          // Cut mid-body (peer reset, abort): 'end' never comes.
          res.on('close', () => {
            if (!res.complete) reject(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' }));
          });
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }
}

const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE']);

function abortedError(address: string, cause: unknown): RegistryError {
  return new RegistryError('aborted', 'registry call aborted', { address, cause });
}

function serverError(res: TransportResponse): RegistryError {
  const env = parseEnvelope(res.text);
  return new RegistryError(
    'registry',
    env?.errorMessage
      ? `registry ${res.address}: ${env.errorMessage}`
      : `registry ${res.address} answered ${res.status}`,
    { address: res.address, status: res.status, errorCode: env?.errorCode, detail: env?.detail },
  );
}

/** The service-center error envelope `{errorCode, errorMessage, detail?}`, if `text` is one. */
export function parseEnvelope(
  text: string,
): { errorCode: string; errorMessage?: string; detail?: string } | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (v === null || typeof v !== 'object' || v.errorCode === undefined) return undefined;
    return {
      errorCode: String(v.errorCode),
      errorMessage: typeof v.errorMessage === 'string' ? v.errorMessage : undefined,
      detail: typeof v.detail === 'string' ? v.detail : undefined,
    };
  } catch {
    return undefined;
  }
}
