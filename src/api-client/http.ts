/**
 * @module api-client/http
 * The transport under every typed client: one `request()` on the global fetch (undici), with a
 * per-call timeout, an optional caller AbortSignal (long polls are cancelled with it), a capped
 * response body, JSON decoding, and every failure turned into an `ApiError`.
 */
import { ApiError, errorFromBody } from './errors.ts';

export interface HttpOptions {
  /** `http://host:port`, no trailing slash needed. */
  readonly baseUrl: string;
  /** Per-request timeout in ms (default 10 s). Long polls pass their own. */
  readonly timeoutMs?: number;
  /** Sent as X-Domain-Name (ServiceComb tenancy), default none (the server's "default"). */
  readonly domain?: string;
  /** Extra headers on every call (e.g. authorization). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface RequestSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly query?: URLSearchParams;
  readonly body?: unknown;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Statuses that are answers, not errors (default: 2xx only). */
  readonly ok?: readonly number[];
}

export interface HttpReply {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON, or undefined for an empty or non-JSON body. */
  readonly body: unknown;
  readonly text: string;
}

/** Larger answers are refused: no API here sends more, and a CLI must not balloon. */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

export class Http {
  readonly baseUrl: string;
  readonly #timeoutMs: number;
  readonly #headers: Record<string, string>;

  constructor(opts: HttpOptions) {
    let u: URL;
    try {
      u = new URL(opts.baseUrl);
    } catch {
      throw new ApiError(0, 'BAD_URL', `not a URL: '${opts.baseUrl}'`, opts.baseUrl);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new ApiError(0, 'BAD_URL', `not an http(s) URL: '${opts.baseUrl}'`, opts.baseUrl);
    this.baseUrl = `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#headers = { accept: 'application/json', ...opts.headers };
    if (opts.domain) this.#headers['x-domain-name'] = opts.domain;
  }

  async request(spec: RequestSpec): Promise<HttpReply> {
    const url = `${this.baseUrl}${spec.path}`;
    const qs = spec.query?.toString();
    const timeoutMs = spec.timeoutMs ?? this.#timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = spec.signal ? AbortSignal.any([spec.signal, timeout]) : timeout;
    const headers = { ...this.#headers };
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers['content-type'] = 'application/json';
    }
    let res: Response;
    let text: string;
    try {
      res = await fetch(qs ? `${url}?${qs}` : url, { method: spec.method, headers, body, signal });
      text = await readCapped(res, url);
    } catch (err) {
      throw transportError(err, url, timeout.aborted, timeoutMs, spec.signal);
    }
    let parsed: unknown;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    const fine = (res.status >= 200 && res.status < 300) || spec.ok?.includes(res.status);
    if (!fine) throw errorFromBody(res.status, parsed, text, url);
    return { status: res.status, headers: res.headers, body: parsed, text };
  }
}

async function readCapped(res: Response, url: string): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw new ApiError(res.status, 'BAD_RESPONSE', `answer larger than ${MAX_RESPONSE_BYTES} bytes`, url);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function transportError(
  err: unknown,
  url: string,
  timedOut: boolean,
  timeoutMs: number,
  callerSignal: AbortSignal | undefined,
): ApiError {
  if (err instanceof ApiError) return err;
  if (callerSignal?.aborted) return new ApiError(0, 'ABORTED', `request to ${url} was cancelled`, url, err);
  if (timedOut) return new ApiError(0, 'TIMEOUT', `no answer from ${url} within ${timeoutMs} ms`, url, err);
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err as Error).message;
  return new ApiError(0, 'UNREACHABLE', `cannot reach ${url}: ${why}`, url, err);
}

/** Plain JSON object or throw BAD_RESPONSE naming what was expected. */
export function expectObject(reply: HttpReply, what: string, url: string): Record<string, unknown> {
  const b = reply.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b))
    throw new ApiError(reply.status, 'BAD_RESPONSE', `expected ${what} from ${url}`, url);
  return b as Record<string, unknown>;
}
