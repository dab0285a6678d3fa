/**
 * @module api-client/route-rule
 * A shape check of route-rule YAML (`[{precedence, match, route: [{tags, weight}]}]`, issue 5
 * item 1) before a tool stores it in the config center, so an operator's typo fails at their
 * terminal with the path of the problem instead of in every sidecar. It checks structure only —
 * field names, types, weights 0–100 summing to at most 100, regexes that compile; each sidecar
 * still validates in full and keeps its last good rules when a stored rule is refused.
 */
import { parse as parseYaml } from 'yaml';

export interface RuleIssue {
  /** `[0].route[1].weight` */
  readonly at: string;
  readonly message: string;
}

export const RULE_LIMITS = Object.freeze({ yamlChars: 64 * 1024, rules: 64, routes: 32 });

const RULE_FIELDS = ['precedence', 'match', 'route'];
const MATCH_FIELDS = ['source', 'sourceTags', 'headers', 'httpHeaders', 'method', 'path', 'apiPath', 'refer'];
const ROUTE_FIELDS = ['tags', 'weight', 'timeoutMs', 'retry', 'rateLimit'];
const HEADER_OPS = [
  'exact',
  'regex',
  'contains',
  'noEqu',
  'less',
  'noLess',
  'greater',
  'noGreater',
  'caseInsensitive',
];

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): boolean => /^-?\d+$/.test(String(v));

function unknownFields(v: Record<string, unknown>, known: string[], at: string, out: RuleIssue[]): void {
  for (const k of Object.keys(v))
    if (!known.includes(k)) out.push({ at, message: `unknown field '${k}' (known: ${known.join(', ')})` });
}

function checkHeaders(v: unknown, at: string, out: RuleIssue[]): void {
  if (!isMap(v)) {
    out.push({ at, message: 'must be a map of header name → {operator: value}' });
    return;
  }
  for (const [name, ops] of Object.entries(v)) {
    const here = `${at}.${name}`;
    if (!isMap(ops) || Object.keys(ops).length === 0) {
      out.push({ at: here, message: `must be a map of operators (${HEADER_OPS.join(', ')})` });
      continue;
    }
    for (const [op, arg] of Object.entries(ops)) {
      if (!HEADER_OPS.includes(op))
        out.push({ at: `${here}.${op}`, message: `unknown operator (known: ${HEADER_OPS.join(', ')})` });
      else if (op === 'regex') {
        try {
          new RegExp(String(arg));
        } catch (err) {
          out.push({ at: `${here}.regex`, message: `invalid regex: ${(err as Error).message}` });
        }
      } else if (['less', 'noLess', 'greater', 'noGreater'].includes(op) && !Number.isFinite(Number(arg)))
        out.push({ at: `${here}.${op}`, message: `must be a number, got ${JSON.stringify(arg)}` });
    }
  }
}

function checkRoute(v: unknown, at: string, only: boolean, out: RuleIssue[]): number {
  if (!isMap(v)) {
    out.push({ at, message: 'must be a map {tags, weight}' });
    return 0;
  }
  unknownFields(v, ROUTE_FIELDS, at, out);
  if (!isMap(v.tags) || Object.keys(v.tags).length === 0)
    out.push({
      at: `${at}.tags`,
      message: 'is required: a map naming at least one tag (e.g. {version: 2.0.0})',
    });
  if (v.weight === undefined) {
    if (only) return 100;
    out.push({ at: `${at}.weight`, message: 'is required when a rule has more than one route' });
    return 0;
  }
  const w = Number(v.weight);
  if (!isInt(v.weight) || w < 0 || w > 100) {
    out.push({ at: `${at}.weight`, message: `must be an integer 0-100, got ${JSON.stringify(v.weight)}` });
    return 0;
  }
  return w;
}

function checkRule(v: unknown, at: string, out: RuleIssue[]): void {
  if (!isMap(v)) {
    out.push({ at, message: 'must be a map {precedence, match, route}' });
    return;
  }
  unknownFields(v, RULE_FIELDS, at, out);
  if (v.precedence !== undefined && !isInt(v.precedence))
    out.push({ at: `${at}.precedence`, message: `must be an integer, got ${JSON.stringify(v.precedence)}` });
  if (v.match !== undefined && v.match !== null) {
    if (!isMap(v.match)) out.push({ at: `${at}.match`, message: 'must be a map' });
    else {
      unknownFields(v.match, MATCH_FIELDS, `${at}.match`, out);
      if (v.match.headers !== undefined) checkHeaders(v.match.headers, `${at}.match.headers`, out);
      if (v.match.httpHeaders !== undefined)
        checkHeaders(v.match.httpHeaders, `${at}.match.httpHeaders`, out);
    }
  }
  if (!Array.isArray(v.route) || v.route.length === 0) {
    out.push({ at: `${at}.route`, message: 'must be a non-empty list of {tags, weight}' });
    return;
  }
  if (v.route.length > RULE_LIMITS.routes)
    out.push({ at: `${at}.route`, message: `has more than ${RULE_LIMITS.routes} routes` });
  const routes = v.route as unknown[];
  const sum = routes.reduce<number>(
    (s, r, j) => s + checkRoute(r, `${at}.route[${j}]`, routes.length === 1, out),
    0,
  );
  if (sum > 100) out.push({ at: `${at}.route`, message: `weights sum to ${sum}; at most 100` });
}

/** Every shape problem of one service's rule YAML; an empty list means it looks right. */
export function checkRouteRuleYaml(text: string): RuleIssue[] {
  const out: RuleIssue[] = [];
  if (text.length > RULE_LIMITS.yamlChars)
    return [{ at: '', message: `longer than ${RULE_LIMITS.yamlChars} characters` }];
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    return [{ at: '', message: `not valid YAML: ${(err as Error).message.split('\n')[0]}` }];
  }
  if (!Array.isArray(doc) || doc.length === 0)
    return [{ at: '', message: 'must be a non-empty YAML list of rules ({precedence, match, route})' }];
  if (doc.length > RULE_LIMITS.rules)
    return [{ at: '', message: `has ${doc.length} rules; at most ${RULE_LIMITS.rules}` }];
  for (const [i, rule] of doc.entries()) checkRule(rule, `[${i}]`, out);
  return out;
}

/** The config key a service's rules live under. */
export function routeRuleKey(service: string): string {
  return `servicecomb.routeRule.${service}`;
}
