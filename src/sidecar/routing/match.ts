/**
 * @module sidecar/routing/match
 * Matching a rule's `match` block. Compiled once per table (./parse.ts calls `compileMatch`);
 * the per-request part, `matchesRequest`, walks the flat header list with a case-insensitive
 * comparison that allocates nothing, and looks at the path without copying it.
 *
 * The caller's side (`source`, `sourceTags`) does not change between requests on one sidecar's
 * outbound side (the caller is our own service), so `matchesCaller` is evaluated once when a
 * Router is built and rules that cannot match are dropped then. The original never filled in the
 * caller on outbound calls, so those conditions never matched there.
 */
import { compileHeader, compilePath, type Predicate } from './operators.ts';
import type { CallerIdentity, MatchSpec, RequestView } from './types.ts';

export interface CompiledHeader {
  /** Lower-case name. */
  readonly name: string;
  readonly test: Predicate;
}

export interface CompiledMatch {
  readonly headers: readonly CompiledHeader[];
  /** Upper-case methods, or undefined for any method. */
  readonly methods: ReadonlySet<string> | undefined;
  readonly path: Predicate | undefined;
  /** A referenced marker's alternatives: at least one must hold. */
  readonly refer: readonly CompiledMatch[] | undefined;
  /** True when there is nothing to check per request (the rule matches every call). */
  readonly always: boolean;
}

/** `servicecomb.match` markers by name: each a list of alternative match blocks (./markers.ts). */
export type Markers = ReadonlyMap<string, readonly MatchSpec[]>;

/** Compile a normalised match block; every problem comes back as `{ at, message }`. */
export function compileMatch(
  spec: MatchSpec,
  markers?: Markers,
): { match: CompiledMatch } | { errors: Array<{ at: string; message: string }> } {
  const errors: Array<{ at: string; message: string }> = [];
  const headers: CompiledHeader[] = [];
  for (const [name, h] of Object.entries(spec.headers ?? {})) {
    const c = compileHeader(h);
    if ('errors' in c) for (const m of c.errors) errors.push({ at: `match.headers.${name}`, message: m });
    else headers.push(Object.freeze({ name, test: c.test }));
  }
  let path: Predicate | undefined;
  if (spec.path !== undefined) {
    const p = compilePath(spec.path);
    if (typeof p === 'string') errors.push({ at: 'match.path', message: p });
    else path = p;
  }
  let refer: CompiledMatch[] | undefined;
  if (spec.refer !== undefined) {
    const alts = markers?.get(spec.refer);
    if (alts === undefined) {
      errors.push({ at: 'match.refer', message: `no servicecomb.match.${spec.refer} is defined` });
    } else {
      refer = [];
      for (const alt of alts) {
        const c = compileMatch(alt); // markers cannot refer to markers
        if ('errors' in c) errors.push(...c.errors.map((e) => ({ at: 'match.refer', message: e.message })));
        else refer.push(c.match);
      }
    }
  }
  if (errors.length > 0) return { errors };
  const methods = spec.method === undefined ? undefined : new Set(spec.method);
  return {
    match: Object.freeze({
      headers: Object.freeze(headers),
      methods,
      path,
      refer: refer && Object.freeze(refer),
      always: headers.length === 0 && methods === undefined && path === undefined && refer === undefined,
    }),
  };
}

/** The caller's value for one source tag: `version`, `app`, else a property. */
function callerTag(caller: CallerIdentity, key: string): string | undefined {
  if (key === 'version') return caller.version;
  if (key === 'app') return caller.app;
  const props = caller.properties;
  return props !== undefined && Object.hasOwn(props, key) ? props[key] : undefined;
}

/** `source` and `sourceTags` against the caller (evaluated once per Router, not per request). */
export function matchesCaller(spec: MatchSpec, caller: CallerIdentity): boolean {
  if (spec.source !== undefined && spec.source !== caller.service) return false;
  for (const [k, v] of Object.entries(spec.sourceTags ?? {})) {
    if (callerTag(caller, k) !== v) return false;
  }
  return true;
}

/** ASCII case-insensitive `a == lower` where `lower` is already lower-case; no allocation. */
function sameName(a: string, lower: string): boolean {
  if (a.length !== lower.length) return false;
  for (let i = 0; i < a.length; i++) {
    let c = a.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * The first value of header `lower` in a flat `[name, value, ...]` list, or '' when absent (the
 * original treated an absent header as the empty string). Multi-valued headers: the first one,
 * as Go's `Header.Get`.
 */
export function headerValue(headers: readonly string[], lower: string): string {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (sameName(headers[i]!, lower)) return headers[i + 1]!;
  }
  return '';
}

/** The per-request part of a match: method, path, headers. */
export function matchesRequest(m: CompiledMatch, req: RequestView): boolean {
  if (m.always) return true;
  if (m.methods !== undefined && !m.methods.has(req.method)) return false;
  if (m.path !== undefined && !m.path(req.path)) return false;
  const hs = m.headers;
  for (let i = 0; i < hs.length; i++) {
    const h = hs[i]!;
    if (!h.test(headerValue(req.headers, h.name))) return false;
  }
  const alts = m.refer;
  if (alts === undefined) return true;
  for (let i = 0; i < alts.length; i++) if (matchesRequest(alts[i]!, req)) return true;
  return false;
}
