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
 * valid entries apply. Only `rateLimiting` is enforced: retry, circuitBreaker and bulkhead
 * documents are validated (their issues reject a version like any other) and reported as not
 * applied (docs/resilience.md says why and what to use instead).
 */
import type { Clock } from '../../shared/clock.ts';
import { createLogger, type Logger } from '../../shared/log.ts';
import type { Step } from '../chain/types.ts';
import type { SidecarConfig } from '../config/types.ts';
import { MarkerRateLimiter } from '../ratelimit/marker-limiter.ts';
import { createMarkerRateLimit } from '../steps/rate-limit.ts';
import type { GovernanceCounters } from '../telemetry/counters.ts';
import { parseGovernance } from './parse.ts';
import { EMPTY_GOVERNANCE, type GovernanceConfig, type GovernanceIssue } from './types.ts';

export { MarkerIndex, markerMatches, ruleMatches } from './match.ts';
export { MARKER_PREFIX, markerNames, ownsGovernanceKey, parseGovernance } from './parse.ts';
export type * from './types.ts';
export { EMPTY_GOVERNANCE } from './types.ts';

export interface GovernanceDeps {
  readonly clock: Clock;
  readonly counters?: GovernanceCounters;
  readonly log?: Logger;
}

export interface GovernanceSnapshot {
  readonly markers: readonly string[];
  readonly rateLimiting: unknown;
  /** Policies validated but not enforced by mesher (name lists per kind). */
  readonly notApplied: {
    readonly retry: string[];
    readonly circuitBreaker: string[];
    readonly bulkhead: string[];
  };
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
    for (const kind of ['retry', 'circuitBreaker', 'bulkhead'] as const) {
      for (const p of current[kind])
        log.warn(
          { key: `servicecomb.${kind}.${p.name}` },
          `governance: ${kind} markers are validated but not applied by mesher`,
        );
    }
    limiter.update(current);
    const step = createMarkerRateLimit({ limiter, counters });
    steps = {
      ...(limiter.has('outbound') ? { outbound: step } : {}),
      ...(limiter.has('inbound') ? { inbound: step } : {}),
    };
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
        notApplied: {
          retry: c.retry.map((p) => p.name),
          circuitBreaker: c.circuitBreaker.map((p) => p.name),
          bulkhead: c.bulkhead.map((p) => p.name),
        },
        ...(lastRejected ? { lastRejected } : {}),
      };
    },
  };
}
