/**
 * @module sidecar/routing/parse
 * Reads every route rule from the sidecar's flat key map (`SidecarConfig.flat`) into one frozen
 * `RouteTable`, validating everything in one pass. Three sources, highest first:
 *
 * 1. `servicecomb.routeRule.<svc>` (or `cse.routeRule.<svc>`): YAML text or a list;
 * 2. top-level `routeRule.<svc>`, the form the original's own examples used and it never read;
 * 3. legacy `servicecomb.darklaunch.policy.<svc>` JSON, translated by ./darklaunch.ts.
 *
 * `servicecomb.match.<name>` markers (./markers.ts) are read first, for `match.refer`.
 *
 * A service defined in a higher source shadows the lower ones (with a warning). Any issue in any
 * rule makes the result invalid: the caller keeps its last good table (`issues` non-empty) and
 * reports them; `table` is then the table of the services that were fine, for display only.
 */
import { flatUnder } from '../config/flat-read.ts';
import { translateDarklaunch } from './darklaunch.ts';
import { parseMarkers } from './markers.ts';
import type { Markers } from './match.ts';
import { normaliseRules } from './parse-rule.ts';
import { type CompiledRule, compileRules, type RouteTable } from './table.ts';
import type { RouteIssue, RuleSpec } from './types.ts';

export interface RouteTableResult {
  readonly table: RouteTable;
  /** Problems that make the rules invalid (keep the last good table). */
  readonly issues: readonly RouteIssue[];
  /** Accepted but worth saying (shadowed sources, numbers where strings were meant). */
  readonly warnings: readonly RouteIssue[];
}

const SOURCES = [
  { prefix: 'servicecomb.routeRule', kind: 'v2' },
  { prefix: 'routeRule', kind: 'v2' },
  { prefix: 'servicecomb.darklaunch.policy', kind: 'darklaunch' },
] as const;

/** Rules for one service from one key, or undefined with every problem reported. */
function readService(
  kind: 'v2' | 'darklaunch',
  value: unknown,
  key: string,
  issues: RouteIssue[],
  warnings: RouteIssue[],
  markers: Markers,
): RuleSpec[] | undefined {
  const report = (at: string, message: string) => issues.push({ key: `${key}${at}`, message });
  const warn = (at: string, message: string) => warnings.push({ key: `${key}${at}`, message });
  if (kind === 'darklaunch') {
    const raw = translateDarklaunch(value, report);
    return raw === undefined ? undefined : normaliseRules(raw, report, warn, markers);
  }
  if (typeof value !== 'string' && !Array.isArray(value)) {
    // A nested map was flattened into `routeRule.<svc>.<field>` keys: not a rule list.
    report('', 'must be a list of rules (or a YAML string holding one)');
    return undefined;
  }
  return normaliseRules(value, report, warn, markers);
}

/** Parse every route rule in `flat`. Never throws on bad input. */
export function parseRouteTable(flat: Readonly<Record<string, unknown>>): RouteTableResult {
  const { markers, issues, warnings } = parseMarkers(flat);
  const services = new Map<string, readonly CompiledRule[]>();
  const origin = new Map<string, string>();
  const seen = new Set<string>();
  for (const source of SOURCES) {
    const entries = Object.entries(flatUnder(flat, source.prefix)).sort(([a], [b]) => (a < b ? -1 : 1));
    for (const [service, value] of entries) {
      const key = `${source.prefix}.${service}`;
      if (seen.has(service)) {
        warnings.push({
          key,
          message: `ignored: ${origin.get(service) ?? 'another key'} defines ${service}`,
        });
        continue;
      }
      seen.add(service);
      origin.set(service, key);
      const specs = readService(source.kind, value, key, issues, warnings, markers);
      if (specs !== undefined && specs.length > 0) services.set(service, compileRules(specs, markers));
    }
  }
  for (const s of seen) if (!services.has(s)) origin.delete(s);
  return Object.freeze({
    table: Object.freeze({ services, origin }),
    issues: Object.freeze(issues),
    warnings: Object.freeze(warnings),
  });
}

/**
 * A reload: the new table when the config has no issues, else `lastGood` unchanged (with the
 * issues, to report). Start with `EMPTY_TABLE` (./table.ts) as the first `lastGood`.
 */
export function reloadRouteTable(
  flat: Readonly<Record<string, unknown>>,
  lastGood: RouteTable,
): RouteTableResult & { readonly accepted: boolean } {
  const r = parseRouteTable(flat);
  const accepted = r.issues.length === 0;
  return Object.freeze({ ...r, table: accepted ? r.table : lastGood, accepted });
}
