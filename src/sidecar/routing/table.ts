/**
 * @module sidecar/routing/table
 * The compiled, frozen route table: per target service, its rules sorted by precedence (highest
 * first; equal precedence keeps the written order, where the original's quicksort did not), each
 * with its compiled match and one precomputed `RouteDecision` per route, so deciding a call
 * allocates nothing. Built by ./parse.ts from config; read by ./router.ts.
 */
import { deepFreeze } from '../config/deep-freeze.ts';
import { type CompiledMatch, compileMatch, type Markers } from './match.ts';
import type { RouteDecision, RoutePolicy, RouteSpec, RuleSpec } from './types.ts';

export interface CompiledRoute {
  readonly weight: number;
  readonly decision: RouteDecision;
}

export interface CompiledRule {
  /** Position in the service's precedence-sorted list. */
  readonly index: number;
  readonly spec: RuleSpec;
  readonly match: CompiledMatch;
  readonly routes: readonly CompiledRoute[];
  /** 100 − the routes' weights: the share of calls that take the default selection. */
  readonly remainder: number;
  /** The decision for that remainder (the default selection, attributed to this rule). */
  readonly rest: RouteDecision;
}

export interface RouteTable {
  /** Target service → its rules, highest precedence first. */
  readonly services: ReadonlyMap<string, readonly CompiledRule[]>;
  /** Target service → the config key its rules came from (for the admin API and messages). */
  readonly origin: ReadonlyMap<string, string>;
}

/** The decision when no rule matches: every UP endpoint of the service in the caller's app. */
export const DEFAULT_DECISION: RouteDecision = Object.freeze({ routeKey: '*', tags: undefined, rule: -1 });

export const EMPTY_TABLE: RouteTable = Object.freeze({ services: new Map(), origin: new Map() });

/** `version=2.0.0,zone=a`: the tags sorted by name; identifies the endpoint subset. */
export function routeKeyOf(tags: Readonly<Record<string, string>> | undefined): string {
  if (tags === undefined) return '*';
  const keys = Object.keys(tags).sort();
  return keys.length === 0 ? '*' : keys.map((k) => `${k}=${tags[k]}`).join(',');
}

function policyOf(route: RouteSpec): RoutePolicy | undefined {
  if (route.timeoutMs === undefined && route.retry === undefined && route.rateLimit === undefined) {
    return undefined;
  }
  const p: { timeoutMs?: number; retry?: RoutePolicy['retry']; rateLimit?: RoutePolicy['rateLimit'] } = {};
  if (route.timeoutMs !== undefined) p.timeoutMs = route.timeoutMs;
  if (route.retry !== undefined) p.retry = route.retry;
  if (route.rateLimit !== undefined) p.rateLimit = route.rateLimit;
  return p;
}

function decisionOf(route: RouteSpec, rule: number): RouteDecision {
  const tags = Object.keys(route.tags).length === 0 ? undefined : route.tags;
  const d: { routeKey: string; tags: typeof tags; app?: string; policy?: RoutePolicy; rule: number } = {
    routeKey: routeKeyOf(tags),
    tags,
    rule,
  };
  if (tags?.app !== undefined) d.app = tags.app;
  const policy = policyOf(route);
  if (policy !== undefined) d.policy = policy;
  return deepFreeze(d);
}

/**
 * Compile one service's normalised rules (./parse-rule.ts guarantees they compile; a failure here
 * is a bug and throws).
 */
export function compileRules(specs: readonly RuleSpec[], markers?: Markers): readonly CompiledRule[] {
  const sorted = specs
    .map((spec, i) => ({ spec, i }))
    .sort((a, b) => b.spec.precedence - a.spec.precedence || a.i - b.i)
    .map((x) => deepFreeze(x.spec));
  return Object.freeze(
    sorted.map((spec, index) => {
      const m = compileMatch(spec.match, markers);
      if ('errors' in m) throw new Error(`route rule did not compile: ${m.errors[0]?.message}`);
      const routes = spec.route.map((r) =>
        Object.freeze({ weight: r.weight, decision: decisionOf(r, index) }),
      );
      const remainder = 100 - spec.route.reduce((s, r) => s + r.weight, 0);
      return Object.freeze({
        index,
        spec,
        match: m.match,
        routes: Object.freeze(routes),
        remainder,
        rest: Object.freeze({ routeKey: '*', tags: undefined, rule: index }),
      });
    }),
  );
}

/** The rules as written (normalised), per service: what the admin API shows; parses back to itself. */
export function tableSpecs(table: RouteTable): Record<string, readonly RuleSpec[]> {
  const out: Record<string, readonly RuleSpec[]> = {};
  for (const [svc, rules] of table.services) out[svc] = rules.map((r) => r.spec);
  return out;
}
