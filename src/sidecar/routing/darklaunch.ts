/**
 * @module sidecar/routing/darklaunch
 * Translates the legacy `servicecomb.darklaunch.policy.<svc>` JSON into the v2 rule list, as
 * go-chassis' `DarkLaunchRule2RouteRule` did:
 *
 * - `policyType: RATE`: one rule (precedence 1); each item's `groupCondition: "version=1.0,1.1"`
 *   becomes routes to those versions sharing the item's `policyCondition` weight ("80").
 * - `policyType: RULE`: one rule (precedence 1) per item, matching one header condition written as
 *   `name<op>value` with op `!=`, `>=`, `<=`, `=`, `>`, `<`, `~` (regex), tried in that order,
 *   and routing 100% to the item's versions.
 *
 * Kept from the original: header names are camel-cased (`user_id` → `UserId`; names are
 * case-insensitive here, so this means the header `userid`). Changed: a weight split over several
 * versions gives the rounding remainder to the first version (the original's integer division
 * sent it to the default selection), and a condition that cannot be parsed is an error (the
 * original logged it and produced a rule that matched every request).
 */
import { isPlainObject, readBool, readInt } from './values.ts';

type Report = (at: string, message: string) => void;

const OPS: ReadonlyArray<readonly [string, string]> = [
  ['!=', 'noEqu'],
  ['>=', 'noLess'],
  ['<=', 'noGreater'],
  ['=', 'exact'],
  ['>', 'greater'],
  ['<', 'less'],
  ['~', 'regex'],
];

/** `user_id` → `UserId` (go-chassis `toCamelCase`: strings.Title on `_`-separated words). */
export function camelHeader(name: string): string {
  return name
    .split('_')
    .map((w) => (w === '' ? '' : w[0]!.toUpperCase() + w.slice(1)))
    .join('');
}

function versions(group: unknown, at: string, report: Report): string[] | undefined {
  if (typeof group !== 'string' || !group.trim().startsWith('version=')) {
    report(at, `must look like "version=1.0.0,1.1.0", got ${JSON.stringify(group)}`);
    return undefined;
  }
  const list = group
    .trim()
    .slice('version='.length)
    .split(',')
    .map((s) => s.trim());
  if (list.some((v) => v === '')) {
    report(at, `has an empty version in ${JSON.stringify(group)}`);
    return undefined;
  }
  return list;
}

/** Routes to `vs` sharing `weight`; the remainder of the split goes to the first. */
function split(vs: readonly string[], weight: number): Array<{ tags: { version: string }; weight: number }> {
  const each = Math.floor(weight / vs.length);
  const rest = weight - each * vs.length;
  return vs.map((version, i) => ({ tags: { version }, weight: each + (i === 0 ? rest : 0) }));
}

/** Parse a `name<op>value` condition into a v2 header match. */
function condition(
  raw: unknown,
  ci: boolean,
  at: string,
  report: Report,
): Record<string, unknown> | undefined {
  if (typeof raw !== 'string') {
    report(at, 'must be a string like "user_id=100"');
    return undefined;
  }
  for (const [sep, op] of OPS) {
    if (!raw.includes(sep)) continue;
    const parts = raw.split(sep);
    if (parts.length !== 2 || parts[0]!.trim() === '') {
      report(at, `cannot read ${JSON.stringify(raw)} as <header>${sep}<value>`);
      return undefined;
    }
    return { [camelHeader(parts[0]!.trim())]: { [op]: parts[1]!.trim(), caseInsensitive: ci } };
  }
  report(at, `has no operator (!=, >=, <=, =, >, <, ~) in ${JSON.stringify(raw)}`);
  return undefined;
}

/**
 * The v2 rule list (raw, for ./parse-rule.ts to normalise) for one darklaunch policy, or
 * undefined with every problem reported.
 */
export function translateDarklaunch(raw: unknown, report: Report): unknown[] | undefined {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch (err) {
      report('', `is not valid JSON: ${(err as Error).message}`);
      return undefined;
    }
  }
  if (!isPlainObject(value)) {
    report('', 'must be a JSON object {policyType, ruleItems}');
    return undefined;
  }
  const type = String(value.policyType ?? '').toUpperCase();
  if (type !== 'RATE' && type !== 'RULE') {
    report('.policyType', `must be RATE or RULE, got ${JSON.stringify(value.policyType)}`);
    return undefined;
  }
  const items = value.ruleItems;
  if (!Array.isArray(items)) {
    report('.ruleItems', 'must be a list');
    return undefined;
  }
  let good = true;
  const r: Report = (a, m) => {
    good = false;
    report(a, m);
  };
  const routes: unknown[] = [];
  const rules: unknown[] = [];
  items.forEach((item, i) => {
    const at = `.ruleItems[${i}]`;
    if (!isPlainObject(item)) {
      r(at, 'must be an object');
      return;
    }
    const vs = versions(item.groupCondition, `${at}.groupCondition`, r);
    if (type === 'RATE') {
      const w = readInt(item.policyCondition, 0, 100);
      if (!w.ok) {
        r(`${at}.policyCondition`, w.message);
        return;
      }
      if (vs) routes.push(...split(vs, w.value));
      return;
    }
    let ci = false;
    if (item.caseInsensitive !== undefined) {
      const b = readBool(item.caseInsensitive);
      if (b.ok) ci = b.value;
      else r(`${at}.caseInsensitive`, b.message);
    }
    const headers = condition(item.policyCondition, ci, `${at}.policyCondition`, r);
    if (vs && headers) rules.push({ precedence: 1, match: { headers }, route: split(vs, 100) });
  });
  if (!good) return undefined;
  if (type === 'RATE') return routes.length === 0 ? [] : [{ precedence: 1, route: routes }];
  return rules;
}
