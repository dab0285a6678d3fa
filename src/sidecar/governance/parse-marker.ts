/**
 * @module sidecar/governance/parse-marker
 * One traffic marker (`servicecomb.matchGroup.<name>`, a YAML document) into a frozen `Marker`:
 *
 *   matches:                         # any entry may match (OR); within one, every field (AND)
 *     - apiPath: { prefix: /login }  # exact | prefix | suffix | contains | compare | regex
 *       method: [POST]               # a list, or one method
 *       headers: { x-user: { exact: vip } }
 *       queries: { tier: { exact: gold } }
 *       serviceName: server2         # the called service: a consumer-side (outbound) rule
 *   services: server1, server2:1.0.0 # optional: only in these services' sidecars
 *
 * Every problem is reported with the key path it was found at
 * (`servicecomb.matchGroup.userLogin.matches[0].apiPath: has unknown operator "prefx" ...`).
 */
import { parseCondition } from './operators.ts';
import type { Marker, MatchRule, NamedCondition, ServiceSelector } from './types.ts';
import { show } from './values.ts';

export const MAX_MATCHES = 64;
export const MAX_NAMED_CONDITIONS = 32;
const MAX_METHODS = 16;

/** Where problems go: `issues` invalidate the version, `warnings` are logged. */
export interface Report {
  issue(key: string, message: string): void;
  warning(key: string, message: string): void;
}

const MATCH_FIELDS = ['apiPath', 'method', 'headers', 'queries', 'serviceName', 'name', 'customMatcher'];

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `services: "a, b:1.0.0"` or a list of those. */
export function parseServices(raw: unknown, key: string, report: Report): ServiceSelector[] | undefined {
  const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : undefined;
  if (items === undefined) {
    report.issue(key, `must be a comma-separated list of service[:version] (got ${show(raw)})`);
    return undefined;
  }
  const out: ServiceSelector[] = [];
  for (const item of items) {
    const s = String(item).trim();
    if (s === '') continue;
    const colon = s.indexOf(':');
    const name = colon < 0 ? s : s.slice(0, colon).trim();
    const version = colon < 0 ? undefined : s.slice(colon + 1).trim();
    if (name === '' || version === '') {
      report.issue(key, `has ${show(s)}, which is not service or service:version`);
      return undefined;
    }
    out.push(Object.freeze(version === undefined ? { name } : { name, version }));
  }
  if (out.length === 0) {
    report.issue(key, 'lists no service');
    return undefined;
  }
  return out;
}

function parseNamed(raw: unknown, key: string, lower: boolean, report: Report): NamedCondition[] | undefined {
  if (!isPlainObject(raw)) {
    report.issue(key, `must be a map of name to condition (got ${show(raw)})`);
    return undefined;
  }
  const entries = Object.entries(raw);
  if (entries.length > MAX_NAMED_CONDITIONS) {
    report.issue(key, `has ${entries.length} entries (at most ${MAX_NAMED_CONDITIONS})`);
    return undefined;
  }
  const out: NamedCondition[] = [];
  let okAll = true;
  for (const [name, cond] of entries) {
    const c = parseCondition(cond);
    if (!c.ok) {
      report.issue(`${key}.${name}`, c.message);
      okAll = false;
    } else out.push(Object.freeze({ name: lower ? name.toLowerCase() : name, condition: c.value }));
  }
  return okAll ? out : undefined;
}

function parseMethods(raw: unknown, key: string, report: Report): string[] | undefined {
  const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : undefined;
  if (items === undefined || items.length === 0 || items.length > MAX_METHODS) {
    report.issue(
      key,
      `must be a list of 1 to ${MAX_METHODS} HTTP methods, e.g. [GET, POST] (got ${show(raw)})`,
    );
    return undefined;
  }
  const out: string[] = [];
  for (const m of items) {
    const s = typeof m === 'string' ? m.trim().toUpperCase() : '';
    if (!/^[A-Z]{1,16}$/.test(s)) {
      report.issue(key, `has ${show(m)}, which is not an HTTP method`);
      return undefined;
    }
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

function parseRule(raw: unknown, key: string, report: Report): MatchRule | undefined {
  if (!isPlainObject(raw)) {
    report.issue(
      key,
      `must be a map with apiPath, method, headers, queries or serviceName (got ${show(raw)})`,
    );
    return undefined;
  }
  const rule: {
    -readonly [K in keyof MatchRule]: MatchRule[K];
  } = {};
  let okAll = true;
  for (const [field, value] of Object.entries(raw)) {
    const at = `${key}.${field}`;
    if (!MATCH_FIELDS.includes(field)) {
      report.issue(at, `unknown match field (expected ${MATCH_FIELDS.slice(0, 5).join(', ')})`);
      okAll = false;
      continue;
    }
    if (value === null || value === undefined) continue;
    switch (field) {
      case 'apiPath': {
        const c = parseCondition(value);
        if (c.ok) rule.apiPath = c.value;
        else {
          report.issue(at, c.message);
          okAll = false;
        }
        break;
      }
      case 'method':
        rule.methods = parseMethods(value, at, report);
        okAll &&= rule.methods !== undefined;
        break;
      case 'headers':
        rule.headers = parseNamed(value, at, true, report);
        okAll &&= rule.headers !== undefined;
        break;
      case 'queries':
        rule.queries = parseNamed(value, at, false, report);
        okAll &&= rule.queries !== undefined;
        break;
      case 'serviceName':
        if (typeof value === 'string' && value.trim() !== '') rule.serviceName = value.trim();
        else {
          report.issue(at, `must be a service name (got ${show(value)})`);
          okAll = false;
        }
        break;
      case 'name':
        break; // a label for people; Java chassis does not match on it either
      case 'customMatcher':
        report.warning(at, 'custom matchers are Java code mesher cannot run; this match never matches');
        rule.unsupported = true;
        break;
    }
  }
  return okAll ? Object.freeze(rule) : undefined;
}

/** Parse one marker document (already YAML-decoded). Returns undefined when it has issues. */
export function parseMarker(name: string, doc: unknown, key: string, report: Report): Marker | undefined {
  if (!isPlainObject(doc)) {
    report.issue(key, `must be a YAML map with "matches" (got ${show(doc)})`);
    return undefined;
  }
  let okAll = true;
  let matches: MatchRule[] | undefined;
  let services: ServiceSelector[] | undefined;
  for (const [field, value] of Object.entries(doc)) {
    if (field === 'matches') {
      if (!Array.isArray(value) || value.length === 0 || value.length > MAX_MATCHES) {
        report.issue(`${key}.matches`, `must be a list of 1 to ${MAX_MATCHES} matches (got ${show(value)})`);
        okAll = false;
        continue;
      }
      matches = [];
      value.forEach((m, i) => {
        const r = parseRule(m, `${key}.matches[${i}]`, report);
        if (r) matches!.push(r);
        else okAll = false;
      });
    } else if (field === 'services') {
      services = parseServices(value, `${key}.services`, report);
      okAll &&= services !== undefined;
    } else if (field !== 'name') {
      report.issue(`${key}.${field}`, 'unknown marker field (expected matches, services)');
      okAll = false;
    }
  }
  if (matches === undefined) {
    if (okAll) report.issue(`${key}.matches`, 'is missing: a marker needs at least one match');
    return undefined;
  }
  if (!okAll) return undefined;
  return Object.freeze({
    name,
    matches: Object.freeze(matches),
    ...(services ? { services: Object.freeze(services) } : {}),
  });
}
