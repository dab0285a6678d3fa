/**
 * @module sidecar/governance/operators
 * String operators of a marker condition (Java chassis `RawOperator`: a map of operator → operand,
 * every operator must hold): `exact`, `prefix`, `suffix`, `contains`, `compare` and mesher's
 * bounded `regex`. Parsed and compiled once per config version; testing one allocates nothing
 * except for `regex`/`compare` on a path that carries a query string (one slice).
 *
 * Regex bound: JavaScript regexes backtrack, so a pattern is refused when it is longer than 512
 * characters, holds a back-reference, or repeats a group that itself repeats (`(a+)+`, the
 * classic catastrophic shape); and an input longer than 8 KiB never matches a regex.
 */
import type { Coerced } from '../policy/values.ts';
import type { CompareKind, Condition, StringOp } from './types.ts';
import { show } from './values.ts';

export const MAX_REGEX_CHARS = 512;
export const MAX_REGEX_INPUT = 8192;
const MAX_OPERAND_CHARS = 4096;

export const OPERATORS = ['exact', 'prefix', 'suffix', 'contains', 'compare', 'regex'] as const;

const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]/;
const BACKREFERENCE = /\\[1-9]|\\k</;
const COMPARE = /^\s*(>=|<=|!=|>|<|=|!)\s*(-?(?:\d+(?:\.\d*)?|\.\d+))\s*$/;

const bad = (message: string): Coerced<never> => ({ ok: false, message });

function compileRegex(pattern: string): Coerced<RegExp> {
  if (pattern.length > MAX_REGEX_CHARS)
    return bad(`regex is longer than ${MAX_REGEX_CHARS} characters (${pattern.length})`);
  if (NESTED_QUANTIFIER.test(pattern))
    return bad(`regex ${show(pattern)} repeats a repeated group, which can backtrack without bound`);
  if (BACKREFERENCE.test(pattern)) return bad(`regex ${show(pattern)} uses a back-reference`);
  try {
    return { ok: true, value: new RegExp(pattern) };
  } catch (err) {
    return bad(`regex ${show(pattern)} does not compile: ${(err as Error).message}`);
  }
}

/**
 * Parse a condition: `{ prefix: "/login" }`, `{ exact: "vip", ... }`. A bare string is read as
 * `exact` (a common shorthand). Messages name the operator and follow the key.
 */
export function parseCondition(raw: unknown): Coerced<Condition> {
  if (typeof raw === 'string' || typeof raw === 'number') {
    return { ok: true, value: Object.freeze([{ op: 'exact', value: String(raw) }] as StringOp[]) };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    return bad(`must be a map of operator to value, e.g. { prefix: "/api" } (got ${show(raw)})`);
  const ops: StringOp[] = [];
  for (const [name, operand] of Object.entries(raw)) {
    if (!(OPERATORS as readonly string[]).includes(name))
      return bad(`has unknown operator ${show(name)} (expected ${OPERATORS.join(', ')})`);
    if (typeof operand !== 'string' && typeof operand !== 'number')
      return bad(`${name} must be a string (got ${show(operand)})`);
    const value = String(operand);
    if (value.length > MAX_OPERAND_CHARS)
      return bad(`${name} is longer than ${MAX_OPERAND_CHARS} characters`);
    if (name === 'regex') {
      const re = compileRegex(value);
      if (!re.ok) return re;
      ops.push({ op: 'regex', value, re: re.value });
    } else if (name === 'compare') {
      const m = COMPARE.exec(value);
      if (!m)
        return bad(`compare must be >, <, =, >=, <=, != or ! and a number, e.g. ">=10" (got ${show(value)})`);
      const cmp = (m[1] === '!' ? '!=' : m[1]) as CompareKind;
      ops.push({ op: 'compare', value, cmp, n: Number(m[2]) });
    } else {
      ops.push({ op: name as 'exact' | 'prefix' | 'suffix' | 'contains', value });
    }
  }
  if (ops.length === 0) return bad('must hold at least one operator (an empty condition never matches)');
  return { ok: true, value: Object.freeze(ops) };
}

function compare(target: string, cmp: CompareKind, n: number): boolean {
  if (!/^\s*-?(\d+(\.\d*)?|\.\d+)\s*$/.test(target)) return false;
  const t = Number(target);
  switch (cmp) {
    case '>':
      return t > n;
    case '<':
      return t < n;
    case '>=':
      return t >= n;
    case '<=':
      return t <= n;
    case '=':
      return Math.abs(t - n) < 1e-6;
    case '!=':
      return Math.abs(t - n) >= 1e-6;
  }
}

/**
 * Whether `s.slice(0, end)` satisfies every operator of `cond`. `end` lets the caller test a
 * path without cutting off its query string first.
 */
export function testCondition(cond: Condition, s: string, end: number = s.length): boolean {
  for (let i = 0; i < cond.length; i++) {
    const c = cond[i]!;
    const v = c.value;
    switch (c.op) {
      case 'exact':
        if (end !== v.length || !s.startsWith(v)) return false;
        break;
      case 'prefix':
        if (v.length > end || !s.startsWith(v)) return false;
        break;
      case 'suffix':
        if (v.length > end || !s.endsWith(v, end)) return false;
        break;
      case 'contains': {
        const at = s.indexOf(v);
        if (at < 0 || at + v.length > end) return false;
        break;
      }
      case 'regex':
        if (end > MAX_REGEX_INPUT || !c.re.test(end === s.length ? s : s.slice(0, end))) return false;
        break;
      case 'compare':
        if (!compare(end === s.length ? s : s.slice(0, end), c.cmp, c.n)) return false;
        break;
    }
  }
  return true;
}
