/**
 * @module sidecar/governance/match
 * Matching a call against markers, and the per-direction index built once per config version.
 *
 * Which side a match rule belongs to follows Java chassis, where only the consumer knows the
 * called service (`serviceName` is null on the provider):
 *
 * - a rule **with** `serviceName` matches **outbound** calls to that service (consumer side);
 * - a rule **without** it matches **inbound** calls (provider side), as Java chassis applies
 *   rate limiting, circuit breaking and bulkheads in its provider handler.
 *
 * So a rule is evaluated on one side only: a marker never throttles the same call twice, nor an
 * app's unrelated outbound calls. `MarkerIndex.first(call)` costs, for a call no marker can match,
 * one Map lookup (outbound) or a walk of the inbound rules that stops at the first differing field
 * (method, then path, then headers, then query) — and allocates nothing.
 */
import type { CallContext, Direction } from '../chain/types.ts';
import { testCondition } from './operators.ts';
import type { Marker, MatchRule, NamedCondition } from './types.ts';

/** ASCII case-insensitive equality of a raw header name with an already lower-cased name. */
function sameHeaderName(raw: string, lower: string): boolean {
  if (raw.length !== lower.length) return false;
  for (let i = 0; i < raw.length; i++) {
    let c = raw.charCodeAt(i);
    if (c >= 65 && c <= 90) c |= 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** The first value of header `lower` in a flat `[name, value, ...]` list. */
export function headerValue(headers: readonly string[], lower: string): string | undefined {
  for (let i = 0; i + 1 < headers.length; i += 2)
    if (sameHeaderName(headers[i]!, lower)) return headers[i + 1];
  return undefined;
}

/** The first value of query parameter `name` in `path` (query starting after `q`), decoded. */
export function queryValue(path: string, q: number, name: string): string | undefined {
  let at = q + 1;
  while (at <= path.length) {
    let end = path.indexOf('&', at);
    if (end < 0) end = path.length;
    const eq = path.indexOf('=', at);
    const keyEnd = eq >= 0 && eq < end ? eq : end;
    if (keyEnd - at === name.length && path.startsWith(name, at)) {
      const raw = keyEnd === end ? '' : path.slice(keyEnd + 1, end);
      if (!raw.includes('%') && !raw.includes('+')) return raw;
      try {
        return decodeURIComponent(raw.replaceAll('+', ' '));
      } catch {
        return raw;
      }
    }
    at = end + 1;
  }
  return undefined;
}

// Two loops rather than one with a lookup callback: no closure per call on the request path.
function headersHold(list: readonly NamedCondition[], headers: readonly string[]): boolean {
  for (let i = 0; i < list.length; i++) {
    const v = headerValue(headers, list[i]!.name);
    if (v === undefined || !testCondition(list[i]!.condition, v)) return false;
  }
  return true;
}

function queriesHold(list: readonly NamedCondition[], path: string, q: number): boolean {
  for (let i = 0; i < list.length; i++) {
    const v = queryValue(path, q, list[i]!.name);
    if (v === undefined || !testCondition(list[i]!.condition, v)) return false;
  }
  return true;
}

/** Where the path part of `call.path` ends (the query's `?`, or its length). */
export function pathEnd(path: string): number {
  const q = path.indexOf('?');
  return q < 0 ? path.length : q;
}

/**
 * Whether one rule holds for `call` (its side already chosen by the caller). `end` =
 * `pathEnd(call.path)`, computed once per call by the caller.
 */
export function ruleMatches(rule: MatchRule, call: CallContext, end = pathEnd(call.path)): boolean {
  if (rule.unsupported) return false;
  const methods = rule.methods;
  if (methods !== undefined && !methods.includes(call.method)) return false;
  if (rule.apiPath !== undefined && !testCondition(rule.apiPath, call.path, end)) return false;
  if (rule.headers !== undefined && !headersHold(rule.headers, call.headers)) return false;
  if (rule.queries !== undefined && !queriesHold(rule.queries, call.path, end)) return false;
  return true;
}

/** Whether `marker` matches `call` seen from `direction` (see the module comment for sides). */
export function markerMatches(marker: Marker, call: CallContext, direction: Direction): boolean {
  for (const rule of marker.matches) {
    const side: Direction = rule.serviceName === undefined ? 'inbound' : 'outbound';
    if (side !== direction) continue;
    if (side === 'outbound' && rule.serviceName !== call.service) continue;
    if (ruleMatches(rule, call)) return true;
  }
  return false;
}

interface Entry<T> {
  readonly item: T;
  readonly rules: readonly MatchRule[];
}

/**
 * Items (policies) keyed by their marker, indexed per direction. Built once per config version;
 * `first` returns the first item, in the given order, whose marker matches the call.
 */
export class MarkerIndex<T> {
  readonly #outbound = new Map<string, Entry<T>[]>();
  readonly #inbound: Entry<T>[] = [];

  constructor(items: readonly { readonly item: T; readonly marker: Marker }[]) {
    for (const { item, marker } of items) {
      const inbound = marker.matches.filter((r) => r.serviceName === undefined && !r.unsupported);
      if (inbound.length > 0) this.#inbound.push({ item, rules: inbound });
      const byService = new Map<string, MatchRule[]>();
      for (const r of marker.matches) {
        if (r.serviceName === undefined || r.unsupported) continue;
        const list = byService.get(r.serviceName) ?? [];
        list.push(r);
        byService.set(r.serviceName, list);
      }
      for (const [svc, rules] of byService) {
        const list = this.#outbound.get(svc) ?? [];
        list.push({ item, rules });
        this.#outbound.set(svc, list);
      }
    }
  }

  /** Whether any rule can match calls in `direction` (no step is needed otherwise). */
  has(direction: Direction): boolean {
    return direction === 'inbound' ? this.#inbound.length > 0 : this.#outbound.size > 0;
  }

  first(call: CallContext): T | undefined {
    const entries = call.direction === 'inbound' ? this.#inbound : this.#outbound.get(call.service);
    if (entries === undefined) return undefined;
    const end = pathEnd(call.path);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      for (let j = 0; j < e.rules.length; j++) if (ruleMatches(e.rules[j]!, call, end)) return e.item;
    }
    return undefined;
  }
}
