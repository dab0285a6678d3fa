import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseResiliencePolicies } from '../policy/index.ts';
import { markerNames, ownsGovernanceKey, parseGovernance } from './parse.ts';

const LOGIN = `
matches:
  - apiPath: { prefix: "/login" }
    method: [POST]
    headers: { X-User: { exact: "vip" } }
`;

test('the brief example: YAML strings under matchGroup and rateLimiting become frozen values', () => {
  const r = parseGovernance({
    'servicecomb.matchGroup.userLogin': LOGIN,
    'servicecomb.rateLimiting.userLogin': 'rate: 100\nlimitRefreshPeriod: 1000\n',
  });
  assert.deepEqual(r.issues, []);
  const m = r.config.markers.userLogin!;
  assert.equal(m.matches.length, 1);
  assert.deepEqual(m.matches[0]!.methods, ['POST']);
  assert.deepEqual(m.matches[0]!.apiPath, [{ op: 'prefix', value: '/login' }]);
  assert.equal(m.matches[0]!.headers![0]!.name, 'x-user', 'header names are lower-cased');
  assert.deepEqual(r.config.rateLimiting, [
    { name: 'userLogin', rate: 100, limitRefreshPeriodMs: 1000, timeoutDurationMs: 0 },
  ]);
  assert.ok(Object.isFrozen(r.config.rateLimiting[0]) && Object.isFrozen(m.matches[0]));
});

test('nested YAML in a file (flattened keys) and config-center json maps mean the same', () => {
  const nested = parseGovernance({
    'servicecomb.matchGroup.a.matches': [{ apiPath: { exact: '/a' } }],
    'servicecomb.rateLimiting.a.rate': 5,
    'servicecomb.rateLimiting.a.limitRefreshPeriod': '2S',
  });
  const json = parseGovernance({
    'servicecomb.matchGroup.a': { matches: [{ apiPath: { exact: '/a' } }] },
    'servicecomb.rateLimiting.a': { rate: '5', limitRefreshPeriod: 'PT2S' },
  });
  assert.deepEqual(nested.issues, []);
  assert.deepEqual(json.issues, []);
  assert.deepEqual(nested.config, json.config);
  assert.equal(nested.config.rateLimiting[0]!.limitRefreshPeriodMs, 2000);
});

test('durations: plain integers are ms; ISO-8601 with or without PT; mesher units', () => {
  const period = (v: unknown) =>
    parseGovernance({
      'servicecomb.matchGroup.a': 'matches: [{apiPath: {prefix: /}}]',
      'servicecomb.rateLimiting.a': { rate: 1, limitRefreshPeriod: v },
    });
  for (const [v, ms] of [
    [1000, 1000],
    ['250', 250],
    ['PT1S', 1000],
    ['1M30S', 90_000],
    ['500ms', 500],
    ['2s', 2000],
  ] as const) {
    const r = period(v);
    assert.deepEqual(r.issues, [], String(v));
    assert.equal(r.config.rateLimiting[0]!.limitRefreshPeriodMs, ms, String(v));
  }
  assert.match(period('soon').issues[0]!.message, /must be a duration/);
  assert.match(period(0).issues[0]!.message, /between 1 and/);
});

test('bad input: every problem is reported with its key, in one pass', () => {
  const r = parseGovernance({
    'servicecomb.matchGroup.userLogin': `
matches:
  - apiPath: { prefx: "/login" }
    method: [POST, 12]
  - headers: { x-a: { regex: "(a+)+$" } }
  - apiPat: { exact: /x }
`,
    'servicecomb.matchGroup.empty': 'matches: []',
    'servicecomb.matchGroup.broken': 'matches: [ {',
    'servicecomb.matchGroup.Consumer': 'matches: [{apiPath: {exact: /}}]',
    'servicecomb.matchGroup.ok': 'matches: [{apiPath: {compare: "big"}}]',
    'servicecomb.rateLimiting.userLogin': 'rate: -1\nburst: 3',
  });
  const byKey = Object.fromEntries(r.issues.map((i) => [i.key, i.message]));
  assert.match(byKey['servicecomb.matchGroup.userLogin.matches[0].apiPath']!, /unknown operator "prefx"/);
  assert.match(byKey['servicecomb.matchGroup.userLogin.matches[0].method']!, /12.*not an HTTP method/);
  assert.match(byKey['servicecomb.matchGroup.userLogin.matches[1].headers.x-a']!, /backtrack/);
  assert.match(byKey['servicecomb.matchGroup.userLogin.matches[2].apiPat']!, /unknown match field/);
  assert.match(byKey['servicecomb.matchGroup.empty.matches']!, /list of 1 to 64/);
  assert.match(byKey['servicecomb.matchGroup.broken']!, /not valid YAML/);
  assert.match(byKey['servicecomb.matchGroup.Consumer']!, /reserved/);
  assert.match(byKey['servicecomb.matchGroup.ok.matches[0].apiPath']!, /compare must be/);
  assert.equal(byKey['servicecomb.rateLimiting.userLogin.rate'], 'must be a positive number (got -1)');
  assert.match(byKey['servicecomb.rateLimiting.userLogin.burst']!, /unknown rateLimiting field/);
  assert.equal(r.config.rateLimiting.length, 0, 'an invalid policy is left out');
});

test('a policy without a marker is a warning (inactive), not an issue; timeoutDuration > 0 warns', () => {
  const r = parseGovernance({
    'servicecomb.rateLimiting.ghost': 'rate: 1',
    'servicecomb.matchGroup.a': 'matches: [{apiPath: {prefix: /}}]',
    'servicecomb.rateLimiting.a': 'rate: 1\ntimeoutDuration: 100',
  });
  assert.deepEqual(r.issues, []);
  assert.deepEqual(
    r.warnings.map((w) => w.key),
    ['servicecomb.rateLimiting.a.timeoutDuration', 'servicecomb.rateLimiting.ghost'],
  );
  assert.deepEqual(
    r.config.rateLimiting.map((p) => p.name),
    ['a'],
  );
});

test('services: markers and policies apply only in the listed services (name or name:version)', () => {
  const flat = {
    'servicecomb.matchGroup.a': 'matches: [{apiPath: {prefix: /}}]\nservices: server1, server2:2.0.0',
    'servicecomb.rateLimiting.a': 'rate: 1',
    'servicecomb.matchGroup.b': 'matches: [{apiPath: {prefix: /}}]',
    'servicecomb.rateLimiting.b': 'rate: 1\nservices: [server2]',
    'servicecomb.rateLimiting.c': 'rate: 1',
    'servicecomb.matchGroup.c': 'matches: [{apiPath: {prefix: /}}]',
  };
  const names = (name: string, version: string) =>
    parseGovernance(flat, { name, version }).config.rateLimiting.map((p) => p.name);
  assert.deepEqual(names('server1', '1.0.0'), ['a', 'c']);
  assert.deepEqual(names('server2', '1.0.0'), ['b', 'c'], 'restricted policies come first');
  assert.deepEqual(names('server2', '2.0.0'), ['b', 'a', 'c']);
  assert.deepEqual(names('other', '1.0.0'), ['c']);
});

test('retry, circuitBreaker and bulkhead documents are validated with Java chassis defaults', () => {
  const r = parseGovernance({
    'servicecomb.matchGroup.m': 'matches: [{apiPath: {prefix: /}, serviceName: s}]',
    'servicecomb.retry.m': 'maxAttempts: 3\nretryOnResponseStatus: [502, 503]',
    'servicecomb.circuitBreaker.m':
      'failureRateThreshold: 50\nslidingWindowSize: 100\nminimumNumberOfCalls: 20\nwaitDurationInOpenState: 60000',
    'servicecomb.bulkhead.m': 'maxConcurrentCalls: 0',
  });
  assert.deepEqual(
    r.issues.map((i) => i.key),
    ['servicecomb.bulkhead.m.maxConcurrentCalls'],
  );
  assert.equal(r.config.retry[0]!.maxAttempts, 3);
  assert.deepEqual(r.config.retry[0]!.retryOnResponseStatus, [502, 503]);
  assert.equal(r.config.circuitBreaker[0]!.minimumNumberOfCalls, 20);
  assert.equal(r.config.circuitBreaker[0]!.slowCallRateThreshold, 100, 'default');
});

test('key ownership: the original servicecomb.retry.<svc>.* and cse.circuitBreaker.Consumer.* keep their meaning', () => {
  const flat = {
    'servicecomb.matchGroup.userLogin': LOGIN,
    'servicecomb.retry.userLogin': 'maxAttempts: 2',
    'servicecomb.circuitBreaker.userLogin': 'failureRateThreshold: 10',
    'servicecomb.retry.userLogin.onStatuses': '503', // a service that happens to share the name
    'servicecomb.retry.other.onStatuses': '502',
    'cse.circuitBreaker.Consumer.enabled': true,
  };
  const names = markerNames(flat);
  assert.deepEqual([...names], ['userLogin']);
  assert.equal(ownsGovernanceKey('servicecomb.retry.userLogin', names), true);
  assert.equal(ownsGovernanceKey('servicecomb.circuitBreaker.userLogin', names), true);
  assert.equal(ownsGovernanceKey('servicecomb.retry.userLogin.onStatuses', names), false);
  assert.equal(ownsGovernanceKey('servicecomb.retry.other.onStatuses', names), false);
  assert.equal(ownsGovernanceKey('cse.circuitBreaker.Consumer.enabled', names), false);
  // The original's parser no longer reports the marker documents as unknown keys...
  const old = parseResiliencePolicies(flat);
  assert.deepEqual(old.issues, []);
  assert.deepEqual(old.policies.services.userLogin!.retry.retryOnStatuses, [503]);
  // ...and the governance parser reads them.
  const g = parseGovernance(flat);
  assert.deepEqual(g.issues, []);
  assert.equal(g.config.retry[0]!.maxAttempts, 2);
});

test('bounds: documents over 64 KiB and regexes over 512 characters are refused', () => {
  const big = parseGovernance({ 'servicecomb.matchGroup.a': `matches: []\n#${'x'.repeat(70_000)}` });
  assert.match(big.issues[0]!.message, /longer than 65536/);
  const re = parseGovernance({
    'servicecomb.matchGroup.a': { matches: [{ apiPath: { regex: 'a'.repeat(600) } }] },
  });
  assert.match(re.issues[0]!.message, /longer than 512/);
});

test('parsing the same input twice gives equal values (no hidden state)', () => {
  const flat = {
    'servicecomb.matchGroup.userLogin': LOGIN,
    'servicecomb.rateLimiting.userLogin': 'rate: 100',
  };
  assert.deepEqual(parseGovernance(flat).config, parseGovernance(flat).config);
});

test('retry backoff fields are read (no longer warned about) and checked', () => {
  const ok = parseGovernance({
    'servicecomb.matchGroup.m': 'matches: [{serviceName: s}]',
    'servicecomb.retry.m':
      'retryStrategy: RandomBackoff\ninitialInterval: 200\nmultiplier: 1.5\nrandomizationFactor: 0.2',
  });
  assert.deepEqual(ok.issues, []);
  assert.deepEqual(ok.warnings, []);
  const p = ok.config.retry[0]!;
  assert.deepEqual(
    [p.retryStrategy, p.initialIntervalMs, p.multiplier, p.randomizationFactor, p.waitDurationMs],
    ['RandomBackoff', 200, 1.5, 0.2, 1],
  );
  const bad = parseGovernance({
    'servicecomb.matchGroup.m': 'matches: [{serviceName: s}]',
    'servicecomb.retry.m': 'retryStrategy: Linear\nmultiplier: 0.5\nrandomizationFactor: 2',
  });
  assert.deepEqual(
    bad.issues.map((i) => i.key),
    [
      'servicecomb.retry.m.retryStrategy',
      'servicecomb.retry.m.multiplier',
      'servicecomb.retry.m.randomizationFactor',
    ],
  );
});
