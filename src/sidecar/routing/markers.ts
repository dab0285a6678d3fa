/**
 * @module sidecar/routing/markers
 * `servicecomb.match.<name>` traffic markers, which a route rule's `match.refer: <name>` names.
 * Both shapes go-chassis versions used are read, as YAML text or already-parsed config:
 *
 * ```yaml
 * servicecomb.match.vip: |                 # one block
 *   headers: { x-user: { regex: "^vip-" } }
 *   apiPath: { prefix: /api/ }
 *   method: GET
 * servicecomb.match.writes: |              # or alternatives
 *   matches:
 *     - method: [POST, PUT]
 *     - apiPath: { contains: /admin/ }
 * ```
 *
 * A marker holds when any alternative holds; within one, every condition must. `apiPath` takes
 * `exact`, `prefix`, `regex` or `contains`; several operators in one `apiPath` are alternatives
 * (the original: any of them). `trafficMarkPolicy` is accepted and ignored here (it concerns the
 * marker-based rate limiter). Differences from the original: `refer` is AND-ed with the rule's other
 * conditions (the original ignored them), and a request matching several markers satisfies every
 * one of them (the original kept one, in map order, so `refer` to the other one failed at random).
 */
import { parse as parseYaml } from 'yaml';
import type { Markers } from './match.ts';
import { normaliseMatch, type Report } from './parse-rule.ts';
import type { MatchSpec, RouteIssue } from './types.ts';
import { isPlainObject, unknownKeys } from './values.ts';

export const MAX_MARKERS = 256;
const MAX_ALTERNATIVES = 16;
const PREFIX = 'servicecomb.match.';
const FIELDS = ['headers', 'apiPath', 'method', 'trafficMarkPolicy'];

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Re-nest the keys a config loader flattened (`vip.headers.x-user.exact`) under each marker name. */
function collect(flat: Readonly<Record<string, unknown>>): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [key, value] of Object.entries(flat)) {
    const canonical = key.startsWith('cse.') ? `servicecomb.${key.slice(4)}` : key;
    if (!canonical.startsWith(PREFIX)) continue;
    const [name, ...path] = canonical.slice(PREFIX.length).split('.');
    if (name === undefined || name === '') continue;
    if (path.length === 0) {
      out.set(name, value);
      continue;
    }
    let node = out.get(name);
    if (!isPlainObject(node)) {
      node = {};
      out.set(name, node);
    }
    let at = node as Record<string, unknown>;
    for (const seg of path.slice(0, -1)) {
      if (!isPlainObject(at[seg])) at[seg] = {};
      at = at[seg] as Record<string, unknown>;
    }
    at[path[path.length - 1]!] = value;
  }
  return out;
}

/** One alternative: `apiPath` with several operators fans out into several alternatives. */
function alternatives(v: unknown, at: string, report: Report, warn: Report): MatchSpec[] | undefined {
  if (!isPlainObject(v)) {
    report(at, 'must be a map {headers, apiPath, method}');
    return undefined;
  }
  const extra = unknownKeys(v, FIELDS);
  if (extra) {
    report(at, extra);
    return undefined;
  }
  const { apiPath, trafficMarkPolicy: _ignored, ...rest } = v;
  const paths: unknown[] = [];
  if (apiPath === undefined) paths.push(undefined);
  else if (!isPlainObject(apiPath) || Object.keys(apiPath).length === 0) {
    report(`${at}.apiPath`, 'must be a map of operators (exact, prefix, regex, contains)');
    return undefined;
  } else {
    for (const [op, value] of Object.entries(apiPath)) {
      paths.push(op === 'contains' ? { regex: escapeRegex(String(value)) } : { [op]: value });
    }
  }
  const out: MatchSpec[] = [];
  let good = true;
  for (const path of paths) {
    const raw = path === undefined ? rest : { ...rest, path };
    const spec = normaliseMatch(
      raw,
      at,
      (a, m) => {
        good = false;
        report(a.replace(`${at}.path`, `${at}.apiPath`), m);
      },
      warn,
      undefined,
    );
    if (spec) out.push(spec);
  }
  return good ? out : undefined;
}

/** Every `servicecomb.match.<name>` marker; a marker with any problem is left out (and reported). */
export function parseMarkers(flat: Readonly<Record<string, unknown>>): {
  markers: Markers;
  issues: RouteIssue[];
  warnings: RouteIssue[];
} {
  const issues: RouteIssue[] = [];
  const warnings: RouteIssue[] = [];
  const markers = new Map<string, readonly MatchSpec[]>();
  const raw = collect(flat);
  if (raw.size > MAX_MARKERS)
    issues.push({ key: 'servicecomb.match', message: `more than ${MAX_MARKERS} markers` });
  for (const [name, raw0] of [...raw].slice(0, MAX_MARKERS)) {
    const key = `${PREFIX}${name}`;
    const report: Report = (at, message) => issues.push({ key: `${key}${at}`, message });
    const warn: Report = (at, message) => warnings.push({ key: `${key}${at}`, message });
    let value = raw0;
    if (typeof value === 'string') {
      try {
        value = parseYaml(value, { schema: 'failsafe' });
      } catch (err) {
        report('', `is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
        continue;
      }
    }
    const hasList = isPlainObject(value) && value.matches !== undefined;
    if (hasList) {
      const extra = unknownKeys(value as Record<string, unknown>, ['matches', 'trafficMarkPolicy']);
      if (extra) {
        report('', extra);
        continue;
      }
    }
    const list = hasList ? (value as Record<string, unknown>).matches : [value];
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_ALTERNATIVES) {
      report(hasList ? '.matches' : '', `must be a list of 1–${MAX_ALTERNATIVES} match blocks`);
      continue;
    }
    const alts: MatchSpec[] = [];
    let good = true;
    list.forEach((item, i) => {
      const a = alternatives(item, hasList ? `.matches[${i}]` : '', report, warn);
      if (a) alts.push(...a);
      else good = false;
    });
    if (good) markers.set(name, Object.freeze(alts));
  }
  return { markers, issues, warnings };
}
