/**
 * @module sidecar/governance/types
 * The frozen values of ServiceComb's marker-based governance form (Java chassis 2.x / go-chassis
 * v2): traffic markers (`servicecomb.matchGroup.<name>`) and the policies that name them
 * (`servicecomb.rateLimiting.<name>`, `.retry.<name>`, `.circuitBreaker.<name>`,
 * `.bulkhead.<name>`). Produced once per config version by `parseGovernance` (./parse.ts); the
 * request path only reads them.
 */

/** How a string (apiPath, header, query value) is tested. Every operator of a condition must hold. */
export type StringOp =
  | { readonly op: 'exact' | 'prefix' | 'suffix' | 'contains'; readonly value: string }
  /** Bounded: pattern ≤ 512 chars, no nested quantifiers, inputs over 8 KiB never match. */
  | { readonly op: 'regex'; readonly value: string; readonly re: RegExp }
  /** Numeric comparison of the whole string (`>10`, `<=2.5`, `=3`, `!=0`, `!0`). */
  | { readonly op: 'compare'; readonly value: string; readonly cmp: CompareKind; readonly n: number };

export type CompareKind = '>' | '<' | '=' | '>=' | '<=' | '!=';

/** A list of operators that must all hold (the Java chassis `RawOperator`). */
export type Condition = readonly StringOp[];

export interface NamedCondition {
  /** Header names are lower-cased; query names are kept as written. */
  readonly name: string;
  readonly condition: Condition;
}

/**
 * One entry of a marker's `matches`: every field that is set must hold (AND). A marker matches a
 * call when any of its entries does (OR).
 */
export interface MatchRule {
  /** Upper-cased methods; undefined = any method. */
  readonly methods?: readonly string[];
  /** Tested against the path without the query string. */
  readonly apiPath?: Condition;
  readonly headers?: readonly NamedCondition[];
  readonly queries?: readonly NamedCondition[];
  /**
   * The called service. As in Java chassis, only the consumer side knows it: a rule with
   * `serviceName` matches outbound calls to that service and never an inbound call; a rule without
   * it matches inbound calls only (see docs/resilience.md "Marker-based governance").
   */
  readonly serviceName?: string;
  /** Java chassis fields mesher cannot evaluate (`customMatcher`): the rule never matches. */
  readonly unsupported?: true;
}

/** `services: a, b:1.0.0`: where a marker or policy applies (the sidecar's own service). */
export interface ServiceSelector {
  readonly name: string;
  /** undefined = any version. */
  readonly version?: string;
}

export interface Marker {
  readonly name: string;
  readonly matches: readonly MatchRule[];
  /** undefined = every sidecar. */
  readonly services?: readonly ServiceSelector[];
}

export interface RateLimitingPolicy {
  readonly name: string;
  /** Permits per `limitRefreshPeriodMs` (Java chassis `rate`, resilience4j `limitForPeriod`). */
  readonly rate: number;
  readonly limitRefreshPeriodMs: number;
  /** Accepted for compatibility; mesher never queues a call waiting for a permit. */
  readonly timeoutDurationMs: number;
  readonly services?: readonly ServiceSelector[];
}

export interface RetryMarkerPolicy {
  readonly name: string;
  /** Attempts in all, the first included (resilience4j `maxAttempts`). */
  readonly maxAttempts: number;
  readonly retryOnSame: number;
  readonly retryOnResponseStatus: readonly number[];
  /** FixedInterval: the wait before every retry, ms. */
  readonly waitDurationMs: number;
  /**
   * FixedInterval: `waitDurationMs` each time. RandomBackoff (Java chassis): initialIntervalMs ×
   * multiplier^(n-1), ± randomizationFactor. ExponentialBackoff: the same without randomization.
   */
  readonly retryStrategy: 'FixedInterval' | 'RandomBackoff' | 'ExponentialBackoff';
  readonly initialIntervalMs: number;
  readonly multiplier: number;
  readonly randomizationFactor: number;
  readonly services?: readonly ServiceSelector[];
}

export interface CircuitBreakerMarkerPolicy {
  readonly name: string;
  readonly failureRateThreshold: number;
  readonly slowCallRateThreshold: number;
  readonly slowCallDurationThresholdMs: number;
  readonly minimumNumberOfCalls: number;
  readonly slidingWindowType: 'count' | 'time';
  readonly slidingWindowSize: number;
  readonly waitDurationInOpenStateMs: number;
  readonly permittedNumberOfCallsInHalfOpenState: number;
  readonly recordFailureStatus: readonly number[];
  readonly forceOpen: boolean;
  readonly forceClosed: boolean;
  readonly services?: readonly ServiceSelector[];
}

export interface BulkheadMarkerPolicy {
  readonly name: string;
  readonly maxConcurrentCalls: number;
  readonly maxWaitDurationMs: number;
  readonly services?: readonly ServiceSelector[];
}

/** Everything one config version says, already filtered to this sidecar's own service. */
export interface GovernanceConfig {
  readonly markers: Readonly<Record<string, Marker>>;
  /** Sorted: policies restricted with `services` first, then by name (first match wins). */
  readonly rateLimiting: readonly RateLimitingPolicy[];
  readonly retry: readonly RetryMarkerPolicy[];
  readonly circuitBreaker: readonly CircuitBreakerMarkerPolicy[];
  readonly bulkhead: readonly BulkheadMarkerPolicy[];
}

export interface GovernanceIssue {
  readonly key: string;
  readonly message: string;
}

export interface GovernanceParseResult {
  /** Always complete (invalid entries left out); use it only when `issues` is empty. */
  readonly config: GovernanceConfig;
  readonly issues: readonly GovernanceIssue[];
  readonly warnings: readonly GovernanceIssue[];
}

/** The sidecar's own identity, for `services` selectors. */
export interface SelfIdentity {
  readonly name: string;
  readonly version: string;
}

export const EMPTY_GOVERNANCE: GovernanceConfig = Object.freeze({
  markers: Object.freeze({}),
  rateLimiting: Object.freeze([]),
  retry: Object.freeze([]),
  circuitBreaker: Object.freeze([]),
  bulkhead: Object.freeze([]),
});
