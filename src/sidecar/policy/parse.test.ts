import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_RATE_LIMIT, DEFAULT_SERVICE_POLICY } from './defaults.ts';
import { parseResiliencePolicies } from './parse.ts';
import { policiesToFlat } from './to-flat.ts';
import { policyFor } from './types.ts';

interface Case {
  name: string;
  flat: Record<string, unknown>;
  /** path (from the ResiliencePolicies root, services.<svc> for overrides) → expected value */
  expect?: Record<string, unknown>;
  /** issue keys expected (exactly these, in any order) */
  issues?: string[];
  warnings?: string[];
}

const CASES: Case[] = [
  { name: 'empty config gives the defaults', flat: {}, expect: { defaults: DEFAULT_SERVICE_POLICY } },
  {
    name: 'global circuit breaker keys (numbers and strings)',
    flat: {
      'cse.circuitBreaker.Consumer.requestVolumeThreshold': 10,
      'cse.circuitBreaker.Consumer.errorThresholdPercentage': '25',
      'cse.circuitBreaker.Consumer.sleepWindowInMilliseconds': '2s',
      'cse.circuitBreaker.Consumer.enabled': 'FALSE',
    },
    expect: {
      'defaults.breaker.requestVolumeThreshold': 10,
      'defaults.breaker.errorThresholdPercentage': 25,
      'defaults.breaker.sleepWindowMs': 2000,
      'defaults.breaker.enabled': false,
    },
  },
  {
    name: 'per-service block overrides only its own fields (the original zeroed the rest)',
    flat: {
      'cse.circuitBreaker.Consumer.requestVolumeThreshold': 10,
      'cse.circuitBreaker.Consumer.sleepWindowInMilliseconds': 5000,
      'cse.circuitBreaker.Consumer.server2.requestVolumeThreshold': 3,
    },
    expect: {
      'services.server2.breaker.requestVolumeThreshold': 3,
      'services.server2.breaker.sleepWindowMs': 5000,
      'services.server2.breaker.errorThresholdPercentage': 50,
      'defaults.breaker.requestVolumeThreshold': 10,
    },
  },
  {
    name: 'service names may contain dots',
    flat: { 'cse.isolation.Consumer.my.dotted.svc.maxConcurrentRequests': 7 },
    expect: { 'services.my\u0000dotted\u0000svc.breaker.maxConcurrentRequests': 7 },
  },
  {
    name: 'isolation: timeout is the per-try timeout; servicecomb.timeout wins over it',
    flat: {
      'cse.isolation.Consumer.timeoutInMilliseconds': 1000,
      'servicecomb.timeout.perTryMs': 2000,
      'cse.isolation.Consumer.a.timeoutInMilliseconds': 500,
      'servicecomb.timeout.b.requestMs': '1m',
      'servicecomb.timeout.connectMs': '250ms',
    },
    expect: {
      'defaults.timeouts.perTryMs': 2000,
      'defaults.timeouts.connectMs': 250,
      'services.a.timeouts.perTryMs': 500, // per-service beats global whatever the spelling
      'services.b.timeouts.requestMs': 60_000,
      'services.b.timeouts.perTryMs': 2000,
    },
  },
  {
    name: 'the servicecomb. spelling beats cse.',
    flat: {
      'servicecomb.circuitBreaker.Consumer.requestVolumeThreshold': 9,
      'cse.circuitBreaker.Consumer.requestVolumeThreshold': 8,
    },
    expect: { 'defaults.breaker.requestVolumeThreshold': 9 },
  },
  {
    name: 'fallback and fallback policy',
    flat: {
      'cse.fallback.Consumer.enabled': false,
      'cse.fallback.Consumer.s.force': true,
      'cse.fallbackpolicy.Consumer.s.policy': 'ReturnNull',
    },
    expect: {
      'defaults.fallback.enabled': false,
      'services.s.fallback.force': true,
      'services.s.fallback.policy': 'returnnull',
      'services.s.fallback.enabled': false,
    },
  },
  {
    name: 'retry keys under loadbalance; other loadbalance keys are not ours',
    flat: {
      'cse.loadbalance.retryEnabled': false,
      'cse.loadbalance.strategy.name': 'Random',
      'cse.loadbalance.s.retryEnabled': true,
      'cse.loadbalance.s.retryOnSame': 1,
      'cse.loadbalance.s.retryOnNext': '0',
      'cse.loadbalance.s.strategy.name': 'RoundRobin',
      'cse.loadbalance.backoff.kind': 'constant',
      'cse.loadbalance.backoff.MinMs': 100,
      'servicecomb.loadbalance.backoff.maxMs': 200,
      'servicecomb.retry.onStatuses': '5xx,429',
      'servicecomb.retry.nonIdempotent': true,
      'servicecomb.retry.budgetPercent': 10,
      'servicecomb.retry.s.budgetMinRetriesPerSecond': 1,
    },
    expect: {
      'defaults.retry.enabled': false,
      'services.s.retry.enabled': true,
      'services.s.retry.retryOnSame': 1,
      'services.s.retry.retryOnNext': 0,
      'defaults.retry.backoff.kind': 'constant',
      'defaults.retry.backoff.minMs': 100,
      'defaults.retry.backoff.maxMs': 200,
      'defaults.retry.retryNonIdempotent': true,
      'defaults.retryBudget.percent': 10,
      'services.s.retryBudget.percent': 10,
      'services.s.retryBudget.minRetriesPerSec': 1,
    },
  },
  {
    name: 'outlier detection',
    flat: {
      'servicecomb.outlierDetection.consecutiveFailures': 3,
      'servicecomb.outlierDetection.s.enabled': false,
      'servicecomb.outlierDetection.baseEjectionMs': '10s',
    },
    expect: {
      'defaults.outlier.consecutiveFailures': 3,
      'defaults.outlier.baseEjectionMs': 10_000,
      'services.s.outlier.enabled': false,
      'services.s.outlier.consecutiveFailures': 3,
    },
  },
  {
    name: 'fault injection: _global and per service, merged field by field',
    flat: {
      'cse.governance.Consumer._global.policy.fault.protocols.rest.abort.httpStatus': 503,
      'cse.governance.Consumer.s.policy.fault.protocols.rest.abort.percent': 10,
      'cse.governance.Consumer.s.policy.fault.protocols.rest.delay.percent': 100,
      'cse.governance.Consumer.s.policy.fault.protocols.rest.delay.fixedDelay': 50,
    },
    expect: {
      'defaults.fault.abortHttpStatus': 503,
      'defaults.fault.abortPercent': 0,
      'services.s.fault.abortPercent': 10,
      'services.s.fault.abortHttpStatus': 503,
      'services.s.fault.delayFixedMs': 50,
    },
  },
  {
    name: 'rate limits: none by default',
    flat: {},
    expect: { 'rateLimit.consumer': DEFAULT_RATE_LIMIT, 'rateLimit.provider': DEFAULT_RATE_LIMIT },
  },
  {
    name: 'rate limits: consumer per service, provider per source + global, sane default burst',
    flat: {
      'cse.flowcontrol.Consumer.qps.limit.server2': 2,
      'cse.flowcontrol.Provider.qps.limit.client': 100,
      'cse.flowcontrol.Provider.qps.burst.client': 150,
      'cse.flowcontrol.Provider.qps.global.limit': '50',
      'servicecomb.flowcontrol.Provider.qps.enforced': false,
      'cse.flowcontrol.Consumer.qps.limit.unlimited': 2147483647,
    },
    expect: {
      'rateLimit.consumer.limits': { server2: { ratePerSec: 2, burst: 2 } },
      'rateLimit.provider.limits': { client: { ratePerSec: 100, burst: 150 } },
      'rateLimit.provider.fallback': { ratePerSec: 50, burst: 50 },
      'rateLimit.provider.enforced': false,
      'rateLimit.consumer.fallback': null,
    },
  },
  {
    name: 'nested objects in the map are read like dotted keys',
    flat: { cse: { circuitBreaker: { Consumer: { s: { forceOpen: true } } } } },
    expect: { 'services.s.breaker.forceOpen': true },
  },
  {
    name: 'accepted-but-ignored keys are warnings, not errors',
    flat: {
      'cse.isolation.Consumer.timeout.enabled': true,
      'cse.fallback.Consumer.maxConcurrentRequests': 10,
      'cse.circuitBreaker.Provider.enabled': true,
      'cse.circuitBreaker.scope': 'api',
      'cse.governance.Consumer.s.policy.fault.protocols.dubbo.abort.percent': 5,
      'cse.governance.Consumer.s.schemas.x.policy.fault.protocols.rest.abort.percent': 5,
      'servicecomb.registry.address': 'http://127.0.0.1:30100',
    },
    warnings: [
      'cse.isolation.Consumer.timeout.enabled',
      'cse.fallback.Consumer.maxConcurrentRequests',
      'cse.circuitBreaker.Provider.enabled',
      'cse.circuitBreaker.scope',
      'cse.governance.Consumer.s.policy.fault.protocols.dubbo.abort.percent',
      'cse.governance.Consumer.s.schemas.x.policy.fault.protocols.rest.abort.percent',
    ],
    expect: { services: {} },
  },
  {
    name: 'every invalid value is reported with its key, all at once',
    flat: {
      'cse.circuitBreaker.Consumer.requestVolumeThreshold': -1,
      'cse.circuitBreaker.Consumer.errorThresholdPercentage': 'lots',
      'cse.circuitBreaker.Consumer.s.enabled': 'yes',
      'cse.circuitBreaker.Consumer.s.bogus': 1,
      'cse.circuitBreakr.Consumer.enabled': true, // typo'd namespace: not ours, ignored
      'cse.isolation.Consumer.maxConcurrentRequests': 0,
      'cse.fallbackpolicy.Consumer.policy': 'explode',
      'cse.loadbalance.retryOnNext': 1.5,
      'cse.loadbalance.backoff.kind': 'fibonacci',
      'servicecomb.retry.onStatuses': '5xx,700',
      'servicecomb.timeout.perTryMs': '10 parsecs',
      'servicecomb.outlierDetection.maxEjectionPercent': 101,
      'cse.governance.Consumer.s.policy.fault.protocols.rest.abort.httpStatus': 99,
      'cse.governance.Consumer.s.policy.fault.protocols.rest.oops': 1,
      'cse.governance.Consumer.nothing': 1,
      'cse.flowcontrol.Consumer.qps.limit.a': -5,
      'cse.flowcontrol.Consumer.qps.burst.b': 10,
      'cse.flowcontrol.Consumer.qps.limit.': 10,
      'cse.flowcontrol.Consumer.qps.frobnicate': 1,
      'cse.flowcontrol.Somebody.qps.enabled': true,
      'cse.isolation.Something.else': 1,
    },
    issues: [
      'cse.circuitBreaker.Consumer.requestVolumeThreshold',
      'cse.circuitBreaker.Consumer.errorThresholdPercentage',
      'cse.circuitBreaker.Consumer.s.enabled',
      'cse.circuitBreaker.Consumer.s.bogus',
      'cse.isolation.Consumer.maxConcurrentRequests',
      'cse.fallbackpolicy.Consumer.policy',
      'cse.loadbalance.retryOnNext',
      'cse.loadbalance.backoff.kind',
      'servicecomb.retry.onStatuses',
      'servicecomb.timeout.perTryMs',
      'servicecomb.outlierDetection.maxEjectionPercent',
      'cse.governance.Consumer.s.policy.fault.protocols.rest.abort.httpStatus',
      'cse.governance.Consumer.s.policy.fault.protocols.rest.oops',
      'cse.governance.Consumer.nothing',
      'cse.flowcontrol.Consumer.qps.limit.a',
      'cse.flowcontrol.Consumer.qps.burst.b',
      'cse.flowcontrol.Consumer.qps.limit.',
      'cse.flowcontrol.Consumer.qps.frobnicate',
      'cse.flowcontrol.Somebody.qps.enabled',
      'cse.isolation.Something.else',
    ],
  },
  {
    name: 'cross-field problems are reported against the section and fall back to the defaults',
    flat: {
      'cse.loadbalance.s.backoff.minMs': 500,
      'cse.loadbalance.s.backoff.maxMs': 100,
      'cse.circuitBreaker.Consumer.forceOpen': true,
      'cse.circuitBreaker.Consumer.forceClosed': true,
      'cse.governance.Consumer._global.policy.fault.protocols.rest.abort.percent': 5,
    },
    issues: [
      'cse.loadbalance.s',
      'cse.circuitBreaker.Consumer',
      'cse.governance.Consumer._global.policy.fault.protocols.rest',
    ],
    expect: {
      'services.s.retry': DEFAULT_SERVICE_POLICY.retry,
      'defaults.breaker': DEFAULT_SERVICE_POLICY.breaker,
      'defaults.fault': DEFAULT_SERVICE_POLICY.fault,
    },
  },
];

for (const c of CASES) {
  test(`parse: ${c.name}`, () => {
    const { policies, issues, warnings } = parseResiliencePolicies(c.flat);
    assert.deepEqual(
      issues.map((i) => i.key).sort(),
      [...(c.issues ?? [])].sort(),
      `issues: ${JSON.stringify(issues, null, 1)}`,
    );
    for (const i of issues) assert.ok(i.message.length > 5, `message for ${i.key}`);
    assert.deepEqual(warnings.map((w) => w.key).sort(), [...(c.warnings ?? [])].sort());
    for (const [path, expected] of Object.entries(c.expect ?? {})) {
      // \u0000 in a test path stands for a literal dot inside a service name
      const parts = path.split('.').map((p) => p.replaceAll('\u0000', '.'));
      let v: unknown = policies;
      for (const p of parts) v = (v as Record<string, unknown>)?.[p];
      // maps keyed by service name are null-prototype objects; compare their contents
      const plain = v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === null ? { ...v } : v;
      assert.deepEqual(plain, expected, path);
    }
    // round trip: writing the policies back out and parsing again gives the same policies
    const again = parseResiliencePolicies(policiesToFlat(policies));
    assert.deepEqual(again.issues, []);
    assert.deepEqual(again.warnings, []);
    assert.deepEqual(again.policies, policies);
  });
}

test('the result is deeply frozen and unchanged sections are shared with the defaults', () => {
  const { policies } = parseResiliencePolicies({ 'cse.circuitBreaker.Consumer.s.forceOpen': true });
  assert.ok(Object.isFrozen(policies));
  assert.ok(Object.isFrozen(policies.services.s!.breaker));
  assert.ok(Object.isFrozen(policies.defaults.retry.retryOnStatuses));
  assert.equal(policies.services.s!.retry, policies.defaults.retry);
  assert.notEqual(policies.services.s!.breaker, policies.defaults.breaker);
  assert.equal(policyFor(policies, 's').breaker.forceOpen, true);
  assert.equal(policyFor(policies, 'other'), policies.defaults);
  assert.equal(policyFor(policies, 'toString'), policies.defaults);
  assert.throws(() => {
    (policies.defaults.breaker as { enabled: boolean }).enabled = false;
  }, TypeError);
});

test('a service called __proto__ is just a service', () => {
  const { policies, issues } = parseResiliencePolicies({
    'cse.circuitBreaker.Consumer.__proto__.forceOpen': true,
    'cse.flowcontrol.Consumer.qps.limit.__proto__': 1,
  });
  assert.deepEqual(issues, []);
  assert.equal(policyFor(policies, '__proto__').breaker.forceOpen, true);
  const proto = '__proto__';
  assert.equal(
    Object.getOwnPropertyDescriptor(policies.rateLimit.consumer.limits, proto)?.value.ratePerSec,
    1,
  );
});

test('property: parse never throws, and valid output always round-trips', () => {
  const keys = [
    'cse.circuitBreaker.Consumer.requestVolumeThreshold',
    'cse.circuitBreaker.Consumer.svc.errorThresholdPercentage',
    'cse.isolation.Consumer.svc.timeoutInMilliseconds',
    'cse.loadbalance.svc.retryOnNext',
    'cse.loadbalance.backoff.maxMs',
    'servicecomb.outlierDetection.svc.maxEjectionPercent',
    'cse.flowcontrol.Provider.qps.global.limit',
    'cse.governance.Consumer._global.policy.fault.protocols.rest.delay.percent',
    'cse.fallbackpolicy.Consumer.policy',
  ];
  const value = fc.oneof(
    fc.integer({ min: -10, max: 200_000 }),
    fc.boolean(),
    fc.string({ maxLength: 6 }),
    fc.constant(null),
  );
  fc.assert(
    fc.property(fc.dictionary(fc.constantFrom(...keys), value), (flat) => {
      const r = parseResiliencePolicies(flat);
      if (r.issues.length === 0)
        assert.deepEqual(parseResiliencePolicies(policiesToFlat(r.policies)).policies, r.policies);
    }),
    { numRuns: 300 },
  );
});
