/**
 * @module sidecar/routing/router
 * The per-request part of routing: `decide(service, request)` walks the service's rules (highest
 * precedence first), takes the first whose match holds, and picks one of its routes by smooth
 * weighted round robin, one picker per (service, rule). Weights under 100 send the remainder to the
 * default selection. No rule matches → `DEFAULT_DECISION` (every UP endpoint in the caller's app).
 *
 * A Router is built once per (table, caller identity): rules whose `source`/`sourceTags` cannot
 * match this caller are dropped then. Built from a new table with `previous`, it adopts the round
 * robin state of rules whose routes did not change, so a reload that does not touch a split keeps
 * it exactly on its weights.
 */
import { matchesCaller, matchesRequest } from './match.ts';
import { SmoothWeighted } from './swrr.ts';
import { type CompiledRule, DEFAULT_DECISION, type RouteTable } from './table.ts';
import type { CallerIdentity, RequestView, RouteDecision } from './types.ts';

interface LiveRule {
  readonly rule: CompiledRule;
  /** Decisions in picker order: the routes, then the default remainder. */
  readonly decisions: readonly RouteDecision[];
  readonly picker: SmoothWeighted;
  /** The picker's identity across reloads: service + precedence + routes. */
  readonly stateKey: string;
}

export class Router {
  readonly table: RouteTable;
  readonly caller: CallerIdentity;
  readonly #rules = new Map<string, readonly LiveRule[]>();

  constructor(table: RouteTable, caller: CallerIdentity, previous?: Router) {
    this.table = table;
    this.caller = caller;
    const old = new Map<string, SmoothWeighted>();
    if (previous) {
      for (const list of previous.#rules.values()) for (const l of list) old.set(l.stateKey, l.picker);
    }
    for (const [service, rules] of table.services) {
      const live: LiveRule[] = [];
      for (const rule of rules) {
        if (!matchesCaller(rule.spec.match, caller)) continue;
        const weights = [...rule.routes.map((r) => r.weight), rule.remainder];
        const stateKey = `${service}\u0000${rule.spec.precedence}\u0000${JSON.stringify(rule.spec.route)}`;
        live.push({
          rule,
          decisions: [...rule.routes.map((r) => r.decision), rule.rest],
          picker: new SmoothWeighted(weights, old.get(stateKey)),
          stateKey,
        });
      }
      if (live.length > 0) this.#rules.set(service, live);
    }
  }

  /** Where a call to `service` goes. Synchronous, allocation-free; runs per outbound request. */
  decide(service: string, req: RequestView): RouteDecision {
    const rules = this.#rules.get(service);
    if (rules === undefined) return DEFAULT_DECISION;
    for (let i = 0; i < rules.length; i++) {
      const live = rules[i]!;
      if (!matchesRequest(live.rule.match, req)) continue;
      const at = live.picker.pick();
      return at === -1 ? live.rule.rest : live.decisions[at]!;
    }
    return DEFAULT_DECISION;
  }

  /** Whether any rule applies to calls to `service` from this caller. */
  has(service: string): boolean {
    return this.#rules.has(service);
  }
}

/** Build a Router (see the module comment). */
export function createRouter(table: RouteTable, caller: CallerIdentity, previous?: Router): Router {
  return new Router(table, caller, previous);
}
