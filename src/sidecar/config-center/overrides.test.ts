/**
 * Label applicability, specificity precedence, live-key filtering, mergeFlat precedence, and the
 * client settings table.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLiveKey, mergeFlat, ownLabels, readConfigClientSettings, resolveOverrides } from './index.ts';

const own = ownLabels({ name: 'cart', app: 'shop', version: '1.0.0', environment: 'production' });
const kv = (key: string, value: string, labels: Record<string, string>, extra: object = {}) => ({
  key,
  value,
  labels,
  ...extra,
});

test('ownLabels drops empty values', () => {
  assert.deepEqual(ownLabels({ name: 's', app: 'a', version: '1', environment: '' }), {
    app: 'a',
    service: 's',
    version: '1',
  });
});

test('resolveOverrides: a KV applies when all its labels are ours; more specific labels win', () => {
  const K = 'cse.loadbalance.strategy.name';
  const cases: Array<[string, ReturnType<typeof kv>[], unknown]> = [
    ['no labels applies to everyone', [kv(K, 'a', {})], 'a'],
    ['app beats no labels', [kv(K, 'a', {}), kv(K, 'b', { app: 'shop' })], 'b'],
    ['another app does not apply', [kv(K, 'a', {}), kv(K, 'b', { app: 'bank' })], 'a'],
    ['service beats app', [kv(K, 'b', { app: 'shop' }), kv(K, 'c', { app: 'shop', service: 'cart' })], 'c'],
    [
      'service+version beats service',
      [
        kv(K, 'c', { app: 'shop', service: 'cart' }),
        kv(K, 'd', { app: 'shop', service: 'cart', version: '1.0.0' }),
      ],
      'd',
    ],
    [
      'another version does not apply',
      [kv(K, 'c', { service: 'cart' }), kv(K, 'x', { service: 'cart', version: '2.0.0' })],
      'c',
    ],
    [
      'service alone beats app+environment',
      [kv(K, 'e', { app: 'shop', environment: 'production' }), kv(K, 's', { service: 'cart' })],
      's',
    ],
    ['an unknown label is not ours', [kv(K, 'a', {}), kv(K, 'z', { zone: 'eu' })], 'a'],
    ['disabled KVs are skipped', [kv(K, 'a', {}), kv(K, 'b', { app: 'shop' }, { status: 'disabled' })], 'a'],
    [
      'order does not matter',
      [kv(K, 'c', { app: 'shop', service: 'cart' }), kv(K, 'b', { app: 'shop' })],
      'c',
    ],
  ];
  for (const [name, kvs, want] of cases) {
    assert.equal(resolveOverrides(kvs, own).overrides[K], want, name);
  }
});

test('resolveOverrides: json values are typed, restart-only keys are ignored, spellings compete as one key', () => {
  const r = resolveOverrides(
    [
      kv('cse.flowcontrol.Consumer.qps.limit.server2', '100', {}, { valueType: 'json' }),
      kv('servicecomb.registry.address', 'http://elsewhere', {}),
      kv('servicecomb.routeRule.server2', '- route: [{tags: {version: 2.0.0}}]', { app: 'shop' }),
      kv('cse.isolation.Consumer.timeoutInMilliseconds', '100', { app: 'shop' }),
      kv('servicecomb.isolation.Consumer.timeoutInMilliseconds', '200', { app: 'shop', service: 'cart' }),
      kv('logLevel', 'debug', {}),
    ],
    own,
  );
  assert.deepEqual(r.overrides, {
    'cse.flowcontrol.Consumer.qps.limit.server2': 100,
    logLevel: 'debug',
    'servicecomb.isolation.Consumer.timeoutInMilliseconds': '200',
    'servicecomb.routeRule.server2': '- route: [{tags: {version: 2.0.0}}]',
  });
  assert.deepEqual(r.ignored, ['servicecomb.registry.address']);
  assert.equal(isLiveKey('cse.governance.Consumer._global.policy.fault.protocols.rest.abort.percent'), true);
  assert.equal(isLiveKey('servicecomb.protocols.http.listenAddress'), false);
});

test('mergeFlat: config center over env over files, in either spelling, without mutating inputs', () => {
  const base = Object.freeze({
    'servicecomb.isolation.Consumer.timeoutInMilliseconds': 1000,
    'cse.loadbalance.strategy.name': 'RoundRobin',
    'servicecomb.service.name': 'cart',
  });
  const merged = mergeFlat(base, {
    'cse.isolation.Consumer.timeoutInMilliseconds': '50',
    'servicecomb.loadbalance.strategy.name': 'Random',
    'servicecomb.routeRule.server2': '- route: []',
  });
  assert.deepEqual(merged, {
    'cse.isolation.Consumer.timeoutInMilliseconds': '50',
    'servicecomb.loadbalance.strategy.name': 'Random',
    'servicecomb.service.name': 'cart',
    'servicecomb.routeRule.server2': '- route: []',
  });
  assert.equal(base['cse.loadbalance.strategy.name'], 'RoundRobin');
  // A deleted KV: merging the base with fewer overrides gives the file value back.
  assert.equal(mergeFlat(base, {})['cse.loadbalance.strategy.name'], 'RoundRobin');
});

test('readConfigClientSettings: defaults, env, validation of every key in one pass', () => {
  const registry = { addresses: ['http://127.0.0.1:30100'], project: 'default', domain: 'default' } as const;
  const cfg = (flat: Record<string, unknown>) => ({
    flat,
    registry: { ...registry, watch: false, refreshIntervalMs: 1, heartbeatIntervalMs: 1 },
  });
  const d = readConfigClientSettings(cfg({}), {});
  assert.deepEqual(d, {
    ok: true,
    settings: {
      enabled: true,
      serverUris: ['http://127.0.0.1:30100'],
      refreshMode: 0,
      refreshIntervalMs: 30_000,
      project: 'default',
      domain: 'default',
    },
  });
  const e = readConfigClientSettings(cfg({}), { PAAS_CSE_CC_ENDPOINT: 'http://cc:1,http://cc:2' });
  assert.ok(e.ok && e.settings.serverUris.length === 2);
  const f = readConfigClientSettings(
    cfg({
      'servicecomb.config.client.serverUri': 'http://a:1',
      'servicecomb.config.client.refreshMode': 1,
      'servicecomb.config.client.refreshInterval': '5s',
    }),
    {},
  );
  assert.ok(f.ok && f.settings.refreshMode === 1 && f.settings.refreshIntervalMs === 5000);
  const bad = readConfigClientSettings(
    cfg({
      'servicecomb.config.client.serverUri': 'ftp://x',
      'servicecomb.config.client.refreshMode': 2,
      'servicecomb.config.client.refreshInterval': 'soon',
      'servicecomb.config.client.type': 'apollo',
    }),
    {},
  );
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.issues.length, 4);
});
