/**
 * @module sidecar/policy/types
 * The validated, frozen resilience policies the chain builder reads: one `ServicePolicy` per target
 * service (global keys merged field by field with that service's overrides) plus the consumer- and
 * provider-side rate limits. Produced by `parseResiliencePolicies` (./parse.ts) from the sidecar
 * config's flat key map; `policyFor` picks a service's policy on the hot path in O(1).
 */
import type { BreakerConfig } from '../breaker/types.ts';
import type { FaultConfig } from '../fault/fault-injector.ts';
import type { OutlierConfig } from '../outlier/outlier-detector.ts';
import type { RateLimitConfig } from '../ratelimit/rate-limiter.ts';
import type { RetryBudgetConfig, RetryConfig } from '../retry/types.ts';

export interface TimeoutPolicy {
  /** TCP (and TLS) connect to one endpoint, ms. Expiry → UPSTREAM_CONNECT failure, retried elsewhere. */
  readonly connectMs: number;
  /** One attempt, from sending the request to the response head, ms. Expiry → UPSTREAM_TIMEOUT. */
  readonly perTryMs: number;
  /** The whole call including retries and backoff, ms. Expiry → 504 UPSTREAM_TIMEOUT. */
  readonly requestMs: number;
}

export type FallbackKind = 'throwexception' | 'returnnull';

export interface FallbackPolicy {
  /** Take the fallback on open circuit / bulkhead rejection (true) or just fail (same as throwexception). */
  readonly enabled: boolean;
  /** Always take the fallback, without calling upstream. */
  readonly force: boolean;
  /** throwexception → the 503 error; returnnull → 200 with an empty body and `x-mesher-fallback: returnnull`. */
  readonly policy: FallbackKind;
}

/** Everything the consumer-side chain needs for calls to one target service. */
export interface ServicePolicy {
  readonly timeouts: TimeoutPolicy;
  /** Circuit breaker and bulkhead (`maxConcurrentRequests` lives here). */
  readonly breaker: BreakerConfig;
  readonly fallback: FallbackPolicy;
  readonly retry: RetryConfig;
  readonly retryBudget: RetryBudgetConfig;
  readonly outlier: OutlierConfig;
  readonly fault: FaultConfig;
}

export interface ResiliencePolicies {
  /** The policy for services without overrides (global keys over the built-in defaults). */
  readonly defaults: ServicePolicy;
  /** Services that have at least one per-service key. */
  readonly services: Readonly<Record<string, ServicePolicy>>;
  readonly rateLimit: {
    /** Key = target service. */
    readonly consumer: RateLimitConfig;
    /** Key = source service; fallback = the provider global limit. */
    readonly provider: RateLimitConfig;
  };
}

/** A problem with one key. `issues` make the config invalid; `warnings` are keys we accept and ignore. */
export interface PolicyIssue {
  readonly key: string;
  readonly message: string;
}

export interface PolicyParseResult {
  /** Always a complete policy set (defaults where values were invalid); use it only if `issues` is empty. */
  readonly policies: ResiliencePolicies;
  readonly issues: readonly PolicyIssue[];
  readonly warnings: readonly PolicyIssue[];
}

/** The policy for calls to `service`: its own, or the defaults. O(1). */
export function policyFor(policies: ResiliencePolicies, service: string): ServicePolicy {
  return Object.hasOwn(policies.services, service) ? policies.services[service]! : policies.defaults;
}
