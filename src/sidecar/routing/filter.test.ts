// Endpoint selection by route tags (version rules, app, properties), memoisation per snapshot,
// and NO_ENDPOINTS for an empty subset.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMeshError } from '../../shared/errors.ts';
import type { Endpoint, ServiceSnapshot } from '../discovery/types.ts';
import { endpointsFor, filterEndpoints, selectEndpoints } from './filter.ts';
import { DEFAULT_DECISION } from './table.ts';

function ep(id: string, version: string, app = 'default', properties: Record<string, string> = {}): Endpoint {
  return {
    key: `${id}@127.0.0.1:1`,
    instanceId: id,
    serviceId: 's',
    host: '127.0.0.1',
    port: 1,
    tls: false,
    version,
    app,
    properties,
  };
}

const EPS: readonly Endpoint[] = Object.freeze([
  ep('a', '1.0.0', 'default', { zone: 'z1' }),
  ep('b', '1.1.0', 'default', { zone: 'z2', canary: 'true' }),
  ep('c', '2.0.0', 'other', { zone: 'z1' }),
  ep('d', '2.0', 'default'),
  ep('e', 'beta'),
]);

const ids = (eps: readonly Endpoint[]) => eps.map((e) => e.instanceId).join('');

const CASES: Array<[string, Record<string, string>, string]> = [
  ['exact version', { version: '1.1.0' }, 'b'],
  ['exact version compares numerically (2.0 = 2.0.0)', { version: '2.0.0' }, 'cd'],
  ['a short exact version is zero-padded (1 = 1.0.0)', { version: '1' }, 'a'],
  ['non-numeric version compares as a string', { version: 'beta' }, 'e'],
  ['latest = the highest version present', { version: 'latest' }, 'cd'],
  ['at least (1.1.0+)', { version: '1.1.0+' }, 'bcd'],
  ['range (from inclusive, to exclusive)', { version: '1.0.0-2.0.0' }, 'ab'],
  ['app', { app: 'other' }, 'c'],
  ['a property', { zone: 'z1' }, 'ac'],
  ['several tags are AND-ed', { zone: 'z1', version: '1.0.0' }, 'a'],
  ['a property nobody has', { rack: 'r1' }, ''],
  ['version and app', { version: '2.0.0', app: 'default' }, 'd'],
];

for (const [name, tags, want] of CASES) {
  test(`selects by ${name}`, () => {
    assert.equal(ids(selectEndpoints(EPS, tags)), want);
  });
}

test('filterEndpoints memoises per (snapshot array, tags object): the same answer object each time', () => {
  const tags = Object.freeze({ zone: 'z1' });
  const first = filterEndpoints(EPS, tags);
  assert.equal(ids(first), 'ac');
  assert.equal(filterEndpoints(EPS, tags), first);
  assert.ok(Object.isFrozen(first));
  // A new snapshot (new array) is filtered afresh.
  const next = Object.freeze([...EPS, ep('f', '3.0.0', 'default', { zone: 'z1' })]);
  const second = filterEndpoints(next, tags);
  assert.notEqual(second, first);
  assert.equal(ids(second), 'acf');
  // No tags: the snapshot's own array, untouched.
  assert.equal(filterEndpoints(EPS, undefined), EPS);
});

test('endpointsFor: an empty subset is 503 NO_ENDPOINTS naming the route; default passes through', () => {
  const snapshot: ServiceSnapshot = { serviceName: 'server', app: 'default', revision: '1', endpoints: EPS };
  assert.equal(endpointsFor(snapshot, DEFAULT_DECISION), EPS);
  const tags = Object.freeze({ version: '9.0.0' });
  assert.throws(
    () => endpointsFor(snapshot, { routeKey: 'version=9.0.0', tags, rule: 0 }),
    (err: unknown) =>
      isMeshError(err) &&
      err.code === 'NO_ENDPOINTS' &&
      err.status === 503 &&
      /version=9\.0\.0/.test(err.message),
  );
});
