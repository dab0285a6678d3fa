/**
 * @module sidecar/telemetry/counters
 * The typed counters and gauges governance steps (issue 4) and the wiring feed, so they never touch
 * prom-client or metric names themselves:
 *
 *   counters.retry.inc(service)                      mesher_retries_total{service}
 *   counters.retryBudgetExhausted.inc(service)       mesher_retry_budget_exhausted_total{service}
 *   counters.rateLimited.inc(service, direction)     mesher_rate_limited_total{service,direction}
 *   counters.fault.inc(service, 'abort' | 'delay')   mesher_faults_injected_total{service,kind}
 *   counters.circuit.set(service, 'open', instance?) mesher_circuit_state{service,instance} 0/1/2
 *                                                    + mesher_circuit_transitions_total{service,to}
 *   counters.ejection.eject(service, instance)       mesher_ejections_total{service}
 *                                                    + mesher_endpoint_ejected{service,instance} 1
 *   counters.ejection.restore(service, instance)     mesher_endpoint_ejected … 0
 *   counters.ejection.forget(service, instance)      drop the instance's series (it left the registry)
 *   counters.markerCircuit.set(marker, service, s)   mesher_marker_circuit_state{marker,service} 0/1/2
 *   counters.bulkheadRejected.inc(marker, service)   mesher_marker_bulkhead_rejected_total{marker,service}
 *   counters.setRegistryHealth(ok)                   mesher_registry_up 0/1
 *   counters.setRegistered(ok)                       mesher_registered 0/1
 *
 * Services go through the same LabelCap as the request metrics; per-instance series are bounded too.
 */
import type { LabelCap } from './label-cap.ts';
import { LabeledMetric, type RegistryMetric } from './labeled-metric.ts';

export type CircuitStateName = 'closed' | 'half-open' | 'open';
const CIRCUIT_VALUE: Record<CircuitStateName, number> = { closed: 0, 'half-open': 1, open: 2 };

export interface GovernanceCounters {
  readonly retry: { inc(service: string): void };
  readonly retryBudgetExhausted: { inc(service: string): void };
  readonly rateLimited: { inc(service: string, direction: 'inbound' | 'outbound'): void };
  readonly fault: { inc(service: string, kind: 'abort' | 'delay'): void };
  readonly circuit: { set(service: string, state: CircuitStateName, instance?: string): void };
  readonly ejection: {
    eject(service: string, instance: string): void;
    restore(service: string, instance: string): void;
    forget(service: string, instance: string): void;
  };
  /** Marker `servicecomb.circuitBreaker` circuits, per (marker, service). Optional for fakes. */
  readonly markerCircuit?: { set(marker: string, service: string, state: CircuitStateName): void };
  /** Calls a marker `servicecomb.bulkhead` rejected. Optional for fakes. */
  readonly bulkheadRejected?: { inc(marker: string, service: string): void };
  /** Registry client health: whether the last heartbeat/call to the registry succeeded. */
  setRegistryHealth(ok: boolean): void;
  /** Whether this sidecar's instance is registered. */
  setRegistered(ok: boolean): void;
}

export interface CountersWithMetrics extends GovernanceCounters {
  readonly metrics: readonly RegistryMetric[];
}

export function createGovernanceCounters(services: LabelCap): CountersWithMetrics {
  const retries = new LabeledMetric('mesher_retries_total', 'Retry attempts made', 'counter', ['service']);
  const budget = new LabeledMetric(
    'mesher_retry_budget_exhausted_total',
    'Retries skipped because the retry budget was spent',
    'counter',
    ['service'],
  );
  const limited = new LabeledMetric(
    'mesher_rate_limited_total',
    'Requests rejected by a rate limit',
    'counter',
    ['service', 'direction'],
  );
  const faults = new LabeledMetric('mesher_faults_injected_total', 'Faults injected by policy', 'counter', [
    'service',
    'kind',
  ]);
  const circuitState = new LabeledMetric(
    'mesher_circuit_state',
    'Circuit breaker state: 0 closed, 1 half-open, 2 open (instance "" = the whole service)',
    'gauge',
    ['service', 'instance'],
  );
  const transitions = new LabeledMetric(
    'mesher_circuit_transitions_total',
    'Circuit breaker state changes',
    'counter',
    ['service', 'to'],
  );
  const ejections = new LabeledMetric(
    'mesher_ejections_total',
    'Outlier ejections of an endpoint',
    'counter',
    ['service'],
  );
  const ejected = new LabeledMetric(
    'mesher_endpoint_ejected',
    'Whether an endpoint is currently ejected by outlier detection (1) or not (0)',
    'gauge',
    ['service', 'instance'],
  );
  const registryUp = new LabeledMetric(
    'mesher_registry_up',
    'Registry client health (1 = last contact ok)',
    'gauge',
    [],
  );
  const registered = new LabeledMetric(
    'mesher_registered',
    'Whether this instance is registered (1) or not (0)',
    'gauge',
    [],
  );
  const markerCircuit = new LabeledMetric(
    'mesher_marker_circuit_state',
    'Marker circuitBreaker policy state per called service: 0 closed, 1 half-open, 2 open',
    'gauge',
    ['marker', 'service'],
  );
  const bulkheadRejected = new LabeledMetric(
    'mesher_marker_bulkhead_rejected_total',
    'Calls a marker bulkhead policy rejected (no slot within maxWaitDuration)',
    'counter',
    ['marker', 'service'],
  );
  registryUp.set([], 0);
  registered.set([], 0);

  const s = (service: string) => services.apply(service);
  return {
    retry: { inc: (service) => retries.inc([s(service)]) },
    retryBudgetExhausted: { inc: (service) => budget.inc([s(service)]) },
    rateLimited: { inc: (service, direction) => limited.inc([s(service), direction]) },
    fault: { inc: (service, kind) => faults.inc([s(service), kind]) },
    circuit: {
      set(service, state, instance = '') {
        const key = [s(service), instance];
        const value = CIRCUIT_VALUE[state];
        if (circuitState.value(key) !== value) transitions.inc([key[0]!, state]);
        circuitState.set(key, value);
      },
    },
    ejection: {
      eject(service, instance) {
        ejections.inc([s(service)]);
        ejected.set([s(service), instance], 1);
      },
      restore: (service, instance) => ejected.set([s(service), instance], 0),
      forget: (service, instance) => ejected.remove([s(service), instance]),
    },
    markerCircuit: {
      set: (marker, service, state) => markerCircuit.set([marker, s(service)], CIRCUIT_VALUE[state]),
    },
    bulkheadRejected: { inc: (marker, service) => bulkheadRejected.inc([marker, s(service)]) },
    setRegistryHealth: (ok) => registryUp.set([], ok ? 1 : 0),
    setRegistered: (ok) => registered.set([], ok ? 1 : 0),
    metrics: [
      retries,
      budget,
      limited,
      faults,
      circuitState,
      transitions,
      ejections,
      ejected,
      registryUp,
      registered,
      markerCircuit,
      bulkheadRejected,
    ],
  };
}
