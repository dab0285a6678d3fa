/**
 * @module sidecar/config-center/kie-poll
 * One config-center server, as the sidecar's watch loop (./source.ts) sees it: `poll()`, one
 * long-poll round of ServiceComb Kie's `GET /v1/{project}/kie/kv?revision=&wait=` for the KVs
 * that apply to this sidecar's labels, answered `changed: false` on 304.
 *
 * Why not api-client's ConfigCenterClient (the CLI's): that one sits on the global `fetch`, and
 * the first fetch in a process loads Node's bundled copy of undici and compiles its llhttp WASM,
 * +10 MB RSS (bench/memory, docs/benchmarks.md "Memory") on top of the npm undici the registry
 * client already loaded. This poller rides the registry client's transport (npm undici Agent,
 * per-attempt timeout, response cap) instead. The query and the KV mapping follow
 * src/api-client/config-center.ts; the result types are that module's (type-only import).
 */
import type { Kv, KvPage, Labels, PollResult } from '../../api-client/config-center.ts';
import { decodeKv } from '../../api-client/kv-wire.ts';
import { RegistryTransport } from '../registry-client/http-transport.ts';

export interface KiePollQuery {
  readonly labels: Labels;
  /** Only KVs whose status is enabled. */
  readonly status?: 'enabled' | 'disabled';
  /** The revision the caller has; undefined asks for the current state at once. */
  readonly revision?: number;
  /** How long the server may hold the request for a change, ms. */
  readonly waitMs?: number;
  readonly signal?: AbortSignal;
}

export interface KiePoller {
  readonly baseUrl: string;
  poll(q: KiePollQuery): Promise<PollResult>;
  /** Close the pooled connections. Safe to call twice. */
  close(): Promise<void>;
}

export interface KiePollerOptions {
  readonly baseUrl: string;
  /** Kie project (default "default"). */
  readonly project?: string;
  /** X-Domain-Name (default "default"). */
  readonly domain?: string;
  /** Per-request timeout without a wait, ms (default 10 s); a long poll adds its wait to it. */
  readonly timeoutMs?: number;
}

/** Error for an answer that is neither 200 with a KV list nor 304. */
export class KiePollError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly url: string,
  ) {
    super(message);
    this.name = 'KiePollError';
  }
}

export function createKiePoller(opts: KiePollerOptions): KiePoller {
  const u = new URL(opts.baseUrl);
  const origin = u.origin;
  const prefix = u.pathname.replace(/\/+$/, '');
  const path = `${prefix}/v1/${encodeURIComponent(opts.project ?? 'default')}/kie/kv`;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const transport = new RegistryTransport({
    addresses: [origin],
    domain: opts.domain ?? 'default',
    timeoutMs,
    userAgent: 'mesher-sidecar-config',
  });
  let closing: Promise<void> | undefined;
  return {
    baseUrl: opts.baseUrl,
    async poll(q) {
      const query = new URLSearchParams();
      for (const [k, v] of Object.entries(q.labels)) if (v !== '') query.append('label', `${k}:${v}`);
      query.set('match', 'applicable');
      if (q.status) query.set('status', q.status);
      if (q.revision !== undefined) query.set('revision', String(q.revision));
      if (q.waitMs !== undefined) query.set('wait', `${Math.max(1, Math.round(q.waitMs))}ms`);
      const url = `${origin}${path}`;
      const res = await transport.request({
        method: 'GET',
        path: `${path}?${query}`,
        // The server holds the request for up to waitMs: allow that plus a margin.
        timeoutMs: q.waitMs === undefined ? timeoutMs : q.waitMs + 10_000,
        ...(q.signal ? { signal: q.signal } : {}),
      });
      const revision = revisionOf(res.headers['x-kie-revision']);
      if (res.status === 304) return { changed: false, revision };
      if (res.status !== 200)
        throw new KiePollError(
          `config center ${url} answered ${res.status}: ${res.text.slice(0, 200)}`,
          res.status,
          url,
        );
      return { changed: true, ...toPage(res.text, revision, url) };
    },
    close() {
      closing ??= transport.close();
      return closing;
    },
  };
}

function revisionOf(raw: string | string[] | undefined): number {
  const one = Array.isArray(raw) ? raw[0] : raw;
  const n = one === undefined ? Number.NaN : Number(one);
  return Number.isInteger(n) ? n : -1;
}

function toPage(text: string, revision: number, url: string): KvPage {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new KiePollError(`config center ${url}: the answer is not JSON`, 200, url);
  }
  if (typeof body !== 'object' || body === null)
    throw new KiePollError(`config center ${url}: expected a KV list`, 200, url);
  const b = body as Record<string, unknown>;
  const data = Array.isArray(b.data) ? b.data.map((d) => toKv(d, url)) : [];
  return { total: typeof b.total === 'number' ? b.total : data.length, data, revision };
}

function toKv(v: unknown, url: string): Kv {
  const kv = decodeKv(v);
  if (kv === null) throw new KiePollError(`config center ${url}: expected a KV with id and key`, 200, url);
  return kv;
}
