/**
 * @module registry/http/router
 * A small path router: patterns like `/v4/:project/registry/microservices/:serviceId` are split
 * into segments once at start-up and grouped by segment count, so a lookup compares a handful of
 * routes. A path that matches with another method yields the allowed methods (for 405 + Allow).
 */
import type { IncomingHttpHeaders } from 'node:http';

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

export interface ApiRequest {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** `{domain}/{project}` */
  tenant: string;
  /** Parsed JSON body, or undefined when the body was empty. */
  body: unknown;
  apiVersion: 'v3' | 'v4';
}

export interface ApiResponse {
  status?: number;
  /** A JSON body; undefined means an empty 200 (text/plain), service-center style. */
  body?: unknown;
  headers?: Record<string, string>;
  /** A body already serialised as JSON (hot paths splice stored JSON instead of re-encoding). */
  json?: string;
  /** A plain-text body instead (e.g. the watcher's "Bad Request" for a GET without upgrade). */
  text?: string;
}

export type Handler = (req: ApiRequest) => ApiResponse | undefined | Promise<ApiResponse | undefined>;

export interface Route {
  method: Method;
  pattern: string;
  handler: Handler;
  /** Max body bytes (default 2 MB). */
  bodyLimit?: number;
}

interface Compiled {
  route: Route;
  segs: Array<{ literal: string } | { param: string }>;
}

export type Match =
  | { kind: 'found'; route: Route; params: Record<string, string> }
  | { kind: 'method'; allow: Method[] }
  | { kind: 'none' };

export class Router {
  readonly #bySize = new Map<number, Compiled[]>();

  constructor(routes: Route[]) {
    for (const route of routes) {
      const segs = route.pattern
        .split('/')
        .slice(1)
        .map((s) => (s.startsWith(':') ? { param: s.slice(1) } : { literal: s }));
      let list = this.#bySize.get(segs.length);
      if (!list) {
        list = [];
        this.#bySize.set(segs.length, list);
      }
      list.push({ route, segs });
    }
    // Literal segments win over params at the same position (e.g. /microservices/existence).
    for (const list of this.#bySize.values()) list.sort((a, b) => literalScore(b) - literalScore(a));
  }

  match(method: string, path: string): Match {
    const parts = path.split('/').slice(1);
    const candidates = this.#bySize.get(parts.length);
    if (!candidates) return { kind: 'none' };
    const allow: Method[] = [];
    for (const c of candidates) {
      const params = matchSegs(c.segs, parts);
      if (!params) continue;
      if (c.route.method === method) return { kind: 'found', route: c.route, params };
      if (!allow.includes(c.route.method)) allow.push(c.route.method);
    }
    return allow.length > 0 ? { kind: 'method', allow } : { kind: 'none' };
  }
}

function literalScore(c: Compiled): number {
  let score = 0;
  c.segs.forEach((s, i) => {
    if ('literal' in s) score += 2 ** (16 - i);
  });
  return score;
}

function matchSegs(segs: Compiled['segs'], parts: string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    const p = parts[i]!;
    if ('literal' in s) {
      if (s.literal !== p) return null;
    } else {
      let v: string;
      try {
        v = decodeURIComponent(p);
      } catch {
        return null;
      }
      params[s.param] = v;
    }
  }
  return params;
}
