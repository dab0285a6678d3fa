/**
 * @module sidecar/policy/parse
 * Turn the sidecar's flat dotted key map (`SidecarConfig.flat`) into frozen `ResiliencePolicies`.
 * Parse everything first, report every problem with its key, then let the caller decide (keep the
 * last good config when `issues` is non-empty).
 *
 * Merging is field by field: built-in defaults ← global keys ← per-service keys. A per-service
 * block that sets one field leaves every other field at the global value (the original reset the
 * omitted fields to zero). Sections a service does not override are shared by identity with the
 * defaults, so a BreakerSet keyed on config identity keeps those circuits across reloads that do
 * not touch them.
 */
import { validateBreakerConfig } from '../breaker/circuit-breaker.ts';
import { validateFaultConfig } from '../fault/fault-injector.ts';
import { markerNames, ownsGovernanceKey } from '../governance/parse.ts';
import { validateOutlierConfig } from '../outlier/outlier-detector.ts';
import { validateBackoffConfig } from '../retry/backoff.ts';
import { validateRetryBudgetConfig } from '../retry/retry-budget.ts';
import { RetryPolicy } from '../retry/retry-policy.ts';
import { DEFAULT_SERVICE_POLICY, deepFreeze } from './defaults.ts';
import {
  FAMILIES,
  FAULT_GLOBAL_SCOPE,
  FAULT_INFIX,
  type Family,
  IGNORED_WITH_WARNING,
  OWNED_NAMESPACES,
  type PropSpec,
} from './keys.ts';
import { RateLimitCollector } from './parse-rate-limit.ts';
import type { PolicyIssue, PolicyParseResult, ServicePolicy } from './types.ts';

interface Slot {
  readonly value: unknown;
  readonly rank: number;
  readonly key: string;
}
/** path → winning value, for the global scope or one service. */
type Fields = Map<string, Slot>;

type KeyMatch =
  | { kind: 'field'; service: string | null; spec: PropSpec; rank: number }
  | { kind: 'warning'; message: string }
  | { kind: 'issue'; message: string }
  | { kind: 'none' };

/** Longest property names first, so "backoff.minMs" is tried before a hypothetical "minMs". */
const SORTED_PROPS = new Map<Family, readonly string[]>(
  FAMILIES.map((f) => [f, Object.keys(f.props).sort((a, b) => b.length - a.length)]),
);

function splitServiceProp(
  family: Family,
  rest: string,
): { service: string | null; prop: string } | undefined {
  if (Object.hasOwn(family.props, rest)) return { service: null, prop: rest };
  for (const prop of SORTED_PROPS.get(family)!) {
    if (rest.length > prop.length + 1 && rest.endsWith(`.${prop}`)) {
      return { service: rest.slice(0, rest.length - prop.length - 1), prop };
    }
  }
  return undefined;
}

function matchKey(key: string): KeyMatch {
  for (const family of FAMILIES) {
    for (const { prefix, rank } of family.prefixes) {
      if (!key.startsWith(prefix)) continue;
      const rest = key.slice(prefix.length);
      if (family.layout === 'fault') return matchFault(family, rest, rank);
      const split = splitServiceProp(family, rest);
      if (split) return { kind: 'field', service: split.service, spec: family.props[split.prop]!, rank };
      if (family.ignored?.some((p) => rest === p || rest.endsWith(`.${p}`))) {
        return { kind: 'warning', message: `accepted for compatibility but has no effect in mesher` };
      }
      if (!family.owned) return { kind: 'none' };
      return {
        kind: 'issue',
        message: `unknown ${family.name} property (expected [<service>.]${Object.keys(family.props).join('|')})`,
      };
    }
  }
  for (const w of IGNORED_WITH_WARNING)
    if (w.pattern.test(key)) return { kind: 'warning', message: w.message };
  if (OWNED_NAMESPACES.some((ns) => key.startsWith(ns)))
    return { kind: 'issue', message: 'unknown resilience key' };
  return { kind: 'none' };
}

function matchFault(family: Family, rest: string, rank: number): KeyMatch {
  const at = rest.indexOf(FAULT_INFIX);
  if (at <= 0) {
    return {
      kind: 'issue',
      message: `expected {${FAULT_GLOBAL_SCOPE}|<service>}${FAULT_INFIX}rest.<property>`,
    };
  }
  const scope = rest.slice(0, at);
  const tail = rest.slice(at + FAULT_INFIX.length);
  const dot = tail.indexOf('.');
  const protocol = dot < 0 ? tail : tail.slice(0, dot);
  const prop = dot < 0 ? '' : tail.slice(dot + 1);
  if (protocol !== 'rest')
    return {
      kind: 'warning',
      message: `fault injection for protocol "${protocol}" is not supported; ignored`,
    };
  if (scope.includes('.schemas.')) {
    return {
      kind: 'warning',
      message: 'per-schema/operation fault rules never apply in mesher (no schema is known); ignored',
    };
  }
  const spec = family.props[prop];
  if (spec === undefined) {
    return {
      kind: 'issue',
      message: `unknown fault property (expected ${Object.keys(family.props).join('|')})`,
    };
  }
  return { kind: 'field', service: scope === FAULT_GLOBAL_SCOPE ? null : scope, spec, rank };
}

/** Expand nested plain objects into dotted leaves (the flat map may carry intermediate objects). */
function leaves(flat: Readonly<Record<string, unknown>>): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (prefix: string, v: unknown, depth: number) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && depth < 32) {
      for (const [k, child] of Object.entries(v)) walk(`${prefix}.${k}`, child, depth + 1);
    } else if (!out.has(prefix)) out.set(prefix, v);
  };
  // Leaves given directly win over the same key reached through an intermediate object.
  for (const [k, v] of Object.entries(flat)) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) out.set(k, v);
  }
  for (const [k, v] of Object.entries(flat)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) walk(k, v, 0);
  }
  return out;
}

function put(fields: Fields, path: string, slot: Slot): void {
  const old = fields.get(path);
  if (old === undefined || old.rank <= slot.rank) fields.set(path, slot);
}

/** A copy of `base` with `fields` applied; untouched sections keep their identity. */
function apply(base: ServicePolicy, fields: Fields): ServicePolicy {
  if (fields.size === 0) return base;
  const out: Record<string, unknown> = { ...base };
  const copied = new Set<object>();
  for (const [path, slot] of fields) {
    const parts = path.split('.');
    let parent = out;
    for (let i = 0; i < parts.length - 1; i++) {
      const name = parts[i]!;
      let child = parent[name] as Record<string, unknown>;
      if (!copied.has(child)) {
        child = { ...child };
        copied.add(child);
        parent[name] = child;
      }
      parent = child;
    }
    parent[parts[parts.length - 1]!] = slot.value;
  }
  return out as unknown as ServicePolicy;
}

type Section = keyof ServicePolicy;

/** Cross-field checks; an invalid section falls back to `fallback`'s and is reported. */
function validate(
  policy: ServicePolicy,
  fallback: ServicePolicy,
  where: (section: Section) => string,
  issues: PolicyIssue[],
): ServicePolicy {
  const checks: Record<Section, (p: ServicePolicy) => void> = {
    timeouts: () => {},
    breaker: (p) => validateBreakerConfig(p.breaker),
    fallback: () => {},
    retry: (p) => {
      validateBackoffConfig(p.retry.backoff);
      new RetryPolicy(p.retry);
    },
    retryBudget: (p) => validateRetryBudgetConfig(p.retryBudget),
    outlier: (p) => validateOutlierConfig(p.outlier),
    fault: (p) => validateFaultConfig(p.fault),
  };
  let out = policy;
  for (const section of Object.keys(checks) as Section[]) {
    if (policy[section] === fallback[section]) continue; // inherited unchanged: already valid
    try {
      checks[section](policy);
    } catch (err) {
      issues.push({ key: where(section), message: (err as Error).message });
      out = { ...out, [section]: fallback[section] };
    }
  }
  return out;
}

/** Canonical key prefix of a section, for cross-field messages. */
const SECTION_PREFIX: Record<Section, string> = {
  timeouts: 'servicecomb.timeout',
  breaker: 'cse.circuitBreaker.Consumer',
  fallback: 'cse.fallbackpolicy.Consumer',
  retry: 'cse.loadbalance',
  retryBudget: 'servicecomb.retry',
  outlier: 'servicecomb.outlierDetection',
  fault: 'cse.governance.Consumer',
};

function sectionKey(section: Section, service: string | null): string {
  if (section === 'fault')
    return `${SECTION_PREFIX.fault}.${service ?? FAULT_GLOBAL_SCOPE}.policy.fault.protocols.rest`;
  return service === null ? SECTION_PREFIX[section] : `${SECTION_PREFIX[section]}.${service}`;
}

/**
 * Parse every resilience key of `flat`. Never throws; `issues` lists every invalid key (with the
 * reason), `warnings` the keys accepted but ignored.
 */
export function parseResiliencePolicies(flat: Readonly<Record<string, unknown>>): PolicyParseResult {
  const issues: PolicyIssue[] = [];
  const warnings: PolicyIssue[] = [];
  const rateLimits = new RateLimitCollector(issues);
  const global: Fields = new Map();
  const perService = new Map<string, Fields>();
  // The marker form (servicecomb.matchGroup + servicecomb.retry.<marker>, ...) is read by
  // src/sidecar/governance; its keys are not this parser's unknown keys.
  const markers = markerNames(flat);

  for (const [key, value] of leaves(flat)) {
    if (ownsGovernanceKey(key, markers)) continue;
    if (rateLimits.offer(key, value)) continue;
    const m = matchKey(key);
    if (m.kind === 'none') continue;
    if (m.kind === 'warning') {
      warnings.push({ key, message: m.message });
      continue;
    }
    if (m.kind === 'issue') {
      issues.push({ key, message: m.message });
      continue;
    }
    const c = m.spec.coerce(value);
    if (!c.ok) {
      issues.push({ key, message: c.message });
      continue;
    }
    let fields = global;
    if (m.service !== null) {
      fields = perService.get(m.service) ?? new Map();
      perService.set(m.service, fields);
    }
    put(fields, m.spec.path, { value: c.value, rank: m.rank, key });
  }

  const defaults = validate(
    apply(DEFAULT_SERVICE_POLICY, global),
    DEFAULT_SERVICE_POLICY,
    (s) => sectionKey(s, null),
    issues,
  );
  deepFreeze(defaults);
  const services: Record<string, ServicePolicy> = Object.create(null);
  for (const [service, fields] of perService) {
    const p = validate(apply(defaults, fields), defaults, (s) => sectionKey(s, service), issues);
    services[service] = deepFreeze(p);
  }
  const policies = deepFreeze({ defaults, services, rateLimit: rateLimits.finish() });
  return { policies, issues, warnings };
}
