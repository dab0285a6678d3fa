/**
 * @module sidecar/routing/parse-rule
 * Normalises one service's rule list (`[{precedence, match, route: [{tags, weight, ...}]}]`) into
 * frozen `RuleSpec`s, reporting every problem with its path (`servicecomb.routeRule.server2[0]
 * .route[1].weight: ...`). Unknown fields are errors: a typo in a routing rule silently sends
 * traffic elsewhere. Compiling (regexes, numbers) happens here too, so a rule that normalises
 * also compiles; ./table.ts compiles again from the frozen spec.
 */
import { parse as parseYaml } from 'yaml';
import { compileMatch, type Markers } from './match.ts';
import { parseRateLimit, parseRetry, parseTimeoutMs } from './parse-policy.ts';
import {
  HEADER_OPS,
  type HeaderSpec,
  type MatchSpec,
  PATH_OPS,
  type PathSpec,
  type RouteSpec,
  type RuleSpec,
} from './types.ts';
import { isPlainObject, readBool, readInt, readString, readStringMap, unknownKeys } from './values.ts';

/** Bounds: what one service's rules may hold. */
export const LIMITS = Object.freeze({
  yamlChars: 64 * 1024,
  rulesPerService: 64,
  routesPerRule: 32,
  headersPerMatch: 32,
  tagsPerRoute: 16,
  methods: 16,
});

export type Report = (at: string, message: string) => void;

const MATCH_FIELDS = ['source', 'sourceTags', 'headers', 'httpHeaders', 'method', 'path', 'apiPath', 'refer'];
const ROUTE_FIELDS = ['tags', 'weight', 'timeoutMs', 'retry', 'rateLimit'];
const METHOD = /^[A-Za-z]+$/;

/** YAML text (failsafe schema: scalars stay strings) or an already-parsed value → a raw list. */
export function readRuleSource(raw: unknown, report: Report): unknown[] | undefined {
  let value = raw;
  if (typeof raw === 'string') {
    if (raw.length > LIMITS.yamlChars) {
      report('', `is longer than ${LIMITS.yamlChars} characters`);
      return undefined;
    }
    try {
      value = parseYaml(raw, { schema: 'failsafe' });
    } catch (err) {
      report('', `is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
      return undefined;
    }
  }
  if (value === null || value === undefined || value === '') return [];
  if (!Array.isArray(value)) {
    report('', 'must be a list of rules ({precedence, match, route})');
    return undefined;
  }
  if (value.length > LIMITS.rulesPerService) {
    report('', `has ${value.length} rules; at most ${LIMITS.rulesPerService} per service`);
    return undefined;
  }
  return value;
}

function normaliseHeader(v: unknown, at: string, report: Report): HeaderSpec | undefined {
  if (!isPlainObject(v)) {
    report(at, `must be a map of operators (${HEADER_OPS.join(', ')}, caseInsensitive)`);
    return undefined;
  }
  const out: Record<string, string | boolean> = {};
  let good = true;
  for (const [op, raw] of Object.entries(v)) {
    if (op === 'caseInsensitive') {
      const b = readBool(raw);
      if (b.ok) out.caseInsensitive = b.value;
      else {
        report(`${at}.caseInsensitive`, b.message);
        good = false;
      }
    } else if ((HEADER_OPS as readonly string[]).includes(op)) {
      const s = readString(raw);
      if (s.ok) out[op] = s.value;
      else {
        report(`${at}.${op}`, s.message);
        good = false;
      }
    } else {
      report(at, `unknown operator ${JSON.stringify(op)} (known: ${HEADER_OPS.join(', ')}, caseInsensitive)`);
      good = false;
    }
  }
  if (good && !HEADER_OPS.some((op) => out[op] !== undefined)) {
    report(at, 'needs at least one operator');
    good = false;
  }
  return good ? (out as HeaderSpec) : undefined;
}

function normalisePath(v: unknown, at: string, report: Report): PathSpec | undefined {
  if (typeof v === 'string') return { exact: v };
  if (!isPlainObject(v) || Object.keys(v).length !== 1) {
    report(at, `must be a map with exactly one of ${PATH_OPS.join(', ')}`);
    return undefined;
  }
  const [op, raw] = Object.entries(v)[0]!;
  if (!(PATH_OPS as readonly string[]).includes(op)) {
    report(at, `unknown operator ${JSON.stringify(op)} (known: ${PATH_OPS.join(', ')})`);
    return undefined;
  }
  const s = readString(raw);
  if (!s.ok) {
    report(`${at}.${op}`, s.message);
    return undefined;
  }
  if (op !== 'regex' && !s.value.startsWith('/')) {
    report(`${at}.${op}`, `must start with "/", got ${JSON.stringify(s.value)}`);
    return undefined;
  }
  return { [op]: s.value } as PathSpec;
}

/**
 * A match block. `markers` are the `servicecomb.match` markers `refer` may name; undefined while
 * parsing the markers themselves (they may not refer, nor name a caller).
 */
export function normaliseMatch(
  v: unknown,
  at: string,
  report: Report,
  warn: Report,
  markers: Markers | undefined,
): MatchSpec | undefined {
  if (v === undefined || v === null || v === '') return {};
  if (!isPlainObject(v)) {
    report(at, 'must be a map');
    return undefined;
  }
  const before = { n: 0 };
  const r: Report = (a, m) => {
    before.n++;
    report(a, m);
  };
  const extra = unknownKeys(v, MATCH_FIELDS);
  if (extra) r(at, extra);
  const out: {
    source?: string;
    sourceTags?: Record<string, string>;
    headers?: Record<string, HeaderSpec>;
    method?: string[];
    path?: PathSpec;
    refer?: string;
  } = {};
  if (v.refer !== undefined) {
    const s = readString(v.refer);
    if (markers === undefined) r(`${at}.refer`, 'a servicecomb.match marker cannot refer to another');
    else if (!s.ok) r(`${at}.refer`, s.message);
    else if (!markers.has(s.value)) r(`${at}.refer`, `no servicecomb.match.${s.value} is defined`);
    else out.refer = s.value;
  }
  if (markers === undefined && (v.source !== undefined || v.sourceTags !== undefined)) {
    r(at, 'a servicecomb.match marker cannot match the caller (source, sourceTags)');
  }
  if (v.source !== undefined) {
    const s = readString(v.source);
    if (s.ok && s.value !== '') out.source = s.value;
    else if (!s.ok) r(`${at}.source`, s.message);
  }
  if (v.sourceTags !== undefined) {
    const t = readStringMap(v.sourceTags, LIMITS.tagsPerRoute, (k, n) =>
      warn(`${at}.sourceTags.${k}`, `YAML read this as the number ${n}; quote it to keep the spelling`),
    );
    if (t.ok) out.sourceTags = t.value;
    else r(`${at}.sourceTags`, t.message);
  }
  for (const field of ['headers', 'httpHeaders'] as const) {
    const hs = v[field];
    if (hs === undefined) continue;
    if (!isPlainObject(hs)) {
      r(`${at}.${field}`, 'must be a map of header names to conditions');
      continue;
    }
    for (const [name, cond] of Object.entries(hs)) {
      const lower = name.toLowerCase();
      if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(lower)) {
        r(`${at}.${field}.${name}`, 'is not a valid header name');
        continue;
      }
      const h = normaliseHeader(cond, `${at}.${field}.${name}`, r);
      if (h === undefined) continue;
      out.headers ??= {};
      if (out.headers[lower] !== undefined) r(`${at}.${field}.${name}`, 'is given twice (names ignore case)');
      else out.headers[lower] = h;
    }
  }
  if (out.headers && Object.keys(out.headers).length > LIMITS.headersPerMatch) {
    r(`${at}.headers`, `has more than ${LIMITS.headersPerMatch} conditions`);
  }
  if (v.method !== undefined) {
    const list = typeof v.method === 'string' ? v.method.split(',').map((s) => s.trim()) : v.method;
    if (!Array.isArray(list) || list.length === 0 || list.length > LIMITS.methods) {
      r(`${at}.method`, `must be a method or a list of 1–${LIMITS.methods} methods`);
    } else if (!list.every((m) => typeof m === 'string' && METHOD.test(m))) {
      r(`${at}.method`, `must hold method names, got ${JSON.stringify(list)}`);
    } else out.method = [...new Set(list.map((m) => (m as string).toUpperCase()))];
  }
  if (v.path !== undefined && v.apiPath !== undefined) r(at, 'give path or apiPath, not both');
  const path = v.path ?? v.apiPath;
  if (path !== undefined) {
    const p = normalisePath(path, `${at}.${v.path !== undefined ? 'path' : 'apiPath'}`, r);
    if (p) out.path = p;
  }
  if (before.n > 0) return undefined;
  const compiled = compileMatch(out, markers);
  if ('errors' in compiled) {
    for (const e of compiled.errors) report(`${at}${e.at.slice('match'.length)}`, e.message);
    return undefined;
  }
  return out;
}

function normaliseRoute(v: unknown, at: string, only: boolean, report: Report, warn: Report) {
  if (!isPlainObject(v)) {
    report(at, 'must be a map {tags, weight}');
    return undefined;
  }
  let good = true;
  const r: Report = (a, m) => {
    good = false;
    report(a, m);
  };
  const extra = unknownKeys(v, ROUTE_FIELDS);
  if (extra) r(at, extra);
  const tags = readStringMap(v.tags, LIMITS.tagsPerRoute, (k, n) =>
    warn(
      `${at}.tags.${k}`,
      `YAML read this as the number ${n}; quote it ("${k}: '1.0'") to keep the spelling`,
    ),
  );
  if (!tags.ok) r(`${at}.tags`, v.tags === undefined ? 'is required (e.g. {version: 2.0.0})' : tags.message);
  else if (Object.keys(tags.value).length === 0) r(`${at}.tags`, 'must name at least one tag');
  else if (Object.values(tags.value).some((t) => t === '')) r(`${at}.tags`, 'values must not be empty');
  let weight = 100;
  if (v.weight === undefined) {
    if (!only) r(`${at}.weight`, 'is required when a rule has more than one route');
  } else {
    const w = readInt(v.weight, 0, 100);
    if (w.ok) weight = w.value;
    else r(`${at}.weight`, w.message);
  }
  const out: {
    tags: Record<string, string>;
    weight: number;
    timeoutMs?: number;
    retry?: RouteSpec['retry'];
    rateLimit?: RouteSpec['rateLimit'];
  } = { tags: tags.ok ? tags.value : {}, weight };
  if (v.timeoutMs !== undefined) out.timeoutMs = parseTimeoutMs(v.timeoutMs, `${at}.timeoutMs`, r);
  if (v.retry !== undefined) out.retry = parseRetry(v.retry, `${at}.retry`, r);
  if (v.rateLimit !== undefined) out.rateLimit = parseRateLimit(v.rateLimit, `${at}.rateLimit`, r);
  return good ? (out as RouteSpec) : undefined;
}

/** One rule; undefined when it has any problem (all of them reported). */
export function normaliseRule(
  v: unknown,
  at: string,
  report: Report,
  warn: Report,
  markers: Markers = new Map(),
): RuleSpec | undefined {
  if (!isPlainObject(v)) {
    report(at, 'must be a map {precedence, match, route}');
    return undefined;
  }
  let good = true;
  const r: Report = (a, m) => {
    good = false;
    report(a, m);
  };
  const extra = unknownKeys(v, ['precedence', 'match', 'route']);
  if (extra) r(at, extra);
  let precedence = 0;
  if (v.precedence !== undefined) {
    const p = readInt(v.precedence, -1_000_000, 1_000_000);
    if (p.ok) precedence = p.value;
    else r(`${at}.precedence`, p.message);
  }
  const match = normaliseMatch(v.match, `${at}.match`, r, warn, markers);
  const routes: RouteSpec[] = [];
  const list: unknown[] | undefined = Array.isArray(v.route) ? v.route : undefined;
  if (list === undefined || list.length === 0) {
    r(`${at}.route`, 'must be a non-empty list of {tags, weight}');
  } else if (list.length > LIMITS.routesPerRule) {
    r(`${at}.route`, `has more than ${LIMITS.routesPerRule} routes`);
  } else {
    list.forEach((raw, j) => {
      const route = normaliseRoute(raw, `${at}.route[${j}]`, list.length === 1, r, warn);
      if (route) routes.push(route);
    });
    const sum = routes.reduce((s, x) => s + x.weight, 0);
    if (good && sum > 100) r(`${at}.route`, `weights sum to ${sum}; at most 100`);
  }
  return good && match ? { precedence, match, route: routes } : undefined;
}

/** Every rule of one service; undefined for the whole list when any rule is bad. */
export function normaliseRules(
  raw: unknown,
  report: Report,
  warn: Report,
  markers: Markers = new Map(),
): RuleSpec[] | undefined {
  let good = true;
  const r: Report = (a, m) => {
    good = false;
    report(a, m);
  };
  const list = readRuleSource(raw, r);
  if (list === undefined) return undefined;
  const rules: RuleSpec[] = [];
  list.forEach((item, i) => {
    const rule = normaliseRule(item, `[${i}]`, r, warn, markers);
    if (rule) rules.push(rule);
  });
  return good ? rules : undefined;
}
