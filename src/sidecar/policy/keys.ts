/**
 * @module sidecar/policy/keys
 * The table of every resilience key mesher reads: key families (a prefix, then an optional
 * service name, then a property), each property's place in `ServicePolicy` and its coercer.
 * Service names may contain dots (ServiceComb allows them), so a key is split by matching the
 * known property names against its end, never by counting dots.
 *
 * `rank` orders spellings of the same field: the newer `servicecomb.` spelling beats the legacy
 * `cse.` one, and mesher's own namespaces (servicecomb.timeout...) beat both. A per-service key
 * always beats a global one, whatever the spelling.
 */
import { bool, type Coercer, int, ms, num, oneOf, statusList } from './values.ts';

export interface PropSpec {
  /** Dotted path inside ServicePolicy, e.g. "breaker.requestVolumeThreshold". */
  readonly path: string;
  readonly coerce: Coercer;
}

export interface Family {
  /** Human name for messages. */
  readonly name: string;
  /** Full prefixes (ending in a dot), canonical spelling first. */
  readonly prefixes: readonly { readonly prefix: string; readonly rank: number }[];
  /** Property name → spec. Aliases map to the same path; the first name for a path is canonical. */
  readonly props: Readonly<Record<string, PropSpec>>;
  /** Properties accepted for compatibility but ignored (reported as warnings). */
  readonly ignored?: readonly string[];
  /** 'service': `<prefix>[<svc>.]<prop>`; 'fault': `<prefix>{_global|<svc>}.policy.fault.protocols.rest.<prop>`. */
  readonly layout: 'service' | 'fault';
  /** Unknown properties are errors (true) or belong to someone else (false: loadbalance). */
  readonly owned: boolean;
}

const backoffKind: Coercer = (raw) => {
  // "jittered" appears in the original's shipped samples; it meant exponential with jitter.
  if (typeof raw === 'string' && raw.trim().toLowerCase() === 'jittered')
    return { ok: true, value: 'exponential' };
  return oneOf('exponential', 'constant', 'zero')(raw);
};

/** 200-599, or 0 for "not set" (then abort.percent must stay 0; checked after merging). */
const abortStatus: Coercer = (raw) => {
  const r = int(0, 599)(raw);
  if (r.ok && r.value !== 0 && r.value < 200)
    return { ok: false, message: `must be 200-599 (got ${r.value})` };
  return r;
};

const prefixes = (ns: string, side = 'Consumer.') => [
  { prefix: `cse.${ns}.${side}`, rank: 0 },
  { prefix: `servicecomb.${ns}.${side}`, rank: 1 },
];

export const FAMILIES: readonly Family[] = [
  {
    name: 'isolation',
    prefixes: prefixes('isolation'),
    layout: 'service',
    owned: true,
    props: {
      timeoutInMilliseconds: { path: 'timeouts.perTryMs', coerce: ms(1) },
      maxConcurrentRequests: { path: 'breaker.maxConcurrentRequests', coerce: int(1, 1_000_000) },
    },
    ignored: ['timeout.enabled'],
  },
  {
    name: 'circuit breaker',
    prefixes: prefixes('circuitBreaker'),
    layout: 'service',
    owned: true,
    props: {
      enabled: { path: 'breaker.enabled', coerce: bool },
      enforced: { path: 'breaker.enforced', coerce: bool },
      forceOpen: { path: 'breaker.forceOpen', coerce: bool },
      forceClosed: { path: 'breaker.forceClosed', coerce: bool },
      requestVolumeThreshold: { path: 'breaker.requestVolumeThreshold', coerce: int(0, 1_000_000_000) },
      errorThresholdPercentage: { path: 'breaker.errorThresholdPercentage', coerce: num(0, 100) },
      sleepWindowInMilliseconds: { path: 'breaker.sleepWindowMs', coerce: ms(1) },
      'metrics.rollingStats.timeInMilliseconds': { path: 'breaker.rollingWindowMs', coerce: ms(1) },
      'metrics.rollingStats.numBuckets': { path: 'breaker.rollingBuckets', coerce: int(1, 1000) },
      failureStatuses: { path: 'breaker.classifier.failureStatuses', coerce: statusList },
    },
  },
  {
    name: 'fallback',
    prefixes: prefixes('fallback'),
    layout: 'service',
    owned: true,
    props: {
      enabled: { path: 'fallback.enabled', coerce: bool },
      force: { path: 'fallback.force', coerce: bool },
    },
    ignored: ['maxConcurrentRequests'],
  },
  {
    name: 'fallback policy',
    prefixes: prefixes('fallbackpolicy'),
    layout: 'service',
    owned: true,
    props: { policy: { path: 'fallback.policy', coerce: oneOf('throwexception', 'returnnull') } },
  },
  {
    name: 'load balancing (retry)',
    prefixes: prefixes('loadbalance', ''),
    layout: 'service',
    owned: false, // strategy.name, serverListFilters... belong to the balancer's config
    props: {
      retryEnabled: { path: 'retry.enabled', coerce: bool },
      retryOnSame: { path: 'retry.retryOnSame', coerce: int(0, 100) },
      retryOnNext: { path: 'retry.retryOnNext', coerce: int(0, 100) },
      'backoff.kind': { path: 'retry.backoff.kind', coerce: backoffKind },
      'backoff.minMs': { path: 'retry.backoff.minMs', coerce: ms(0) },
      'backoff.maxMs': { path: 'retry.backoff.maxMs', coerce: ms(0) },
      'backoff.jitter': { path: 'retry.backoff.jitter', coerce: oneOf('full', 'equal', 'none') },
      // Spellings from the original's shipped samples (which the original itself ignored).
      'backoff.MinMs': { path: 'retry.backoff.minMs', coerce: ms(0) },
      'backoff.MaxMs': { path: 'retry.backoff.maxMs', coerce: ms(0) },
    },
  },
  {
    name: 'retry',
    prefixes: [{ prefix: 'servicecomb.retry.', rank: 2 }],
    layout: 'service',
    owned: true,
    props: {
      onStatuses: { path: 'retry.retryOnStatuses', coerce: statusList },
      nonIdempotent: { path: 'retry.retryNonIdempotent', coerce: bool },
      budgetEnabled: { path: 'retryBudget.enabled', coerce: bool },
      budgetPercent: { path: 'retryBudget.percent', coerce: num(0, 1000) },
      budgetMinRetriesPerSecond: { path: 'retryBudget.minRetriesPerSec', coerce: num(0, 1_000_000) },
      budgetWindowMs: { path: 'retryBudget.windowMs', coerce: ms(10) },
    },
  },
  {
    name: 'timeout',
    prefixes: [{ prefix: 'servicecomb.timeout.', rank: 2 }],
    layout: 'service',
    owned: true,
    props: {
      connectMs: { path: 'timeouts.connectMs', coerce: ms(1) },
      perTryMs: { path: 'timeouts.perTryMs', coerce: ms(1) },
      requestMs: { path: 'timeouts.requestMs', coerce: ms(1) },
    },
  },
  {
    name: 'outlier detection',
    prefixes: [{ prefix: 'servicecomb.outlierDetection.', rank: 2 }],
    layout: 'service',
    owned: true,
    props: {
      enabled: { path: 'outlier.enabled', coerce: bool },
      consecutiveFailures: { path: 'outlier.consecutiveFailures', coerce: int(0, 1_000_000) },
      failureRatePercent: { path: 'outlier.failureRatePercent', coerce: num(0, 100) },
      failureRateMinRequests: { path: 'outlier.failureRateMinRequests', coerce: int(1, 1_000_000_000) },
      windowMs: { path: 'outlier.windowMs', coerce: ms(10) },
      baseEjectionMs: { path: 'outlier.baseEjectionMs', coerce: ms(1) },
      maxEjectionMs: { path: 'outlier.maxEjectionMs', coerce: ms(1) },
      maxEjectionPercent: { path: 'outlier.maxEjectionPercent', coerce: num(0, 100) },
    },
  },
  {
    name: 'fault injection',
    prefixes: prefixes('governance'),
    layout: 'fault',
    owned: true,
    props: {
      'abort.percent': { path: 'fault.abortPercent', coerce: num(0, 100) },
      'abort.httpStatus': { path: 'fault.abortHttpStatus', coerce: abortStatus },
      'delay.percent': { path: 'fault.delayPercent', coerce: num(0, 100) },
      'delay.fixedDelay': { path: 'fault.delayFixedMs', coerce: ms(0) },
    },
  },
];

/** The fault layout's fixed middle part and the scope meaning "every service". */
export const FAULT_INFIX = '.policy.fault.protocols.';
export const FAULT_GLOBAL_SCOPE = '_global';

/**
 * Namespaces mesher owns entirely: a key under one of these that no family accepts is an error,
 * except the provider-side and scope keys of the original, which are accepted with a warning.
 */
export const OWNED_NAMESPACES: readonly string[] = [
  'isolation',
  'circuitBreaker',
  'fallback',
  'fallbackpolicy',
  'governance',
].flatMap((ns) => [`cse.${ns}.`, `servicecomb.${ns}.`]);

export const IGNORED_WITH_WARNING: readonly { readonly pattern: RegExp; readonly message: string }[] = [
  {
    pattern: /^(cse|servicecomb)\.[A-Za-z]+\.Provider\./,
    message: 'provider-side policies are not supported; ignored',
  },
  {
    pattern: /^(cse|servicecomb)\.circuitBreaker\.scope$/,
    message: 'circuits are always per target service; ignored',
  },
];

/** Canonical property name for each ServicePolicy path (the first one listed). */
export function canonicalKeys(): ReadonlyMap<string, { family: Family; prop: string }> {
  const out = new Map<string, { family: Family; prop: string }>();
  for (const family of FAMILIES) {
    for (const prop of Object.keys(family.props)) {
      const path = family.props[prop]!.path;
      if (!out.has(path)) out.set(path, { family, prop });
    }
  }
  return out;
}
