/**
 * @module sidecar/ingress/parse
 * Edge gateway rules from the sidecar's flat config (mesher.yaml is merged into it):
 *
 * ```yaml
 * mesher:
 *   ingress:
 *     type: servicecomb            # the only type
 *     rule:
 *       http: |                    # a YAML string (as the original shipped it) or a plain list
 *         - host: api.example.com  # optional; exact, case-insensitive
 *           apiPath: ^/orders/(.*) # regex, unanchored, on the path without the query
 *           service:
 *             name: orders
 *             redirectPath: /v2/$1 # optional; replaces the path ($1–$9: apiPath groups)
 *             port: { value: 8080 } # optional; sent as X-Forwarded-Port
 * ```
 *
 * `limit`, `service.tags` and `service.port.name` are accepted and ignored with a warning (the
 * original parsed them and used none). Every problem is reported with its key in one pass; with
 * issues the caller keeps its last good table (or, at start-up, fails).
 */
import { parse as parseYaml } from 'yaml';
import type { IngressIssue, IngressRule, IngressTable } from './types.ts';

export const INGRESS_RULES_KEY = 'mesher.ingress.rule.http';
export const INGRESS_TYPE_KEY = 'mesher.ingress.type';

export const INGRESS_LIMITS = Object.freeze({
  rules: 1000,
  /** Characters in a YAML-string rule list. */
  yamlChars: 256 * 1024,
  apiPathChars: 1024,
  redirectPathChars: 2048,
});

/** The registry's service-name rule (src/sidecar/discovery/directory.ts). */
const SERVICE_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9_\-.:]{0,287}[a-zA-Z0-9])?$/;
const HOST = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:\d{1,5})?$/;
const RULE_FIELDS = new Set(['host', 'apiPath', 'service', 'limit']);
const SERVICE_FIELDS = new Set(['name', 'redirectPath', 'port', 'tags']);

export const EMPTY_INGRESS: IngressTable = Object.freeze({ rules: Object.freeze([]) });

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parsePort(
  v: unknown,
  at: string,
  issues: IngressIssue[],
  warnings: IngressIssue[],
): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isMap(v)) {
    issues.push({ key: at, message: 'must be a map {value: <port>}' });
    return undefined;
  }
  for (const k of Object.keys(v)) {
    if (k === 'name') warnings.push({ key: `${at}.name`, message: 'ignored (the port is chosen by value)' });
    else if (k !== 'value')
      issues.push({ key: `${at}.${k}`, message: 'unknown field (allowed: value, name)' });
  }
  if (v.value === undefined) return undefined;
  const n = typeof v.value === 'string' && /^\d{1,5}$/.test(v.value) ? Number(v.value) : v.value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
    issues.push({ key: `${at}.value`, message: `must be a port 1–65535, got ${JSON.stringify(v.value)}` });
    return undefined;
  }
  return n;
}

function parseRule(
  v: unknown,
  index: number,
  issues: IngressIssue[],
  warnings: IngressIssue[],
): IngressRule | undefined {
  const at = `${INGRESS_RULES_KEY}[${index}]`;
  if (!isMap(v)) {
    issues.push({ key: at, message: 'must be a map {host?, apiPath, service}' });
    return undefined;
  }
  const before = issues.length;
  for (const k of Object.keys(v)) {
    if (!RULE_FIELDS.has(k))
      issues.push({ key: `${at}.${k}`, message: 'unknown field (allowed: host, apiPath, service, limit)' });
  }
  if (v.limit !== undefined)
    warnings.push({ key: `${at}.limit`, message: 'ignored (use rate limits instead)' });

  let host: string | undefined;
  if (v.host !== undefined && v.host !== null && v.host !== '') {
    const h = typeof v.host === 'string' ? v.host.trim().toLowerCase() : '';
    if (!HOST.test(h))
      issues.push({ key: `${at}.host`, message: `${JSON.stringify(v.host)} is not a host name` });
    else host = h;
  }

  let apiPath: RegExp | undefined;
  if (typeof v.apiPath !== 'string' || v.apiPath === '' || v.apiPath.length > INGRESS_LIMITS.apiPathChars) {
    issues.push({
      key: `${at}.apiPath`,
      message: `must be a regular expression of 1–${INGRESS_LIMITS.apiPathChars} characters`,
    });
  } else {
    try {
      apiPath = new RegExp(v.apiPath);
    } catch (err) {
      issues.push({ key: `${at}.apiPath`, message: `invalid regular expression: ${(err as Error).message}` });
    }
  }

  const s = v.service;
  let name: string | undefined;
  let redirectPath: string | undefined;
  let port: number | undefined;
  if (!isMap(s)) issues.push({ key: `${at}.service`, message: 'must be a map {name, redirectPath?, port?}' });
  else {
    for (const k of Object.keys(s)) {
      if (!SERVICE_FIELDS.has(k))
        issues.push({
          key: `${at}.service.${k}`,
          message: 'unknown field (allowed: name, redirectPath, port, tags)',
        });
    }
    if (s.tags !== undefined)
      warnings.push({ key: `${at}.service.tags`, message: 'ignored (route rules select versions)' });
    if (typeof s.name !== 'string' || !SERVICE_NAME.test(s.name))
      issues.push({ key: `${at}.service.name`, message: `${JSON.stringify(s.name)} is not a service name` });
    else name = s.name;
    if (s.redirectPath !== undefined && s.redirectPath !== null && s.redirectPath !== '') {
      const r = s.redirectPath;
      if (
        typeof r !== 'string' ||
        !r.startsWith('/') ||
        r.length > INGRESS_LIMITS.redirectPathChars ||
        /[\s#]/.test(r)
      ) {
        issues.push({
          key: `${at}.service.redirectPath`,
          message: `must be a path starting with / (no spaces or #), got ${JSON.stringify(r)}`,
        });
      } else redirectPath = r;
    }
    port = parsePort(s.port, `${at}.service.port`, issues, warnings);
  }
  if (issues.length > before || apiPath === undefined || name === undefined) return undefined;
  return Object.freeze({
    index,
    host,
    apiPath,
    service: Object.freeze({ name, redirectPath, port }),
  });
}

/** The raw rule list: a YAML string (the original's form) or a list. */
function ruleList(raw: unknown, issues: IngressIssue[]): unknown[] | undefined {
  if (typeof raw === 'string') {
    if (raw.length > INGRESS_LIMITS.yamlChars) {
      issues.push({
        key: INGRESS_RULES_KEY,
        message: `is longer than ${INGRESS_LIMITS.yamlChars} characters`,
      });
      return undefined;
    }
    try {
      raw = parseYaml(raw);
    } catch (err) {
      issues.push({
        key: INGRESS_RULES_KEY,
        message: `is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
      });
      return undefined;
    }
    if (raw === null || raw === undefined) return [];
  }
  if (!Array.isArray(raw)) {
    issues.push({
      key: INGRESS_RULES_KEY,
      message: 'must be a list of rules (or a YAML string holding one)',
    });
    return undefined;
  }
  if (raw.length > INGRESS_LIMITS.rules) {
    issues.push({ key: INGRESS_RULES_KEY, message: `has more than ${INGRESS_LIMITS.rules} rules` });
    return undefined;
  }
  return raw;
}

/** Build the ingress table from the flat config. Never throws. */
export function parseIngress(flat: Readonly<Record<string, unknown>>): {
  table: IngressTable;
  issues: readonly IngressIssue[];
  warnings: readonly IngressIssue[];
} {
  const issues: IngressIssue[] = [];
  const warnings: IngressIssue[] = [];
  const type = flat[INGRESS_TYPE_KEY];
  if (type !== undefined && type !== 'servicecomb')
    issues.push({ key: INGRESS_TYPE_KEY, message: `must be servicecomb, got ${JSON.stringify(type)}` });
  let nested = false;
  for (const k of Object.keys(flat)) {
    if (k.startsWith(`${INGRESS_RULES_KEY}.`)) nested = true;
    else if (k.startsWith('mesher.ingress.') && k !== INGRESS_TYPE_KEY && k !== INGRESS_RULES_KEY)
      warnings.push({ key: k, message: `unknown key (known: ${INGRESS_TYPE_KEY}, ${INGRESS_RULES_KEY})` });
  }
  if (nested) issues.push({ key: INGRESS_RULES_KEY, message: 'must be a list of rules, not a map' });
  const rules: IngressRule[] = [];
  const raw = flat[INGRESS_RULES_KEY];
  const list = raw === undefined || raw === null ? [] : ruleList(raw, issues);
  for (const [i, v] of (list ?? []).entries()) {
    const rule = parseRule(v, i, issues, warnings);
    if (rule) rules.push(rule);
  }
  return {
    table: Object.freeze({ rules: Object.freeze(rules) }),
    issues: Object.freeze(issues),
    warnings: Object.freeze(warnings),
  };
}
