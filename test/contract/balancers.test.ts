/**
 * Runs the balancer contract (./balancer.ts) for every registered strategy: the loop is over
 * `balancerNames()`, so a newly registered strategy is covered without touching this file.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/shared/clock.ts';
import { balancerNames, createBalancer, DEFAULT_BALANCER } from '../../src/sidecar/balancer/registry.ts';
import { runBalancerContract, seededRandom } from './balancer.ts';

test('the registry holds the five built-in strategies, LeastLoaded being the default', () => {
  assert.deepEqual(
    [...balancerNames()].sort(),
    ['LeastLoaded', 'Random', 'RoundRobin', 'SessionStickiness', 'WeightedResponse'].sort(),
  );
  assert.equal(DEFAULT_BALANCER, 'LeastLoaded');
});

let seed = 1;
for (const name of balancerNames()) {
  runBalancerContract(name, () => {
    const b = createBalancer(name, { clock: new ManualClock(), random: seededRandom(seed++) });
    assert.equal(b.name, name);
    return b;
  });
  // And once more on the real clock and Math.random, as production builds them.
  runBalancerContract(`${name} (system clock and random)`, () => createBalancer(name));
}
