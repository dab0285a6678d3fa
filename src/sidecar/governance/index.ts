/**
 * @module sidecar/governance
 * ServiceComb's marker-based governance form (`servicecomb.matchGroup.<name>` markers and the
 * `rateLimiting` / `retry` / `circuitBreaker` / `bulkhead` policies that name them), per config
 * version, with the validate-or-keep-last-good rule of the other resilience settings:
 *
 *   const governance = createGovernance({ clock, counters, log });
 *   const { outbound, inbound } = governance.steps(config);   // each a Step or undefined
 *
 * A version with any issue is rejected as a whole (each issue logged with its key, shown as
 * `lastRejected` in the snapshot) and the last good governance stays in force; at start-up the
 * valid entries apply. Every kind is enforced; each direction's step runs, for a call, the first
 * matching policy of each kind in this order (docs/resilience.md "Marker-based governance"):
 *
 *   rateLimiting → bulkhead → circuitBreaker → retry (outbound only) → the rest of the chain
 *
 * A marker circuitBreaker or retry policy wins over the per-service (`cse.*`) one for the calls it
 * matches (../steps/marker-governed.ts).
 */
import type { Clock, Random } from '../../shared/clock.ts';
import { createLogger, type Logger } from '../../shared/log.ts';
import type { CallContext, Next, Outcome, Step } from '../chain/types.ts';
import type { SidecarConfig } from '../config/types.ts';
import type { PerService } from '../policy/index.ts';
import { MarkerRateLimiter } from '../ratelimit/marker-limiter.ts';
import type { RetryBudget } from '../retry/retry-budget.ts';
import type { RetryBudgetConfig } from '../retry/types.ts';
import { createMarkerBulkhead } from '../steps/marker-bulkhead.ts';
import { createMarkerCircuitBreaker } from '../steps/marker-circuit-breaker.ts';
import { createMarkerRetry } from '../steps/marker-retry.ts';
import { createMarkerRateLimit } from '../steps/rate-limit.ts';
import type { GovernanceCounters } from '../telemetry/counters.ts';
import { MarkerEngines, type MarkerEnginesSnapshot } from './marker-engines.ts';
import { parseGovernance } from './parse.ts';
import { EMPTY_GOVERNANCE, type GovernanceConfig, type GovernanceIssue } from './types.ts';

export { MarkerEngines } from './marker-engines.ts';
export { MarkerIndex, markerMatches, ruleMatches } from './match.ts';
export { MARKER_PREFIX, markerNames, ownsGovernanceKey, parseGovernance } from './parse.ts';
export { MarkerRetryPolicy, markerBackoff } from './retry-policy.ts';
export type * from './types.ts';
export { EMPTY_GOVERNANCE } from './types.ts';

export interface GovernanceDeps {
  readonly clock: Clock;
  readonly counters?: GovernanceCounters;
  readonly log?: Logger;
  /** For RandomBackoff jitter (default Math.random). */
  readonly random?: Random;
  /** The per-service retry budgets marker retries draw from (default: the governance's own). */
  readonly budgets?: PerService<RetryBudgetConfig, RetryBudget>;
  /** Largest request body kept for marker retries (default 64 KiB). */
  readonly replayMaxBytes?: number;
}

export interface GovernanceSnapshot {
  readonly markers: readonly string[];
  readonly rateLimiting: unknown;
  /** Per retry policy: its settings and the calls it matched. */
  readonly retry: MarkerEnginesSnapshot['retry'];
  /** Per circuitBreaker policy, per called service: the circuit's state and counters. */
  readonly circuitBreaker: MarkerEnginesSnapshot['circuitBreaker'];
  /** Per bulkhead policy, per service: limits, in flight, waiting, admitted, rejected. */
  readonly bulkhead: MarkerEnginesSnapshot['bulkhead'];
  readonly lastRejected?: { readonly at: number; readonly issues: readonly GovernanceIssue[] };
}

export interface Governance {
  /** The marker steps for one config version; undefined where no marker can match that side. */
  steps(config: SidecarConfig): { outbound?: Step; inbound?: Step };
  /** The governance in force. */
  current(): GovernanceConfig;
  snapshot(): GovernanceSnapshot;
}

export function createGovernance(deps: GovernanceDeps): Governance {
  const { clock, counters } = deps;
  const log = deps.log ?? createLogger('sidecar.governance');
  let current: GovernanceConfig | undefined;
  let lastFlat: SidecarConfig['flat'] | undefined;
  let lastRejected: GovernanceSnapshot['lastRejected'];
  const limiter = new MarkerRateLimiter(EMPTY_GOVERNANCE, { clock });
  const engines = new MarkerEngines({
    clock,
    random: deps.random ?? Math.random,
    counters,
    ...(deps.budgets ? { budgets: deps.budgets } : {}),
  });
  const rateLimit = createMarkerRateLimit({ limiter, counters });
  const bulkhead = createMarkerBulkhead({ engines, counters });
  const breaker = createMarkerCircuitBreaker({ engines, clock });
  const retry = createMarkerRetry({ engines, clock, counters, replayMaxBytes: deps.replayMaxBytes });
  let steps: { outbound?: Step; inbound?: Step } = {};

  function load(config: SidecarConfig): void {
    if (current !== undefined && config.flat === lastFlat) return;
    lastFlat = config.flat;
    // Partial configs (unit tests of other steps) have no identity: then `services` filters nothing.
    const svc = config.service as SidecarConfig['service'] | undefined;
    const parsed = parseGovernance(config.flat, svc && { name: svc.name, version: svc.version });
    for (const w of parsed.warnings) log.warn({ key: w.key }, `governance: ${w.message}`);
    if (parsed.issues.length > 0) {
      for (const i of parsed.issues) log.error({ key: i.key }, `invalid governance setting: ${i.message}`);
      lastRejected = { at: clock.now(), issues: parsed.issues };
      if (current !== undefined) {
        log.error('governance change rejected; the last good markers and policies stay in force');
        return;
      }
      log.error('invalid governance settings at start-up are left out');
    }
    current = parsed.config;
    limiter.update(current);
    engines.update(current);
    const side = (d: 'outbound' | 'inbound') =>
      chainOf([
        ...(limiter.has(d) ? [rateLimit] : []),
        ...(engines.has('bulkhead', d) ? [bulkhead] : []),
        ...(engines.has('breaker', d) ? [breaker] : []),
        ...(d === 'outbound' && engines.has('retry', d) ? [retry] : []),
      ]);
    const outbound = side('outbound');
    const inbound = side('inbound');
    steps = { ...(outbound ? { outbound } : {}), ...(inbound ? { inbound } : {}) };
  }

  return {
    steps(config) {
      load(config);
      return steps;
    },
    current: () => current ?? EMPTY_GOVERNANCE,
    snapshot() {
      const c = current ?? EMPTY_GOVERNANCE;
      return {
        markers: Object.keys(c.markers),
        rateLimiting: limiter.counters(),
        ...engines.snapshot(),
        ...(lastRejected ? { lastRejected } : {}),
      };
    },
  };
}

/** Several steps as one (the data plane takes one marker step per direction); undefined if none. */
export function chainOf(steps: readonly Step[]): Step | undefined {
  if (steps.length <= 1) return steps[0];
  const at = (k: number, call: CallContext, next: Next): Promise<Outcome> =>
    k === steps.length ? next(call) : steps[k]!(call, (c) => at(k + 1, c, next));
  return function markerGovernance(call, next) {
    return at(0, call, next);
  };
}
