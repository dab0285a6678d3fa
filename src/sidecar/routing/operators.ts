/**
 * @module sidecar/routing/operators
 * Compiles the value operators of a route rule's `match` block into predicates, once per table.
 * Semantics follow go-chassis' marker package, with the differences listed here:
 *
 * - `regex` is unanchored (`/v2/` matches `xv2y`), compiled once, with the `i` flag under
 *   `caseInsensitive` (the original recompiled POSIX regexes per request).
 * - `less`/`noLess`/`greater`/`noGreater` compare decimal numbers (`-3`, `1.5`); a value that is
 *   not a number never matches (the original: integers only, same "not a number → no match").
 * - `caseInsensitive` lower-cases both sides (the original upper-cased; same result).
 * - A header that is absent is the empty string, as in the original: `noEqu: x` matches a
 *   request without the header, `exact: x` does not.
 */
import { HEADER_OPS, type HeaderOp, type HeaderSpec, type PathSpec } from './types.ts';

export type Predicate = (value: string) => boolean;

/** Patterns longer than this are refused: JS regexes backtrack, so keep operator input small. */
export const MAX_REGEX_LENGTH = 1024;

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** The number a header value spells, or NaN. Whitespace around it is ignored. */
export function parseDecimal(raw: string): number {
  const s = raw.trim();
  return NUMBER.test(s) ? Number(s) : Number.NaN;
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
      return (v) => v === want;
    case 'noEqu':
      return (v) => v !== want;
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
 * A whole header condition: every operator must hold. Under `caseInsensitive` the request's value
 * is lower-cased once, for the string operators only (regex has the `i` flag, numbers have no case).
 */
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

const STRING_OPS: ReadonlySet<HeaderOp> = new Set(['exact', 'noEqu', 'contains']);

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
