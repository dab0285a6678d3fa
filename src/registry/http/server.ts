/**
 * @module registry/http/server
 * The HTTP edge: reads bodies under per-route limits, parses JSON, resolves the tenant, routes,
 * and writes service-center's response shapes (JSON object, empty 200, 304, error envelope,
 * plain-text 404, 405 + Allow). Handlers never see raw sockets; errors are mapped here only.
 * An optional RequestObserver (metrics) hears when each request starts and is answered, with the
 * matched Route object (its pattern, never the raw path), so it can keep pre-bound counters.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../shared/log.ts';
import { isRegistryError, RegistryError } from '../errors.ts';
import { isStoreError } from '../storage/types.ts';
import { TENANT_RE } from '../validate.ts';
import type { ApiRequest, ApiResponse, Match, Route, Router } from './router.ts';

export const DEFAULT_BODY_LIMIT = 2 * 1024 * 1024;
/** Past this, an oversized body is no longer drained: the connection is dropped. */
const DRAIN_LIMIT = 16 * 1024 * 1024;
const JSON_TYPE = 'application/json; charset=UTF-8';
const TEXT_TYPE = 'text/plain; charset=UTF-8';

/** Map a v3 or unprefixed path onto the v4 route table. */
export function normalisePath(path: string): { path: string; apiVersion: 'v3' | 'v4' } {
  if (path.startsWith('/registry/v3/'))
    return { path: `/v4/default/registry/${path.slice('/registry/v3/'.length)}`, apiVersion: 'v3' };
  if (path === '/version' || path === '/health')
    return { path: `/v4/default/registry${path}`, apiVersion: 'v4' };
  return { path, apiVersion: 'v4' };
}

/**
 * Hears every request the handler answers (the registry's metrics). Both calls are made on the
 * request path: keep them to a few field updates.
 */
export interface RequestObserver {
  /** A request arrived; the value is handed back to `finished` (e.g. a start time). */
  started(): number;
  /**
   * It was answered (or failed) with `status`. `route` is the matched route, or null when no route
   * matched (404) or only with another method (405); `method` is then the request's own.
   */
  finished(route: Route | null, method: string, status: number, startedAt: number): void;
}

export function createRequestHandler(router: Router, log: Logger, observer?: RequestObserver) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const startedAt = observer ? observer.started() : 0;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const { path, apiVersion } = normalisePath(q < 0 ? url : url.slice(0, q));
    const method = req.method ?? 'GET';
    const m = router.match(method, path);
    const done = handle(m, url, q, apiVersion, req, res).catch((err: unknown) => {
      log.error({ err }, 'request handler failed');
      if (!res.headersSent) sendError(res, new RegistryError(500003, 'unexpected error'));
      else res.destroy();
    });
    if (observer)
      void done.then(() =>
        observer.finished(m.kind === 'found' ? m.route : null, method, res.statusCode, startedAt),
      );
  };
}

async function handle(
  m: Match,
  url: string,
  q: number,
  apiVersion: 'v3' | 'v4',
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (m.kind === 'none') {
    req.resume();
    res.writeHead(404, { 'content-type': TEXT_TYPE });
    res.end('404 page not found');
    return;
  }
  if (m.kind === 'method') {
    req.resume();
    res.writeHead(405, { allow: m.allow.join(', '), 'content-type': TEXT_TYPE });
    res.end('405 method not allowed');
    return;
  }
  const limit = m.route.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const raw = await readBody(req, limit);
  if (raw === null) {
    sendError(res, new RegistryError(413001, `request body is larger than ${limit} bytes`), true);
    return;
  }
  try {
    const domainHeader =
      apiVersion === 'v3'
        ? (req.headers['x-tenant-name'] ?? req.headers['x-domain-name'])
        : req.headers['x-domain-name'];
    const domain = (Array.isArray(domainHeader) ? domainHeader[0] : domainHeader) || 'default';
    const project = m.params.project || 'default';
    if (!TENANT_RE.test(domain)) throw new RegistryError(400001, "invalid field 'X-Domain-Name'");
    if (!TENANT_RE.test(project)) throw new RegistryError(400001, "invalid field 'project'");
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        throw new RegistryError(400001, `Unmarshal error: body: ${(err as Error).message}`);
      }
    }
    const apiReq: ApiRequest = {
      method: req.method ?? 'GET',
      params: m.params,
      query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)),
      headers: req.headers,
      tenant: `${domain}/${project}`,
      body,
      apiVersion,
    };
    send(res, (await m.route.handler(apiReq)) ?? {});
  } catch (err) {
    if (isRegistryError(err)) sendError(res, err);
    else if (isStoreError(err)) sendError(res, new RegistryError(500011, err.message));
    else throw err;
  }
}

/** Read the whole body, or null if it passes `limit` (the rest is drained, up to a hard cap). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    const chunks: Buffer[] = [];
    let size = 0;
    let over = declared > limit;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      if (over) {
        chunks.length = 0;
        if (size > DRAIN_LIMIT) {
          resolve(null);
          req.destroy();
        }
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, r: ApiResponse): void {
  const headers: Record<string, string> = { ...r.headers };
  const status = r.status ?? 200;
  if (status === 304) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  if (r.body === undefined && r.json === undefined) {
    headers['content-type'] ??= TEXT_TYPE; // a text body may name its own (Prometheus text)
    res.writeHead(status, headers);
    res.end(r.text ?? '');
    return;
  }
  const text = r.json ?? JSON.stringify(r.body);
  headers['content-type'] = JSON_TYPE;
  headers['content-length'] = String(Buffer.byteLength(text));
  res.writeHead(status, headers);
  res.end(text);
}

function sendError(res: ServerResponse, err: RegistryError, close = false): void {
  const text = JSON.stringify(err.toBody());
  const headers: Record<string, string> = {
    'content-type': JSON_TYPE,
    'content-length': String(Buffer.byteLength(text)),
  };
  if (close) headers.connection = 'close';
  res.writeHead(err.status, headers);
  res.end(text);
}
