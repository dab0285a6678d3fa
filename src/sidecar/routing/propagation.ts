/**
 * @module sidecar/routing/propagation
 * Canary that follows the call chain (issue 5 item 3). For `client → server1 → server2` to stay on
 * canary versions, server1's outbound call to server2 must carry the routing header the client
 * sent server1. Two ways, documented in docs/routing.md:
 *
 * 1. The app forwards the header itself, as it forwards trace headers. Always works; no sidecar
 *    state.
 * 2. `servicecomb.router.propagate: [x-canary]`: the sidecar remembers the listed headers of each
 *    inbound request under the request's correlation id, and copies them onto outbound calls the
 *    app makes with the same correlation id (when the call does not carry the header already).
 *
 * The honest limit of (2): a proxy cannot tell which inbound request an outbound call belongs to
 * unless the app passes *something* along. The correlation id is the W3C trace id (`traceparent`,
 * whose span id changes per hop but trace id does not), else `x-request-id`, else `x-b3-traceid`
 * (configurable). Apps that already propagate tracing headers need no change; apps that
 * propagate nothing must forward the routing header themselves (1).
 *
 * Memory is bounded: at most `maxEntries` correlation ids (least recently recorded evicted first),
 * each forgotten `ttlMs` after its request arrived; values longer than 1 KiB are not kept.
 */
import type { Clock } from '../../shared/clock.ts';
import { headerValue } from './match.ts';
import type { RouteIssue } from './types.ts';
import { isPlainObject, readInt } from './values.ts';

export interface PropagationConfig {
  /** Lower-case header names to carry from an inbound request to the app's outbound calls. Empty = off. */
  readonly headers: readonly string[];
  /** Lower-case headers whose value identifies a request across the app; `traceparent` = its trace id. */
  readonly correlationHeaders: readonly string[];
  /** How long a recorded request's headers stay available, ms. */
  readonly ttlMs: number;
  /** Most requests remembered at once. */
  readonly maxEntries: number;
}

/** Defaults: off; trace id, then request id; a minute; ten thousand requests (~2 MB at most). */
export const DEFAULT_PROPAGATION: PropagationConfig = Object.freeze({
  headers: Object.freeze([]),
  correlationHeaders: Object.freeze(['traceparent', 'x-request-id', 'x-b3-traceid']),
  ttlMs: 60_000,
  maxEntries: 10_000,
});

export const MAX_VALUE_CHARS = 1024;
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

function headerList(v: unknown, key: string, issues: RouteIssue[]): string[] | undefined {
  const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v;
  if (!Array.isArray(list) || list.length > 32) {
    issues.push({ key, message: 'must be a list of at most 32 header names (or a comma-separated string)' });
    return undefined;
  }
  const out = list.filter((x) => x !== '').map((x) => String(x).toLowerCase());
  const bad = out.filter((x) => !TOKEN.test(x));
  if (bad.length > 0) {
    issues.push({ key, message: `not header names: ${bad.map((b) => JSON.stringify(b)).join(', ')}` });
    return undefined;
  }
  return [...new Set(out)];
}

/** Read `servicecomb.router.propagate` and `servicecomb.router.propagation.*` from the flat config. */
export function parsePropagation(flat: Readonly<Record<string, unknown>>): {
  config: PropagationConfig;
  issues: RouteIssue[];
} {
  const issues: RouteIssue[] = [];
  const get = (k: string) => flat[`servicecomb.${k}`] ?? flat[`cse.${k}`];
  const cfg: { -readonly [K in keyof PropagationConfig]: PropagationConfig[K] } = { ...DEFAULT_PROPAGATION };
  const p = get('router.propagate');
  if (p !== undefined) cfg.headers = headerList(p, 'servicecomb.router.propagate', issues) ?? [];
  const c = get('router.propagation.correlationHeaders');
  if (c !== undefined) {
    const list = headerList(c, 'servicecomb.router.propagation.correlationHeaders', issues);
    if (list?.length === 0) {
      issues.push({ key: 'servicecomb.router.propagation.correlationHeaders', message: 'must not be empty' });
    } else if (list) cfg.correlationHeaders = list;
  }
  for (const [name, min, max] of [
    ['ttlMs', 1, 3_600_000],
    ['maxEntries', 1, 1_000_000],
  ] as const) {
    const raw = get(`router.propagation.${name}`);
    if (raw === undefined || isPlainObject(raw)) continue;
    const r = readInt(raw, min, max);
    if (r.ok) cfg[name] = r.value;
    else issues.push({ key: `servicecomb.router.propagation.${name}`, message: r.message });
  }
  return { config: Object.freeze(cfg), issues };
}

interface Entry {
  /** Flat [name, value, ...] of the headers to copy. */
  readonly headers: readonly string[];
  readonly expiresAt: number;
}

/** The correlation id of a request, or undefined. `traceparent` contributes its trace id only. */
export function correlationId(headers: readonly string[], names: readonly string[]): string | undefined {
  for (const name of names) {
    const v = headerValue(headers, name);
    if (v === '') continue;
    if (name === 'traceparent') {
      const m = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}/.exec(v.trim());
      if (m && m[1] !== '00000000000000000000000000000000') return `t:${m[1]}`;
      continue;
    }
    if (v.length <= MAX_VALUE_CHARS) return `${name}:${v}`;
  }
  return undefined;
}

/**
 * Shared by the inbound and outbound route steps of one sidecar: `record` on inbound requests,
 * `apply` on the app's outbound calls. Synchronous, O(headers) per call.
 */
export class PropagationStore {
  readonly config: PropagationConfig;
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();

  constructor(config: PropagationConfig, clock: Clock) {
    this.config = config;
    this.#clock = clock;
  }

  get enabled(): boolean {
    return this.config.headers.length > 0;
  }

  /** Requests currently remembered. */
  get size(): number {
    return this.#entries.size;
  }

  /** Inbound: remember this request's propagated headers under its correlation id. */
  record(headers: readonly string[]): boolean {
    if (!this.enabled) return false;
    const id = correlationId(headers, this.config.correlationHeaders);
    if (id === undefined) return false;
    const kept: string[] = [];
    for (const name of this.config.headers) {
      const v = headerValue(headers, name);
      if (v !== '' && v.length <= MAX_VALUE_CHARS) kept.push(name, v);
    }
    if (kept.length === 0) return false;
    const now = this.#clock.now();
    this.#sweep(now);
    this.#entries.delete(id); // re-insert at the young end
    this.#entries.set(id, { headers: kept, expiresAt: now + this.config.ttlMs });
    while (this.#entries.size > this.config.maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value as string);
    }
    return true;
  }

  /**
   * Outbound: append the recorded headers that `headers` lacks. Returns how many were added
   * (0 when the call has no correlation id, or its request was not recorded or has expired).
   */
  apply(headers: string[]): number {
    if (!this.enabled || this.#entries.size === 0) return 0;
    const id = correlationId(headers, this.config.correlationHeaders);
    if (id === undefined) return 0;
    const entry = this.#entries.get(id);
    if (entry === undefined) return 0;
    if (entry.expiresAt <= this.#clock.now()) {
      this.#entries.delete(id);
      return 0;
    }
    let added = 0;
    for (let i = 0; i < entry.headers.length; i += 2) {
      const name = entry.headers[i]!;
      if (headerValue(headers, name) !== '') continue; // the app's own value wins
      headers.push(name, entry.headers[i + 1]!);
      added++;
    }
    return added;
  }

  /** Drop expired entries from the old end (insertion order = arrival order). */
  #sweep(now: number): void {
    for (const [id, e] of this.#entries) {
      if (e.expiresAt > now) break;
      this.#entries.delete(id);
    }
  }
}
