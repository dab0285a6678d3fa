/**
 * @module sidecar/resilience
 * The resilience factory (issue 4): turns each config version's flat keys into the consumer- and
 * provider-side steps, keeping the engines (circuits, retry budgets, outlier detectors, fault
 * injectors, token buckets) across versions so a reload resets a service's state only when that
 * service's settings changed. An invalid change (any issue from `parseResiliencePolicies`) is
 * logged with its keys and the last good policies stay in force.
 *
 *   outbound: … route → rate-limit → markers → fault → circuit-breaker → retry → outlier
 *             → timeout → load-balance → transport
 *   inbound:  … route → rate-limit (per source service, global) → markers → local-target
 *             → transport
 *
 * `markers` is the marker-based governance step (src/sidecar/governance): rateLimiting →
 * bulkhead → circuitBreaker → retry for calls a `servicecomb.matchGroup` marker matches; a
 * matching marker breaker or retry takes the place of the per-service one for that call.
 *
 * Wire it with `createStepAssembler({ more: [resilience.steps] })` and mount `adminHandler` at
 * `/v1/mesher/resilience` (snapshot of circuits, ejections, budgets, limits and faults). Given the
 * data plane's services, the outlier detectors count the service's instances from discovery (for
 * the ejection cap) and `/v1/mesher/instances` shows each instance's circuit and ejection
 * (`steps(...).resilience`).
 */
import type { Clock, Random } from '../shared/clock.ts';
import { createLogger, type Logger } from '../shared/log.ts';
import type { ServiceResilienceView } from './admin/instances.ts';
import type { AdminHandler } from './admin/types.ts';
import { CircuitBreaker } from './breaker/circuit-breaker.ts';
import type { BreakerConfig } from './breaker/types.ts';
import type { Step } from './chain/types.ts';
import type { SidecarConfig } from './config/types.ts';
import { type FaultConfig, FaultInjector } from './fault/fault-injector.ts';
import { createGovernance, type GovernanceSnapshot } from './governance/index.ts';
import { type OutlierConfig, OutlierDetector } from './outlier/outlier-detector.ts';
import {
  PerService,
  type PolicyIssue,
  parseResiliencePolicies,
  type ResiliencePolicies,
} from './policy/index.ts';
import { type RateLimitConfig, RateLimiter } from './ratelimit/rate-limiter.ts';
import { RetryBudget } from './retry/retry-budget.ts';
import type { RetryBudgetConfig } from './retry/types.ts';
import { createCircuitBreaker } from './steps/circuit-breaker.ts';
import { DeadlineQueue } from './steps/deadline-queue.ts';
import { createFault } from './steps/fault.ts';
import { createOutlier, type TrackedDetector } from './steps/outlier.ts';
import { createConsumerRateLimit, createProviderRateLimit } from './steps/rate-limit.ts';
import { createRetry } from './steps/retry.ts';
import { createTimeout } from './steps/timeout.ts';
import type { GovernanceCounters } from './telemetry/counters.ts';

export interface ResilienceDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly counters?: GovernanceCounters;
  readonly log?: Logger;
  /** Largest request body kept for retries (default 64 KiB). */
  readonly replayMaxBytes?: number;
}

/** What the resilience steps borrow from the data plane (src/sidecar/data-plane.ts `PlaneServices`). */
export interface ResiliencePlane {
  /** The service's current instance count in our own app (discovery cache, no I/O). */
  readonly endpointCount?: (service: string) => number | undefined;
}

export interface Resilience {
  /**
   * A `StepSource` for src/sidecar/extra-steps.ts: the steps for one config version, and the
   * per-service view for /v1/mesher/instances.
   */
  steps(
    config: SidecarConfig,
    plane?: ResiliencePlane,
  ): { outbound: Step[]; inbound: Step[]; resilience: (service: string) => ServiceResilienceView };
  /** Circuit and outlier state of one service (admin API). */
  serviceView(service: string): ServiceResilienceView;
  /** Circuits, ejections, budgets, limits, faults and the last rejected change (admin API). */
  snapshot(): ResilienceSnapshot;
  /** GET → 200 snapshot; other methods → 405. */
  readonly adminHandler: AdminHandler;
  /** The policies in force. */
  policies(): ResiliencePolicies;
}

export interface ResilienceSnapshot {
  readonly circuits: Record<string, unknown>;
  readonly ejections: Record<string, unknown>;
  readonly retryBudgets: Record<string, unknown>;
  readonly rateLimits: { readonly consumer: unknown; readonly provider: unknown };
  readonly faults: Record<string, unknown>;
  /** The marker-based form (servicecomb.matchGroup + rateLimiting...), src/sidecar/governance. */
  readonly governance?: GovernanceSnapshot;
  readonly lastRejected?: { readonly at: number; readonly issues: readonly PolicyIssue[] };
}

function hasLimits(c: RateLimitConfig): boolean {
  return c.enabled && (c.fallback !== null || Object.keys(c.limits).length > 0);
}

function stateName(s: 'closed' | 'open' | 'halfOpen'): 'closed' | 'open' | 'half-open' {
  return s === 'halfOpen' ? 'half-open' : s;
}

export function createResilience(deps: ResilienceDeps): Resilience {
  const { clock, random, counters } = deps;
  const log = deps.log ?? createLogger('sidecar.resilience');

  const breakers = new PerService<BreakerConfig, CircuitBreaker>(
    (service, config) => {
      const b = new CircuitBreaker(service, config, { clock });
      b.onTransition = (_from, to) => counters?.circuit.set(service, stateName(to));
      return b;
    },
    { isIdle: (b) => b.inFlight === 0 },
  );
  const budgets = new PerService<RetryBudgetConfig, RetryBudget>(
    (_s, config) => new RetryBudget(config, { clock }),
  );
  // Set from the data plane's services: read only when a detector considers an ejection.
  let endpointCount: ResiliencePlane['endpointCount'];
  const detectors = new PerService<OutlierConfig, TrackedDetector>((service, config) => ({
    detector: new OutlierDetector(config, { clock, service, endpointCount: () => endpointCount?.(service) }),
    service,
    published: new Set(),
  }));
  const injectors = new PerService<FaultConfig, FaultInjector>(
    (_s, config) => new FaultInjector(config, { random }),
  );

  // The marker-based form: its own last-good config, its step (rateLimiting, bulkhead,
  // circuitBreaker, retry by marker) next to the original's rate limit. Marker retries draw from
  // the same per-service retry budgets, jitter and replay bound as the per-service retry.
  const governance = createGovernance({
    clock,
    counters,
    random,
    budgets,
    ...(deps.replayMaxBytes === undefined ? {} : { replayMaxBytes: deps.replayMaxBytes }),
  });
  const timers = new DeadlineQueue(clock);
  let policies: ResiliencePolicies | undefined;
  let lastFlat: SidecarConfig['flat'] | undefined;
  let lastRejected: ResilienceSnapshot['lastRejected'];
  let consumerLimiter: RateLimiter | undefined;
  let providerLimiter: RateLimiter | undefined;

  function load(config: SidecarConfig): ResiliencePolicies {
    if (policies !== undefined && config.flat === lastFlat) return policies;
    lastFlat = config.flat;
    const parsed = parseResiliencePolicies(config.flat);
    for (const w of parsed.warnings) log.warn({ key: w.key }, `resilience key ignored: ${w.message}`);
    if (parsed.issues.length > 0) {
      for (const i of parsed.issues) log.error({ key: i.key }, `invalid resilience setting: ${i.message}`);
      lastRejected = { at: clock.now(), issues: parsed.issues };
      if (policies !== undefined) {
        log.error('resilience change rejected; the last good policies stay in force');
        return policies;
      }
      // Start-up has no last good config: valid keys apply, invalid ones keep their defaults.
      log.error('invalid resilience settings at start-up use their defaults');
    }
    policies = parsed.policies;
    if (consumerLimiter === undefined)
      consumerLimiter = new RateLimiter(policies.rateLimit.consumer, { clock });
    else consumerLimiter.update(policies.rateLimit.consumer);
    if (providerLimiter === undefined)
      providerLimiter = new RateLimiter(policies.rateLimit.provider, { clock });
    else providerLimiter.update(policies.rateLimit.provider);
    return policies;
  }

  function steps(config: SidecarConfig, plane?: ResiliencePlane) {
    if (plane?.endpointCount !== undefined) endpointCount = plane.endpointCount;
    const p = load(config);
    const outbound: Step[] = [];
    // Kept even without service limits (then one Map miss per call): route rules may carry their own.
    outbound.push(createConsumerRateLimit({ limiter: consumerLimiter!, clock, counters }));
    const marked = governance.steps(config);
    if (marked.outbound) outbound.push(marked.outbound);
    outbound.push(createFault({ policies: p, injectors, clock, counters }));
    outbound.push(createCircuitBreaker({ policies: p, breakers }));
    outbound.push(
      createRetry({ policies: p, budgets, clock, random, counters, replayMaxBytes: deps.replayMaxBytes }),
    );
    outbound.push(createOutlier({ policies: p, detectors, counters }));
    outbound.push(createTimeout({ policies: p, clock, timers }));
    const inbound: Step[] = [];
    if (hasLimits(p.rateLimit.provider))
      inbound.push(createProviderRateLimit({ limiter: providerLimiter!, clock, counters }));
    if (marked.inbound) inbound.push(marked.inbound);
    return { outbound, inbound, resilience: serviceView };
  }

  function serviceView(service: string): ServiceResilienceView {
    let circuit: ServiceResilienceView['circuit'];
    for (const [s, b] of breakers.entries()) if (s === service) circuit = { ...b.counters() };
    let outlier: ServiceResilienceView['outlier'];
    for (const [s, t] of detectors.entries()) if (s === service) outlier = t.detector.snapshot();
    return { ...(circuit ? { circuit } : {}), ...(outlier ? { outlier } : {}) };
  }

  function snapshot(): ResilienceSnapshot {
    const circuits: Record<string, unknown> = {};
    for (const [s, b] of breakers.entries()) circuits[s] = b.counters();
    const ejections: Record<string, unknown> = {};
    for (const [s, t] of detectors.entries()) ejections[s] = t.detector.snapshot();
    const retryBudgets: Record<string, unknown> = {};
    for (const [s, b] of budgets.entries()) retryBudgets[s] = b.counters();
    const faults: Record<string, unknown> = {};
    for (const [s, f] of injectors.entries()) faults[s] = f.counters();
    return {
      circuits,
      ejections,
      retryBudgets,
      rateLimits: { consumer: consumerLimiter?.counters(), provider: providerLimiter?.counters() },
      faults,
      governance: governance.snapshot(),
      ...(lastRejected ? { lastRejected } : {}),
    };
  }

  const adminHandler: AdminHandler = async (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return {
        status: 405,
        body: { code: 'METHOD_NOT_ALLOWED', message: 'Use GET' },
        headers: { allow: 'GET' },
      };
    }
    return { status: 200, body: snapshot() };
  };

  return {
    steps,
    serviceView,
    snapshot,
    adminHandler,
    policies: () => policies ?? load({ flat: {} } as unknown as SidecarConfig),
  };
}
