/**
 * @module sidecar/egress/parse
 * Egress config (issue 5 item 6), from the sidecar's flat key map (egress.yaml is merged into it
 * like every other file in the config dir):
 *
 * ```yaml
 * egress:
 *   passthrough: false        # unmatched external hostnames: false = 404 SERVICE_NOT_FOUND
 * egressRule:
 *   google:
 *     - hosts: [www.google.com, "*.yahoo.com"]
 *       ports: [{ port: 80, protocol: HTTP }]
 * ```
 *
 * Hosts are DNS-1123 names (lower-cased; labels of 1–63 letters, digits and inner hyphens; 253
 * characters at most); the first label may be `*` or `*suffix`. Every problem is reported with
 * its key in one pass; with issues, the caller keeps its last good table.
 */
import type { EgressIssue, EgressPort, EgressRule, EgressTable } from './types.ts';

export const EGRESS_LIMITS = Object.freeze({
  rules: 1000,
  entriesPerRule: 100,
  hostsPerEntry: 100,
  ports: 16,
});

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const WILD_LABEL = /^\*([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why `host` is not a valid egress host, or undefined when it is. */
export function checkHost(host: string): string | undefined {
  if (host.length === 0) return 'is empty';
  if (host.length > 253) return 'is longer than 253 characters';
  const labels = host.split('.');
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (i === 0 && l.startsWith('*')) {
      if (labels.length < 2)
        return 'a wildcard needs a domain after it (use egress.passthrough for everything)';
      if (!WILD_LABEL.test(l)) return `has an invalid wildcard label ${JSON.stringify(l)}`;
      continue;
    }
    if (!LABEL.test(l)) return `has an invalid DNS-1123 label ${JSON.stringify(l)}`;
  }
  return undefined;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parsePorts(v: unknown, at: string, issues: EgressIssue[], warnings: EgressIssue[]): EgressPort[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > EGRESS_LIMITS.ports) {
    issues.push({ key: at, message: `must be a list of at most ${EGRESS_LIMITS.ports} {port, protocol}` });
    return [];
  }
  const out: EgressPort[] = [];
  for (const [i, p] of v.entries()) {
    const here = `${at}[${i}]`;
    if (!isMap(p)) {
      issues.push({ key: here, message: 'must be a map {port, protocol}' });
      continue;
    }
    const port = typeof p.port === 'string' ? Number(p.port) : p.port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      issues.push({ key: `${here}.port`, message: `must be a port 1–65535, got ${JSON.stringify(p.port)}` });
      continue;
    }
    const protocol = String(p.protocol ?? 'http').toLowerCase();
    if (protocol !== 'http' && protocol !== 'https') {
      warnings.push({
        key: `${here}.protocol`,
        message: `${JSON.stringify(p.protocol)} is not HTTP(S); port ignored`,
      });
      continue;
    }
    out.push(Object.freeze({ port, protocol }));
  }
  return out;
}

function parseRule(
  name: string,
  v: unknown,
  issues: EgressIssue[],
  warnings: EgressIssue[],
): EgressRule | undefined {
  const key = `egressRule.${name}`;
  const before = issues.length;
  const list = Array.isArray(v) ? v : isMap(v) ? [v] : undefined;
  if (list === undefined || list.length === 0 || list.length > EGRESS_LIMITS.entriesPerRule) {
    issues.push({ key, message: 'must be a list of {hosts, ports}' });
    return undefined;
  }
  const hosts: string[] = [];
  const ports: EgressPort[] = [];
  for (const [i, entry] of list.entries()) {
    const at = `${key}[${i}]`;
    if (!isMap(entry)) {
      issues.push({ key: at, message: 'must be a map {hosts, ports}' });
      continue;
    }
    const extra = Object.keys(entry).filter((k) => k !== 'hosts' && k !== 'ports');
    if (extra.length > 0)
      issues.push({ key: at, message: `unknown field(s) ${extra.join(', ')} (allowed: hosts, ports)` });
    const hs = typeof entry.hosts === 'string' ? [entry.hosts] : entry.hosts;
    if (!Array.isArray(hs) || hs.length === 0 || hs.length > EGRESS_LIMITS.hostsPerEntry) {
      issues.push({
        key: `${at}.hosts`,
        message: `must be a list of 1–${EGRESS_LIMITS.hostsPerEntry} host names`,
      });
    } else {
      hs.forEach((h, j) => {
        const host = typeof h === 'string' ? h.trim().toLowerCase().replace(/\.$/, '') : '';
        const why = typeof h === 'string' ? checkHost(host) : 'must be a string';
        if (why) issues.push({ key: `${at}.hosts[${j}]`, message: `${JSON.stringify(h)} ${why}` });
        else hosts.push(host);
      });
    }
    ports.push(...parsePorts(entry.ports, `${at}.ports`, issues, warnings));
  }
  if (issues.length > before) return undefined;
  return Object.freeze({ name, hosts: Object.freeze([...new Set(hosts)]), ports: Object.freeze(ports) });
}

/** Build the egress table from the flat config. Never throws. */
export function parseEgress(flat: Readonly<Record<string, unknown>>): {
  table: EgressTable;
  issues: readonly EgressIssue[];
  warnings: readonly EgressIssue[];
} {
  const issues: EgressIssue[] = [];
  const warnings: EgressIssue[] = [];
  let passthrough = false;
  const pt = flat['egress.passthrough'];
  if (pt !== undefined) {
    if (pt === true || pt === 'true') passthrough = true;
    else if (pt !== false && pt !== 'false') {
      issues.push({ key: 'egress.passthrough', message: `must be true or false, got ${JSON.stringify(pt)}` });
    }
  }
  const infra = flat['egress.infra'];
  if (infra !== undefined && infra !== 'cse') {
    warnings.push({
      key: 'egress.infra',
      message: `${JSON.stringify(infra)} is not supported; egress.yaml rules are used`,
    });
  }
  const names = Object.keys(flat)
    .filter((k) => k.startsWith('egressRule.'))
    .sort();
  if (names.length > EGRESS_LIMITS.rules) {
    issues.push({ key: 'egressRule', message: `has more than ${EGRESS_LIMITS.rules} rules` });
  }
  const rules: EgressRule[] = [];
  for (const k of names.slice(0, EGRESS_LIMITS.rules)) {
    const rule = parseRule(k.slice('egressRule.'.length), flat[k], issues, warnings);
    if (rule) rules.push(rule);
  }
  const exact = new Map<string, EgressRule>();
  const wild: Array<{ suffix: string; rule: EgressRule }> = [];
  for (const rule of rules) {
    for (const host of rule.hosts) {
      const taken = host.startsWith('*')
        ? wild.find((w) => w.suffix === host.slice(1))?.rule
        : exact.get(host);
      if (taken) {
        warnings.push({
          key: `egressRule.${rule.name}`,
          message: `${host} is already in egressRule.${taken.name}; that one is used`,
        });
      } else if (host.startsWith('*')) wild.push({ suffix: host.slice(1), rule });
      else exact.set(host, rule);
    }
  }
  // Longest (most specific) wildcard first.
  wild.sort((a, b) => b.suffix.length - a.suffix.length || (a.suffix < b.suffix ? -1 : 1));
  return {
    table: Object.freeze({ rules: Object.freeze(rules), passthrough, exact, wildcards: Object.freeze(wild) }),
    issues: Object.freeze(issues),
    warnings: Object.freeze(warnings),
  };
}
