/**
 * @module sidecar/governance/parse-policy
 * The policy documents that name a marker: `servicecomb.<kind>.<marker>` for kind rateLimiting,
 * retry, circuitBreaker and bulkhead. One table per kind holds each field's coercer and default
 * (Java chassis 2.x defaults, so a document written for Java chassis means the same here);
 * unknown fields are issues, fields mesher accepts but cannot honour are warnings.
 */
import type { Report } from './parse-marker.ts';
import { isPlainObject, parseServices } from './parse-marker.ts';
import type {
  BulkheadMarkerPolicy,
  CircuitBreakerMarkerPolicy,
  RateLimitingPolicy,
  RetryMarkerPolicy,
} from './types.ts';
import {
  between,
  bool,
  type Coercer,
  duration,
  integer,
  oneOf,
  positive,
  show,
  statusList,
} from './values.ts';

export const POLICY_KINDS = ['rateLimiting', 'retry', 'circuitBreaker', 'bulkhead'] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];

interface FieldSpec {
  readonly coerce: Coercer;
  readonly default: unknown;
  /** Output property name when it differs (units in the name: `…Ms`). */
  readonly as?: string;
  /** Accepted, but mesher cannot honour a value other than the default: warn. */
  readonly warnUnlessDefault?: string;
}

type Table = Readonly<Record<string, FieldSpec>>;

const TABLES: Readonly<Record<PolicyKind, Table>> = {
  rateLimiting: {
    rate: { coerce: positive(1e9), default: 1000 },
    limitRefreshPeriod: { coerce: duration(1), default: 1000, as: 'limitRefreshPeriodMs' },
    timeoutDuration: {
      coerce: duration(0),
      default: 0,
      as: 'timeoutDurationMs',
      warnUnlessDefault: 'mesher never queues a call waiting for a permit: over the limit is 429 at once',
    },
  },
  retry: {
    maxAttempts: { coerce: integer(1, 100), default: 3 },
    retryOnSame: { coerce: integer(0, 100), default: 0 },
    retryOnResponseStatus: { coerce: statusList, default: Object.freeze([502, 503]) },
    waitDuration: { coerce: duration(0), default: 1, as: 'waitDurationMs' },
    retryStrategy: {
      coerce: oneOf('FixedInterval', 'RandomBackoff', 'ExponentialBackoff'),
      default: 'FixedInterval',
    },
    initialInterval: { coerce: duration(0), default: 1000, as: 'initialIntervalMs' },
    multiplier: { coerce: between(1, 100), default: 2 },
    randomizationFactor: { coerce: between(0, 1), default: 0.5 },
    failAfterMaxAttempts: { coerce: bool, default: false, warnUnlessDefault: 'not used' },
  },
  circuitBreaker: {
    failureRateThreshold: { coerce: between(0, 100), default: 50 },
    slowCallRateThreshold: { coerce: between(0, 100), default: 100 },
    slowCallDurationThreshold: { coerce: duration(1), default: 60_000, as: 'slowCallDurationThresholdMs' },
    minimumNumberOfCalls: { coerce: integer(1, 1_000_000), default: 100 },
    slidingWindowType: { coerce: oneOf('count', 'time'), default: 'count' },
    slidingWindowSize: { coerce: integer(1, 1_000_000), default: 100 },
    waitDurationInOpenState: { coerce: duration(1), default: 60_000, as: 'waitDurationInOpenStateMs' },
    permittedNumberOfCallsInHalfOpenState: { coerce: integer(1, 1000), default: 10 },
    recordFailureStatus: { coerce: statusList, default: Object.freeze([502, 503]) },
    forceOpen: { coerce: bool, default: false },
    forceClosed: { coerce: bool, default: false },
  },
  bulkhead: {
    maxConcurrentCalls: { coerce: integer(1, 1_000_000), default: 1000 },
    maxWaitDuration: { coerce: duration(0), default: 0, as: 'maxWaitDurationMs' },
  },
};

export type PolicyOf<K extends PolicyKind> = K extends 'rateLimiting'
  ? RateLimitingPolicy
  : K extends 'retry'
    ? RetryMarkerPolicy
    : K extends 'circuitBreaker'
      ? CircuitBreakerMarkerPolicy
      : BulkheadMarkerPolicy;

/** The field names of one kind (for messages and docs). */
export function policyFields(kind: PolicyKind): readonly string[] {
  return Object.keys(TABLES[kind]);
}

/**
 * Parse one policy document (already YAML-decoded). Returns undefined when it has issues; every
 * issue is keyed `<key>.<field>`.
 */
export function parsePolicy<K extends PolicyKind>(
  kind: K,
  name: string,
  doc: unknown,
  key: string,
  report: Report,
): PolicyOf<K> | undefined {
  if (!isPlainObject(doc)) {
    report.issue(key, `must be a YAML map of ${kind} settings (got ${show(doc)})`);
    return undefined;
  }
  const table = TABLES[kind];
  const out: Record<string, unknown> = { name };
  for (const [field, spec] of Object.entries(table)) out[spec.as ?? field] = spec.default;
  let okAll = true;
  for (const [field, value] of Object.entries(doc)) {
    const at = `${key}.${field}`;
    if (field === 'name') continue;
    if (field === 'services') {
      const s = parseServices(value, at, report);
      if (s) out.services = Object.freeze(s);
      else okAll = false;
      continue;
    }
    const spec = table[field];
    if (spec === undefined) {
      report.issue(at, `unknown ${kind} field (expected ${Object.keys(table).join(', ')}, services)`);
      okAll = false;
      continue;
    }
    if (value === null || value === undefined) continue;
    const c = spec.coerce(value);
    if (!c.ok) {
      report.issue(at, c.message);
      okAll = false;
      continue;
    }
    out[spec.as ?? field] = c.value;
    if (spec.warnUnlessDefault !== undefined && c.value !== spec.default)
      report.warning(at, `accepted but ignored: ${spec.warnUnlessDefault}`);
  }
  if (kind === 'circuitBreaker' && out.forceOpen === true && out.forceClosed === true) {
    report.issue(`${key}.forceClosed`, 'cannot be true together with forceOpen');
    okAll = false;
  }
  return okAll ? (Object.freeze(out) as unknown as PolicyOf<K>) : undefined;
}
