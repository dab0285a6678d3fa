import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall } from '../../../test/support/fake-call.ts';
import type { CallContext } from '../chain/types.ts';
import { headerValue, MarkerIndex, markerMatches, queryValue } from './match.ts';
import { parseGovernance } from './parse.ts';
import type { Marker } from './types.ts';

function marker(doc: unknown): Marker {
  const r = parseGovernance({ 'servicecomb.matchGroup.m': doc });
  assert.deepEqual(r.issues, []);
  return r.config.markers.m!;
}

const inbound = (over: Partial<CallContext> = {}) =>
  fakeCall({
    direction: 'inbound',
    service: 'me',
    source: { service: 'caller', address: undefined },
    ...over,
  });

// [what, marker doc, call, expected]
const TABLE: [string, unknown, CallContext, boolean][] = [
  ['prefix', { matches: [{ apiPath: { prefix: '/login' } }] }, inbound({ path: '/login/x' }), true],
  [
    'prefix, other path',
    { matches: [{ apiPath: { prefix: '/login' } }] },
    inbound({ path: '/logout' }),
    false,
  ],
  ['exact ignores the query', { matches: [{ apiPath: { exact: '/a' } }] }, inbound({ path: '/a?x=1' }), true],
  ['exact, longer path', { matches: [{ apiPath: { exact: '/a' } }] }, inbound({ path: '/ab' }), false],
  [
    'prefix not in the query',
    { matches: [{ apiPath: { prefix: '/a?x' } }] },
    inbound({ path: '/a?x=1' }),
    false,
  ],
  [
    'suffix before the query',
    { matches: [{ apiPath: { suffix: '.json' } }] },
    inbound({ path: '/f.json?v=2' }),
    true,
  ],
  ['contains', { matches: [{ apiPath: { contains: 'admin' } }] }, inbound({ path: '/x/admin/y' }), true],
  [
    'contains only in the query',
    { matches: [{ apiPath: { contains: 'admin' } }] },
    inbound({ path: '/x?admin' }),
    false,
  ],
  ['regex', { matches: [{ apiPath: { regex: '^/users/\\d+$' } }] }, inbound({ path: '/users/42?a=b' }), true],
  ['regex no', { matches: [{ apiPath: { regex: '^/users/\\d+$' } }] }, inbound({ path: '/users/x' }), false],
  [
    'two operators AND',
    { matches: [{ apiPath: { prefix: '/a', suffix: '/z' } }] },
    inbound({ path: '/a/b' }),
    false,
  ],
  ['method', { matches: [{ method: ['POST', 'put'] }] }, inbound({ method: 'PUT' }), true],
  ['method no', { matches: [{ method: ['POST'] }] }, inbound({ method: 'GET' }), false],
  [
    'header exact, any case of the name',
    { matches: [{ headers: { 'X-User': { exact: 'vip' } } }] },
    inbound({ headers: ['x-USER', 'vip'] }),
    true,
  ],
  ['header missing', { matches: [{ headers: { 'x-user': { exact: 'vip' } } }] }, inbound(), false],
  [
    'header compare',
    { matches: [{ headers: { 'x-age': { compare: '>=18' } } }] },
    inbound({ headers: ['x-age', '18'] }),
    true,
  ],
  [
    'header compare, not a number',
    { matches: [{ headers: { 'x-age': { compare: '>=18' } } }] },
    inbound({ headers: ['x-age', 'old'] }),
    false,
  ],
  [
    'header shorthand string = exact',
    { matches: [{ headers: { 'x-a': 'b' } }] },
    inbound({ headers: ['x-a', 'b'] }),
    true,
  ],
  [
    'query',
    { matches: [{ queries: { tier: { exact: 'gold plus' } } }] },
    inbound({ path: '/a?x=1&tier=gold+plus' }),
    true,
  ],
  ['query missing', { matches: [{ queries: { tier: { exact: 'gold' } } }] }, inbound({ path: '/a' }), false],
  [
    'AND within one match',
    { matches: [{ apiPath: { prefix: '/login' }, method: ['POST'] }] },
    inbound({ path: '/login', method: 'GET' }),
    false,
  ],
  [
    'OR across matches',
    { matches: [{ method: ['DELETE'] }, { apiPath: { prefix: '/login' } }] },
    inbound({ path: '/login', method: 'GET' }),
    true,
  ],
  [
    'serviceName: consumer side, the called service',
    { matches: [{ serviceName: 'server2', apiPath: { prefix: '/' } }] },
    fakeCall({ service: 'server2' }),
    true,
  ],
  [
    'serviceName: another called service',
    { matches: [{ serviceName: 'server2' }] },
    fakeCall({ service: 'server3' }),
    false,
  ],
  [
    'serviceName never matches inbound (Java chassis: null on the provider)',
    { matches: [{ serviceName: 'me' }] },
    inbound(),
    false,
  ],
  [
    'without serviceName: provider side only, never an outbound call',
    { matches: [{ apiPath: { prefix: '/' } }] },
    fakeCall({ path: '/x' }),
    false,
  ],
];

test('matching table (each row through markerMatches and through a MarkerIndex)', () => {
  for (const [what, doc, call, expected] of TABLE) {
    const m = marker(doc);
    assert.equal(markerMatches(m, call, call.direction), expected, what);
    const index = new MarkerIndex([{ item: 'hit', marker: m }]);
    assert.equal(index.first(call), expected ? 'hit' : undefined, `${what} (index)`);
  }
});

test('customMatcher: accepted with a warning, that match never matches', () => {
  const r = parseGovernance({
    'servicecomb.matchGroup.m': { matches: [{ customMatcher: { customMatcherHandler: 'x' } }] },
  });
  assert.equal(r.issues.length, 0);
  assert.match(r.warnings[0]!.message, /never matches/);
  assert.equal(markerMatches(r.config.markers.m!, inbound(), 'inbound'), false);
});

test('index: the first policy in order wins; has() says which sides need a step', () => {
  const a = marker({ matches: [{ apiPath: { prefix: '/login' } }] });
  const b = marker({ matches: [{ apiPath: { prefix: '/' } }, { serviceName: 's' }] });
  const index = new MarkerIndex([
    { item: 'a', marker: a },
    { item: 'b', marker: b },
  ]);
  assert.equal(index.first(inbound({ path: '/login' })), 'a');
  assert.equal(index.first(inbound({ path: '/other' })), 'b');
  assert.equal(index.first(fakeCall({ service: 's' })), 'b');
  assert.equal(index.first(fakeCall({ service: 't' })), undefined);
  assert.equal(index.has('inbound'), true);
  assert.equal(new MarkerIndex([{ item: 'a', marker: a }]).has('outbound'), false);
});

test('header and query lookups', () => {
  assert.equal(headerValue(['Host', 'x', 'X-A', '1', 'x-a', '2'], 'x-a'), '1', 'the first value');
  assert.equal(headerValue(['x-ab', '1'], 'x-a'), undefined);
  assert.equal(queryValue('/p?a=1&bb=2&b=3', 2, 'b'), '3');
  assert.equal(queryValue('/p?flag&x=1', 2, 'flag'), '');
  assert.equal(queryValue('/p?x=%E2%9C%93', 2, 'x'), '✓');
  assert.equal(queryValue('/p?x=%zz', 2, 'x'), '%zz', 'bad escapes stay as they are');
});

test('regex inputs over 8 KiB never match (bounded work per call)', () => {
  const m = marker({ matches: [{ apiPath: { regex: 'a' } }] });
  assert.equal(markerMatches(m, inbound({ path: `/${'a'.repeat(9000)}` }), 'inbound'), false);
  assert.equal(markerMatches(m, inbound({ path: '/a' }), 'inbound'), true);
});

test('cost: 10 markers, a call matching none and a call matching the last (µs per call)', (t) => {
  const flat: Record<string, unknown> = {};
  const items: { item: number; marker: Marker }[] = [];
  for (let i = 0; i < 10; i++) {
    flat[`servicecomb.matchGroup.m${i}`] = {
      matches: [
        { apiPath: { prefix: `/api/v${i}/` }, method: ['POST'], headers: { 'x-tenant': { exact: `t${i}` } } },
      ],
    };
  }
  const r = parseGovernance(flat);
  for (let i = 0; i < 10; i++) items.push({ item: i, marker: r.config.markers[`m${i}`]! });
  const index = new MarkerIndex(items);
  const headers = ['host', 'me', 'user-agent', 'x', 'accept', '*/*', 'x-tenant', 't9'];
  const none = inbound({ method: 'POST', path: '/other/path?q=1', headers });
  const last = inbound({ method: 'POST', path: '/api/v9/items?q=1', headers });
  assert.equal(index.first(none), undefined);
  assert.equal(index.first(last), 9);
  const N = 200_000;
  for (const [name, call] of [
    ['none', none],
    ['last', last],
  ] as const) {
    let hits = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) if (index.first(call) !== undefined) hits++;
    const us = Number(process.hrtime.bigint() - t0) / 1000 / N;
    assert.equal(hits, name === 'none' ? 0 : N);
    t.diagnostic(`10 markers, ${name}: ${us.toFixed(3)} µs per call`);
  }
});
