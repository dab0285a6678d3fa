import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeEndpoints } from '../../../test/contract/balancer.ts';
import { ManualClock } from '../../shared/clock.ts';
import { isBalancerConfigError } from './errors.ts';
import {
  balancerNames,
  createBalancer,
  DEFAULT_BALANCER,
  registerBalancer,
  resolveBalancerName,
} from './registry.ts';
import { RoundRobinBalancer } from './round-robin.ts';

test('names are matched case-insensitively, ignoring _ and -', () => {
  for (const spelling of ['RoundRobin', 'roundrobin', 'ROUNDROBIN', 'round_robin', 'Round-Robin']) {
    assert.equal(createBalancer(spelling).name, 'RoundRobin', spelling);
  }
  assert.equal(createBalancer('sessionstickiness').name, 'SessionStickiness');
  assert.equal(resolveBalancerName('weightedresponse'), 'WeightedResponse');
  assert.equal(resolveBalancerName('nope'), undefined);
  assert.equal(createBalancer(DEFAULT_BALANCER).name, 'LeastLoaded');
});

test('an unknown name throws UNKNOWN_BALANCER naming every valid choice', () => {
  assert.throws(
    () => createBalancer('RoundRobbin'),
    (err: unknown) => {
      assert.ok(isBalancerConfigError(err), 'a BalancerConfigError');
      assert.equal(err.code, 'UNKNOWN_BALANCER');
      assert.match(err.message, /"RoundRobbin"/);
      for (const name of balancerNames()) assert.ok(err.message.includes(name), `message names ${name}`);
      return true;
    },
  );
});

test('options are passed to the strategy and checked; strategies without options reject any', () => {
  const b = createBalancer('SessionStickiness', { options: { sessionTimeoutInSeconds: 10 } });
  assert.equal(b.name, 'SessionStickiness');
  assert.throws(
    () => createBalancer('SessionStickiness', { options: { sessionTimeoutInSeconds: 'soon' } }),
    (err: unknown) => isBalancerConfigError(err) && err.code === 'INVALID_BALANCER_OPTION',
  );
  assert.throws(
    () => createBalancer('RoundRobin', { options: { x: 1 } }),
    (err: unknown) => isBalancerConfigError(err) && /RoundRobin: it takes no options/.test(err.message),
  );
  assert.doesNotThrow(() => createBalancer('Random', { options: {} }));
});

test('a new strategy can be registered once, and is then listed and buildable', () => {
  registerBalancer('TestOnlyRotation', (deps) => new RoundRobinBalancer(deps));
  assert.ok(balancerNames().includes('TestOnlyRotation'));
  const b = createBalancer('testonlyrotation', { clock: new ManualClock() });
  b.update(fakeEndpoints(2));
  assert.equal(b.pick().kind, 'ok');
  assert.throws(
    () => registerBalancer('test_only_rotation', (deps) => new RoundRobinBalancer(deps)),
    (err: unknown) => isBalancerConfigError(err) && err.code === 'DUPLICATE_BALANCER',
  );
  assert.throws(() => registerBalancer(' ', (deps) => new RoundRobinBalancer(deps)), TypeError);
});

test('each createBalancer call builds an independent instance', () => {
  const a = createBalancer('LeastLoaded');
  const b = createBalancer('LeastLoaded');
  assert.notEqual(a, b);
  a.update(fakeEndpoints(2));
  assert.equal(b.pick().kind, 'unavailable');
});
