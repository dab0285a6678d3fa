import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testSidecarConfig } from '../../test/support/fake-directory.ts';
import { overlayConfig } from './config-overlay.ts';

test('no overrides: the base config object itself', () => {
  const base = testSidecarConfig();
  assert.equal(overlayConfig(base, {}).config, base);
});

test('overrides replace flat keys in either spelling and re-derive strategies', () => {
  const base = testSidecarConfig();
  const { config, rejected } = overlayConfig(
    { ...base, flat: { 'cse.loadbalance.strategy.name': 'Random', other: 1 } },
    {
      'servicecomb.loadbalance.strategy.name': 'round_robin',
      'servicecomb.loadbalance.server2.strategy.name': 'SessionStickiness',
      'servicecomb.routeRule.server2': '- route: []',
    },
  );
  assert.deepEqual(rejected, []);
  assert.equal(config.loadBalance.strategy, 'RoundRobin');
  assert.equal(config.loadBalance.perService.server2?.strategy, 'SessionStickiness');
  assert.equal(config.flat['cse.loadbalance.strategy.name'], undefined);
  assert.equal(config.flat['servicecomb.loadbalance.strategy.name'], 'round_robin');
  assert.equal(config.flat.other, 1);
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.flat));
});

test('an unknown strategy name is rejected with its key; the base strategy stays', () => {
  const base = testSidecarConfig();
  const { config, rejected } = overlayConfig(base, { 'servicecomb.loadbalance.strategy.name': 'Fastest' });
  assert.equal(config.loadBalance.strategy, base.loadBalance.strategy);
  assert.equal(rejected.length, 1);
  assert.match(rejected[0]!, /servicecomb\.loadbalance\.strategy\.name: unknown strategy "Fastest"/);
});
