/**
 * @module sidecar/routing/operators
 * Compiles the value operators of a route rule's `match` block into predicates, once per table.
 * Semantics follow go-chassis' marker package, with the differences listed here:
 *
 * - `regex` is unanchored (`/v2/` matches `xv2y`), compiled once, with the `i` flag under
 *   `caseInsensitive` (the original recompiled POSIX regexes per request).
 * - `less`/`noLess`/`greater`/`noGreater` compare decimal numbers (`-3`, `1.5`); a value that is
 *   not a number never matches (the original: integers only, same "not a number → no match").
 * - `caseInsensitive` folds case on both sides (the original upper-cased both; same result).
 * - A header that is absent is the empty string, as in the original: `noEqu: x` matches a
 *   request without the header, `exact: x` does not.
 */
import { HEADER_OPS, type HeaderOp, type HeaderSpec, type PathSpec } from './types.ts';

export type Predicate = (value: string) => boolean;

/** Patterns longer than this are refused: JS regexes backtrack, so keep operator input small. */
export const MAX_REGEX_LENGTH = 1024;

/**
 * The number a header value spells (decimal: `-3`, `+1.5`, `.5`; spaces around it allowed), or
 * NaN. Scans by hand: this runs per request, and `trim()` plus a regex would allocate.
 */
export function parseDecimal(raw: string): number {
  let start = 0;
  let end = raw.length;
  while (start < end && raw.charCodeAt(start) === 32) start++;
  while (end > start && raw.charCodeAt(end - 1) === 32) end--;
  let i = start;
  const sign = raw.charCodeAt(i);
  if (sign === 43 || sign === 45) i++; // + -
  let digits = 0;
  let dots = 0;
  for (; i < end; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 && dots === 0) dots++;
    else return Number.NaN;
  }
  if (digits === 0) return Number.NaN;
  return start === 0 && end === raw.length ? Number(raw) : Number(raw.slice(start, end));
}

/**
 * `value` equals `lower` (already lower-case) ignoring ASCII case, without allocating; falls back
 * to `toLowerCase()` when `value` has non-ASCII characters.
 */
export function equalsLower(value: string, lower: string): boolean {
  if (value.length !== lower.length) return hasNonAscii(value) && value.toLowerCase() === lower;
  for (let i = 0; i < value.length; i++) {
    let c = value.charCodeAt(i);
    if (c > 127) return value.toLowerCase() === lower;
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function hasNonAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return true;
  return false;
}

/** Compile a regex from config; returns an error message instead of throwing. */
export function compileRegex(pattern: string, flags = ''): RegExp | string {
  if (pattern.length > MAX_REGEX_LENGTH) return `regex is longer than ${MAX_REGEX_LENGTH} characters`;
  try {
    return new RegExp(pattern, flags);
  } catch (err) {
    return `invalid regex ${JSON.stringify(pattern)}: ${(err as Error).message}`;
  }
}

/** One operator of a header condition → a predicate over the (possibly lower-cased) value. */
export function compileOperator(op: HeaderOp, expected: string, ci: boolean): Predicate | string {
  const want = ci ? expected.toLowerCase() : expected;
  switch (op) {
    case 'exact':
      return ci ? (v) => equalsLower(v, want) : (v) => v === want;
    case 'noEqu':
      return ci ? (v) => !equalsLower(v, want) : (v) => v !== want;
    case 'contains':
      return (v) => v.includes(want);
    case 'regex': {
      const re = compileRegex(expected, ci ? 'i' : '');
      return typeof re === 'string' ? re : (v) => re.test(v);
    }
    default: {
      const n = parseDecimal(expected);
      if (Number.isNaN(n)) return `${op} needs a number, got ${JSON.stringify(expected)}`;
      if (op === 'less') return (v) => parseDecimal(v) < n;
      if (op === 'noLess') return (v) => parseDecimal(v) >= n;
      if (op === 'greater') return (v) => parseDecimal(v) > n;
      return (v) => parseDecimal(v) <= n; // noGreater
    }
  }
}

/**
 * Operators that need the request's value lower-cased under `caseInsensitive`: only `contains`
 * (exact/noEqu fold case while comparing, regex has the `i` flag, numbers have no case).
 */
const STRING_OPS: ReadonlySet<HeaderOp> = new Set(['contains']);

/** A whole header condition: every operator must hold. */
export function compileHeader(spec: HeaderSpec): { test: Predicate } | { errors: string[] } {
  const ci = spec.caseInsensitive === true;
  const onRaw: Predicate[] = [];
  const onLower: Predicate[] = [];
  const errors: string[] = [];
  for (const op of HEADER_OPS) {
    const value = spec[op];
    if (value === undefined) continue;
    const p = compileOperator(op, value, ci);
    if (typeof p === 'string') errors.push(p);
    else if (ci && STRING_OPS.has(op)) onLower.push(p);
    else onRaw.push(p);
  }
  if (errors.length > 0) return { errors };
  if (onLower.length === 0 && onRaw.length === 1) return { test: onRaw[0]! };
  if (onRaw.length === 0 && onLower.length === 1) {
    const only = onLower[0]!;
    return { test: (v) => only(v.toLowerCase()) };
  }
  return {
    test: (v) => {
      for (let i = 0; i < onRaw.length; i++) if (!onRaw[i]!(v)) return false;
      if (onLower.length === 0) return true;
      const lower = v.toLowerCase();
      for (let i = 0; i < onLower.length; i++) if (!onLower[i]!(lower)) return false;
      return true;
    },
  };
}

/** The end of the path part of an origin-form target (before `?`). */
export function pathEnd(path: string): number {
  const q = path.indexOf('?');
  return q === -1 ? path.length : q;
}

/** Compile a path condition; the predicate gets the full target and ignores the query string. */
export function compilePath(spec: PathSpec): Predicate | string {
  if (spec.exact !== undefined) {
    const want = spec.exact;
    return (p) => pathEnd(p) === want.length && p.startsWith(want);
  }
  if (spec.prefix !== undefined) {
    const want = spec.prefix;
    return (p) => pathEnd(p) >= want.length && p.startsWith(want);
  }
  const re = compileRegex(spec.regex ?? '');
  if (typeof re === 'string') return re;
  return (p) => {
    const end = pathEnd(p);
    return re.test(end === p.length ? p : p.slice(0, end));
  };
}
