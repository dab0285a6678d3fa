/**
 * @module registry/api/shape
 * Go `omitempty` at the response level: an empty list is `{}`, not `{"services":[]}`; and the
 * revision / 304 handshake shared by find, list and get-one.
 */
import type { ApiRequest, ApiResponse } from '../http/router.ts';

export function list<K extends string>(key: K, items: readonly unknown[]): Partial<Record<K, unknown[]>> {
  return items.length > 0 ? ({ [key]: items } as Record<K, unknown[]>) : {};
}

/** The caller's last revision: `?rev` (service-center) or the `X-Resource-Revision` header (improve). */
export function seenRevision(r: ApiRequest): string {
  const q = r.query.get('rev');
  if (q) return q;
  const h = r.headers['x-resource-revision'];
  return (Array.isArray(h) ? h[0] : h) ?? '';
}

/** 304 with the revision when the caller is up to date, else the JSON text with the revision. */
export function withRevision(r: ApiRequest, rev: string, json: string): ApiResponse {
  const headers = { 'X-Resource-Revision': rev };
  return seenRevision(r) === rev ? { status: 304, headers } : { json, headers };
}

export function header(r: ApiRequest, name: string): string | undefined {
  const h = r.headers[name];
  return (Array.isArray(h) ? h[0] : h) || undefined;
}
