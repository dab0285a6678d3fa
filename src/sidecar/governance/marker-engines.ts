/**
 * @module sidecar/governance/marker-engines
 * The engines behind the marker `servicecomb.retry` / `.circuitBreaker` / `.bulkhead` policies,
 * kept across config versions, and the per-direction match index of each kind:
 *
 * - circuitBreaker: one gate (src/sidecar/breaker/circuit-breaker.ts with the resilience4j
 *   ../breaker/sliding-accrual.ts) per (marker, called service), created on first use; a policy
 *   whose settings did not change keeps its circuits across a reload, a changed one starts fresh
 *   (as the per-service breakers do);
 * - bulkhead: one semaphore (../breaker/bulkhead.ts) per (marker, service); a reload changes its
 *   limits in place, so calls holding slots stay counted;
 * - retry: the policy and its backoff (./retry-policy.ts) per marker; retries draw from the called
 *   service's retry budget (the resilience factory's when it lends it, else one of our own with the
 *   default budget settings).
 *
 * Services come from the config (outbound rules name them; inbound is the sidecar's own), so the
 * stores are bounded by the config (≤ 256 policies per kind), never by traffic.
 */
import type { Clock, Random } from '../../shared/clock.ts';
import { Bulkhead, type BulkheadCounters } from '../breaker/bulkhead.ts';
import { CircuitBreaker } from '../breaker/circuit-breaker.ts';
import { DEFAULT_FAILURE_ERROR_CODES } from '../breaker/classifier.ts';
import { SlidingAccrual } from '../breaker/sliding-accrual.ts';
import type { BreakerConfig, BreakerCounters, CircuitState } from '../breaker/types.ts';
import type { Direction } from '../chain/types.ts';
import { DEFAULT_SERVICE_POLICY, PerService, sameConfig } from '../policy/index.ts';
import type { Backoff } from '../retry/backoff.ts';
import { RetryBudget } from '../retry/retry-budget.ts';
import type { RetryBudgetConfig } from '../retry/types.ts';
import type { GovernanceCounters } from '../telemetry/counters.ts';
import { MarkerIndex } from './match.ts';
import { MarkerRetryPolicy, markerBackoff } from './retry-policy.ts';
import type {
  BulkheadMarkerPolicy,
  CircuitBreakerMarkerPolicy,
  GovernanceConfig,
  Marker,
  RetryMarkerPolicy,
} from './types.ts';

export interface MarkerEnginesDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly counters?: GovernanceCounters;
  /** The per-service retry budgets to share (src/sidecar/resilience.ts); default: our own. */
  readonly budgets?: PerService<RetryBudgetConfig, RetryBudget>;
}

export interface RetrySlot {
  readonly name: string;
  readonly policy: RetryMarkerPolicy;
  readonly attempts: MarkerRetryPolicy;
  readonly backoff: Backoff;
  /** Calls the policy matched. */
  calls: number;
}

export interface BreakerSlot {
  readonly name: string;
  readonly policy: CircuitBreakerMarkerPolicy;
  readonly config: BreakerConfig;
  readonly breakers: Map<string, CircuitBreaker>;
}

export interface BulkheadSlot {
  readonly name: string;
  readonly policy: BulkheadMarkerPolicy;
  readonly bulkheads: Map<string, Bulkhead>;
}

export type MarkerCircuitView = BreakerCounters & { readonly windowSlowCalls: number };

export interface MarkerEnginesSnapshot {
  readonly retry: Record<string, RetryMarkerPolicy & { readonly calls: number }>;
  readonly circuitBreaker: Record<string, Record<string, MarkerCircuitView>>;
  readonly bulkhead: Record<string, Record<string, BulkheadCounters>>;
}

/** The gate's Hystrix fields are unused with the sliding accrual; these only pass validation. */
export function breakerConfigOf(p: CircuitBreakerMarkerPolicy): BreakerConfig {
  return Object.freeze({
    enabled: true,
    enforced: true,
    forceOpen: p.forceOpen,
    forceClosed: p.forceClosed,
    requestVolumeThreshold: p.minimumNumberOfCalls,
    errorThresholdPercentage: p.failureRateThreshold,
    sleepWindowMs: Math.max(1, Math.round(p.waitDurationInOpenStateMs)),
    rollingWindowMs: 1000,
    rollingBuckets: 1,
    // The marker bulkhead is a separate policy (../breaker/bulkhead.ts): no bound here.
    maxConcurrentRequests: 2 ** 31 - 1,
    classifier: Object.freeze({
      failureStatuses: p.recordFailureStatus,
      failureErrorCodes: DEFAULT_FAILURE_ERROR_CODES,
    }),
  });
}

function stateName(s: CircuitState): 'closed' | 'open' | 'half-open' {
  return s === 'halfOpen' ? 'half-open' : s;
}

function indexOf<P extends { readonly name: string }, T>(
  policies: readonly P[],
  markers: GovernanceConfig['markers'],
  slotOf: (p: P) => T,
): MarkerIndex<T> {
  const items: { item: T; marker: Marker }[] = [];
  for (const p of policies) {
    const marker = markers[p.name];
    if (marker !== undefined) items.push({ item: slotOf(p), marker });
  }
  return new MarkerIndex(items);
}

export class MarkerEngines {
  readonly #deps: MarkerEnginesDeps;
  readonly #budgets: PerService<RetryBudgetConfig, RetryBudget>;
  #retrySlots = new Map<string, RetrySlot>();
  #breakerSlots = new Map<string, BreakerSlot>();
  #bulkheadSlots = new Map<string, BulkheadSlot>();
  retry = new MarkerIndex<RetrySlot>([]);
  breaker = new MarkerIndex<BreakerSlot>([]);
  bulkhead = new MarkerIndex<BulkheadSlot>([]);

  constructor(deps: MarkerEnginesDeps) {
    this.#deps = deps;
    this.#budgets =
      deps.budgets ?? new PerService((_s, c: RetryBudgetConfig) => new RetryBudget(c, { clock: deps.clock }));
  }

  /** Rebuild the indexes for a config version, keeping the engines of unchanged policies. */
  update(config: GovernanceConfig): void {
    const retrySlots = new Map<string, RetrySlot>();
    this.retry = indexOf(config.retry, config.markers, (policy) => {
      const old = this.#retrySlots.get(policy.name);
      const slot: RetrySlot =
        old !== undefined && sameConfig(old.policy, policy)
          ? old
          : {
              name: policy.name,
              policy,
              attempts: new MarkerRetryPolicy(policy),
              backoff: markerBackoff(policy, this.#deps.random),
              calls: 0,
            };
      retrySlots.set(policy.name, slot);
      return slot;
    });
    this.#retrySlots = retrySlots;

    const breakerSlots = new Map<string, BreakerSlot>();
    this.breaker = indexOf(config.circuitBreaker, config.markers, (policy) => {
      const old = this.#breakerSlots.get(policy.name);
      const slot: BreakerSlot =
        old !== undefined && sameConfig(old.policy, policy)
          ? old
          : { name: policy.name, policy, config: breakerConfigOf(policy), breakers: new Map() };
      breakerSlots.set(policy.name, slot);
      return slot;
    });
    this.#breakerSlots = breakerSlots;

    const bulkheadSlots = new Map<string, BulkheadSlot>();
    this.bulkhead = indexOf(config.bulkhead, config.markers, (policy) => {
      const old = this.#bulkheadSlots.get(policy.name);
      if (old !== undefined) for (const b of old.bulkheads.values()) b.update(policy);
      const slot: BulkheadSlot = { name: policy.name, policy, bulkheads: old?.bulkheads ?? new Map() };
      bulkheadSlots.set(policy.name, slot);
      return slot;
    });
    this.#bulkheadSlots = bulkheadSlots;
  }

  /** Whether any policy of a kind can match calls in `direction`. */
  has(kind: 'retry' | 'breaker' | 'bulkhead', direction: Direction): boolean {
    return this[kind].has(direction);
  }

  breakerFor(slot: BreakerSlot, service: string): CircuitBreaker {
    let b = slot.breakers.get(service);
    if (b === undefined) {
      const { clock, counters } = this.#deps;
      const policy = slot.policy;
      let accrual: SlidingAccrual | undefined;
      b = new CircuitBreaker(`${slot.name}/${service}`, slot.config, {
        clock,
        accrual: (c) => {
          accrual = new SlidingAccrual(c, {
            ...policy,
            waitDurationInOpenStateMs: slot.config.sleepWindowMs,
          });
          return accrual;
        },
      });
      if (accrual !== undefined) accruals.set(b, accrual);
      b.onTransition = (_from, to) => counters?.markerCircuit?.set(slot.name, service, stateName(to));
      slot.breakers.set(service, b);
    }
    return b;
  }

  bulkheadFor(slot: BulkheadSlot, service: string): Bulkhead {
    let b = slot.bulkheads.get(service);
    if (b === undefined) {
      b = new Bulkhead(slot.policy, { clock: this.#deps.clock });
      slot.bulkheads.set(service, b);
    }
    return b;
  }

  budgetFor(service: string): RetryBudget {
    return this.#budgets.get(service, DEFAULT_SERVICE_POLICY.retryBudget);
  }

  snapshot(): MarkerEnginesSnapshot {
    const retry: MarkerEnginesSnapshot['retry'] = {};
    for (const [name, s] of this.#retrySlots) retry[name] = { ...s.policy, calls: s.calls };
    const circuitBreaker: MarkerEnginesSnapshot['circuitBreaker'] = {};
    for (const [name, s] of this.#breakerSlots) {
      const per: Record<string, MarkerCircuitView> = {};
      for (const [svc, b] of s.breakers) per[svc] = { ...b.counters(), windowSlowCalls: slowCalls(b) };
      circuitBreaker[name] = per;
    }
    const bulkhead: MarkerEnginesSnapshot['bulkhead'] = {};
    for (const [name, s] of this.#bulkheadSlots) {
      const per: Record<string, BulkheadCounters> = {};
      for (const [svc, b] of s.bulkheads) per[svc] = b.counters();
      bulkhead[name] = per;
    }
    return { retry, circuitBreaker, bulkhead };
  }
}

/** Each marker gate's accrual, for the slow-call count of the snapshot. */
const accruals = new WeakMap<CircuitBreaker, SlidingAccrual>();

/** Slow calls in a marker breaker's window. */
function slowCalls(b: CircuitBreaker): number {
  return accruals.get(b)?.windowSlowCalls ?? 0;
}
