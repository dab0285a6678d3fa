import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeEndpoint } from '../../../test/contract/balancer.ts';
import { ZonePreference } from './zone.ts';

const Z = (region: string, availableZone: string) => ({ region, availableZone });

test('tiers: same zone, then same region; redundant and empty tiers are left out', () => {
  const zp = new ZonePreference();
  const eps = [
    fakeEndpoint('a', { zone: Z('r1', 'z1') }),
    fakeEndpoint('b', { zone: Z('r1', 'z2') }),
    fakeEndpoint('c', { zone: Z('r2', 'z1') }),
    fakeEndpoint('d'),
    fakeEndpoint('e', { zone: Z('r1', 'z1') }),
  ];
  zp.reset(eps);
  assert.deepEqual(
    zp.tiers(Z('r1', 'z1')).map((t) => [...t]),
    [
      [0, 4],
      [0, 1, 4],
    ],
  );
  // Same region only (no endpoint in the caller's zone): one tier.
  assert.deepEqual(
    zp.tiers(Z('r1', 'z9')).map((t) => [...t]),
    [[0, 1, 4]],
  );
  // Zone == region set: one tier, not two identical ones.
  assert.deepEqual(
    zp.tiers(Z('r2', 'z1')).map((t) => [...t]),
    [[2]],
  );
  // Nothing matches: no tiers (the strategy uses all endpoints).
  assert.deepEqual(zp.tiers(Z('r9', 'z9')), []);
});

test('when every endpoint is in the caller zone, or none carries a zone, there are no tiers', () => {
  const zp = new ZonePreference();
  zp.reset([fakeEndpoint('a', { zone: Z('r1', 'z1') }), fakeEndpoint('b', { zone: Z('r1', 'z1') })]);
  assert.deepEqual(zp.tiers(Z('r1', 'z1')), []);
  zp.reset([fakeEndpoint('a'), fakeEndpoint('b')]);
  assert.deepEqual(zp.tiers(Z('r1', 'z1')), []);
});

test('tiers are cached per caller zone and recomputed after reset()', () => {
  const zp = new ZonePreference();
  const eps = [fakeEndpoint('a', { zone: Z('r1', 'z1') }), fakeEndpoint('b', { zone: Z('r2', 'z1') })];
  zp.reset(eps);
  const t1 = zp.tiers(Z('r1', 'z1'));
  assert.equal(zp.tiers({ region: 'r1', availableZone: 'z1' }), t1, 'same array for an equal zone');
  zp.tiers(Z('r2', 'z1'));
  assert.equal(zp.tiers(Z('r1', 'z1')), t1, 'cached, not recomputed');
  zp.reset([eps[1]!, eps[0]!]);
  assert.deepEqual(
    zp.tiers(Z('r1', 'z1')).map((t) => [...t]),
    [[1]],
  );
  // Many distinct caller zones do not grow the cache without bound (no observable error either).
  for (let i = 0; i < 1000; i++) zp.tiers(Z('r1', `z${i}`));
  assert.deepEqual(
    zp.tiers(Z('r1', 'z1')).map((t) => [...t]),
    [[1]],
  );
});
