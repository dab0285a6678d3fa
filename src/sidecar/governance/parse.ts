/**
 * @module sidecar/governance/parse
 * Read the marker-based governance form out of the sidecar's flat key map, once per config
 * version, into a frozen `GovernanceConfig`; report every problem with its key in one pass.
 *
 * Keys (`servicecomb.` spelling only, as Java chassis and go-chassis write them):
 *
 *   servicecomb.matchGroup.<name>       a marker (YAML text, as the config center stores it)
 *   servicecomb.rateLimiting.<name>     policies for the calls the marker of the same name matches
 *   servicecomb.retry.<name>            (only when <name> is a marker: `servicecomb.retry.<svc>.*`
 *   servicecomb.circuitBreaker.<name>    and `cse.circuitBreaker.Consumer.*` keep their old meaning)
 *   servicecomb.bulkhead.<name>
 *
 * A value is YAML text (a string), a map (a config-center `json` value), or written as nested
 * YAML in a file, which the loader flattens into `servicecomb.rateLimiting.<name>.rate` keys. The
 * whole-document form wins when both exist for one name. Marker names have no dots.
 */
import { parse as parseYaml } from 'yaml';
import { FAMILIES } from '../policy/keys.ts';
import { isPlainObject, parseMarker, type Report } from './parse-marker.ts';
import { POLICY_KINDS, type PolicyKind, type PolicyOf, parsePolicy } from './parse-policy.ts';
import type {
  GovernanceConfig,
  GovernanceIssue,
  GovernanceParseResult,
  Marker,
  SelfIdentity,
  ServiceSelector,
} from './types.ts';
import { show } from './values.ts';

export const MARKER_PREFIX = 'servicecomb.matchGroup.';
export const MAX_DOCUMENT_CHARS = 64 * 1024;
export const MAX_MARKERS = 256;
const MAX_NAME_CHARS = 128;

/** Old `servicecomb.retry.[<svc>.]<prop>` properties: `servicecomb.retry.<marker>.<one of these>` stays old-style. */
const OLD_RETRY_PROPS = new Set(
  FAMILIES.filter((f) => f.prefixes.some((p) => p.prefix === 'servicecomb.retry.')).flatMap((f) =>
    Object.keys(f.props),
  ),
);
/** Names that would make `servicecomb.<kind>.<name>` ambiguous with the original's keys. */
const RESERVED_NAMES = new Set(['Consumer', 'Provider', ...OLD_RETRY_PROPS]);

const kindPrefix = (kind: PolicyKind) => `servicecomb.${kind}.`;

/** Marker names declared in `flat` (valid or not), for `ownsGovernanceKey`. */
export function markerNames(flat: Readonly<Record<string, unknown>>): Set<string> {
  const names = new Set<string>();
  for (const [key, value] of Object.entries(flat)) {
    if (key.startsWith(MARKER_PREFIX)) {
      const rest = key.slice(MARKER_PREFIX.length);
      const dot = rest.indexOf('.');
      names.add(dot < 0 ? rest : rest.slice(0, dot));
    } else if ((key === 'servicecomb.matchGroup' || key === 'servicecomb') && isPlainObject(value)) {
      const group = key === 'servicecomb' ? value.matchGroup : value;
      if (isPlainObject(group)) for (const n of Object.keys(group)) names.add(n);
    }
  }
  return names;
}

/**
 * Whether `key` belongs to the marker form rather than to the original's resilience keys
 * (src/sidecar/policy skips these). `markers` = `markerNames(flat)`.
 */
export function ownsGovernanceKey(key: string, markers: ReadonlySet<string>): boolean {
  if (key.startsWith(MARKER_PREFIX) || key === 'servicecomb.matchGroup') return true;
  if (key.startsWith('servicecomb.rateLimiting.') || key.startsWith('servicecomb.bulkhead.')) return true;
  for (const kind of ['retry', 'circuitBreaker'] as const) {
    const prefix = kindPrefix(kind);
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    const dot = rest.indexOf('.');
    const name = dot < 0 ? rest : rest.slice(0, dot);
    if (!markers.has(name) || RESERVED_NAMES.has(name)) return false;
    return dot < 0 || !OLD_RETRY_PROPS.has(rest.slice(dot + 1));
  }
  return false;
}

interface Collected {
  /** name → whole document (YAML text or a map) and the key it came from. */
  readonly whole: Map<string, { value: unknown; key: string }>;
  /** name → nested leaves (`rate` → 100) from a flattened YAML file. */
  readonly nested: Map<string, Map<string, unknown>>;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = node[parts[i]!];
    if (!isPlainObject(next)) node[parts[i]!] = {};
    node = node[parts[i]!] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

function collect(
  flat: Readonly<Record<string, unknown>>,
  prefix: string,
  owns: (key: string) => boolean,
): Collected {
  const c: Collected = { whole: new Map(), nested: new Map() };
  const base = prefix.slice(0, -1);
  const visit = (key: string, value: unknown, depth: number) => {
    if (key === base) {
      if (isPlainObject(value) && depth < 4)
        for (const [k, v] of Object.entries(value)) visit(`${key}.${k}`, v, depth + 1);
      return;
    }
    if (!key.startsWith(prefix) || !owns(key)) return;
    const rest = key.slice(prefix.length);
    const dot = rest.indexOf('.');
    if (dot < 0) c.whole.set(rest, { value, key });
    else {
      const name = rest.slice(0, dot);
      const leaves = c.nested.get(name) ?? new Map<string, unknown>();
      leaves.set(rest.slice(dot + 1), value);
      c.nested.set(name, leaves);
    }
  };
  for (const [key, value] of Object.entries(flat)) {
    if (key === 'servicecomb' && isPlainObject(value)) visit(base, value[prefix.split('.')[1]!], 1);
    else visit(key, value, 0);
  }
  return c;
}

/** Decode each name's document: YAML text is parsed (bounded), maps are taken as they are. */
function documents(c: Collected, prefix: string, report: Report): Map<string, { doc: unknown; key: string }> {
  const out = new Map<string, { doc: unknown; key: string }>();
  for (const [name, { value, key }] of c.whole) {
    if (c.nested.has(name))
      report.warning(`${key}.*`, 'both a whole document and nested keys are set; the whole document wins');
    if (typeof value === 'string') {
      if (value.length > MAX_DOCUMENT_CHARS) {
        report.issue(key, `is longer than ${MAX_DOCUMENT_CHARS} characters`);
        continue;
      }
      try {
        out.set(name, { doc: parseYaml(value, { maxAliasCount: 100, uniqueKeys: true }), key });
      } catch (err) {
        report.issue(key, `is not valid YAML: ${String((err as Error).message).split('\n')[0]}`);
      }
    } else if (isPlainObject(value)) out.set(name, { doc: value, key });
    else report.issue(key, `must be a YAML document (text) or a map (got ${show(value)})`);
  }
  for (const [name, leaves] of c.nested) {
    if (out.has(name) || c.whole.has(name)) continue;
    const doc: Record<string, unknown> = {};
    for (const [path, v] of leaves) setPath(doc, path, v);
    out.set(name, { doc, key: `${prefix}${name}` });
  }
  return out;
}

function checkName(name: string, key: string, report: Report): boolean {
  if (name === '' || name.length > MAX_NAME_CHARS || !/^[A-Za-z0-9_-]+$/.test(name)) {
    report.issue(key, `marker name ${show(name)} must be 1-${MAX_NAME_CHARS} letters, digits, "_" or "-"`);
    return false;
  }
  if (RESERVED_NAMES.has(name)) {
    report.issue(key, `marker name ${show(name)} is reserved (it would read as the original's keys)`);
    return false;
  }
  return true;
}

function appliesTo(
  services: readonly ServiceSelector[] | undefined,
  self: SelfIdentity | undefined,
): boolean {
  if (services === undefined || self === undefined) return true;
  return services.some(
    (s) => s.name === self.name && (s.version === undefined || s.version === self.version),
  );
}

/**
 * Parse every marker-form key of `flat`. Never throws. `self` filters markers and policies by
 * their `services`; without it, all apply.
 */
export function parseGovernance(
  flat: Readonly<Record<string, unknown>>,
  self?: SelfIdentity,
): GovernanceParseResult {
  const issues: GovernanceIssue[] = [];
  const warnings: GovernanceIssue[] = [];
  const report: Report = {
    issue: (key, message) => issues.push({ key, message }),
    warning: (key, message) => warnings.push({ key, message }),
  };
  const names = markerNames(flat);
  const owns = (key: string) => ownsGovernanceKey(key, names);

  const markers: Record<string, Marker> = Object.create(null);
  const markerDocs = documents(collect(flat, MARKER_PREFIX, owns), MARKER_PREFIX, report);
  if (markerDocs.size > MAX_MARKERS)
    report.issue(MARKER_PREFIX.slice(0, -1), `has more than ${MAX_MARKERS} markers`);
  else {
    for (const [name, { doc, key }] of [...markerDocs].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!checkName(name, key, report)) continue;
      const m = parseMarker(name, doc, key, report);
      if (m) markers[name] = m;
    }
  }

  const policies = {} as { -readonly [K in PolicyKind]: PolicyOf<K>[] };
  for (const kind of POLICY_KINDS) {
    const prefix = kindPrefix(kind);
    const docs = documents(collect(flat, prefix, owns), prefix, report);
    const list: PolicyOf<typeof kind>[] = [];
    if (docs.size > MAX_MARKERS) report.issue(prefix.slice(0, -1), `has more than ${MAX_MARKERS} policies`);
    else {
      for (const [name, { doc, key }] of [...docs].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const p = parsePolicy(kind, name, doc, key, report);
        if (p === undefined) continue;
        if (!names.has(name)) {
          report.warning(key, `names no marker (servicecomb.matchGroup.${name}); inactive`);
          continue;
        }
        const marker = markers[name];
        if (marker === undefined) continue; // its marker is invalid: reported there
        if (appliesTo(marker.services, self) && appliesTo(p.services, self)) list.push(p);
      }
    }
    // First match wins: policies restricted with `services` before general ones, then by name.
    list.sort(
      (a, b) =>
        Number(b.services !== undefined) - Number(a.services !== undefined) || (a.name < b.name ? -1 : 1),
    );
    (policies as Record<PolicyKind, unknown[]>)[kind] = list;
  }

  const config: GovernanceConfig = Object.freeze({
    markers: Object.freeze(markers),
    rateLimiting: Object.freeze(policies.rateLimiting),
    retry: Object.freeze(policies.retry),
    circuitBreaker: Object.freeze(policies.circuitBreaker),
    bulkhead: Object.freeze(policies.bulkhead),
  });
  return { config, issues, warnings };
}
