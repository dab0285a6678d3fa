// Table tests for every match operator, through the public parse → router path, so the YAML
// spelling, normalisation, compilation and per-request matching are all exercised together.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRouteTable } from './parse.ts';
import { createRouter } from './router.ts';
import type { CallerIdentity, RequestView } from './types.ts';

const me = { service: 'client', version: '1.0.0', app: 'shop', properties: { zone: 'a' } };

/** Does a one-rule table with `match` send `req` to the v2 route? */
function routes(match: unknown, req: Partial<RequestView>, caller: CallerIdentity = me): boolean {
  const r = parseRouteTable({
    'servicecomb.routeRule.server': [{ precedence: 1, match, route: [{ tags: { version: '2.0.0' } }] }],
  });
  assert.deepEqual(r.issues, [], JSON.stringify(r.issues));
  const router = createRouter(r.table, caller);
  const d = router.decide('server', { method: 'GET', path: '/', headers: [], ...req });
  return d.routeKey === 'version=2.0.0';
}

const h = (...kv: string[]) => ({ headers: kv });

const HEADER_CASES: Array<[string, Record<string, unknown>, string[], boolean]> = [
  ['exact hit', { exact: 'alice' }, ['X-User', 'alice'], true],
  ['exact miss', { exact: 'alice' }, ['X-User', 'bob'], false],
  ['exact is case-sensitive by default', { exact: 'alice' }, ['X-User', 'Alice'], false],
  ['exact caseInsensitive', { exact: 'ALICE', caseInsensitive: true }, ['X-User', 'aLiCe'], true],
  ['caseInsensitive as a string', { exact: 'ALICE', caseInsensitive: 'true' }, ['X-User', 'alice'], true],
  ['header name case ignored (rule X-User, request x-user)', { exact: 'a' }, ['x-user', 'a'], true],
  ['header name case ignored (request X-USER)', { exact: 'a' }, ['X-USER', 'a'], true],
  ['absent header is empty: exact fails', { exact: 'a' }, ['Other', 'a'], false],
  ['absent header is empty: noEqu holds', { noEqu: 'a' }, [], true],
  ['noEqu hit', { noEqu: 'alice' }, ['X-User', 'bob'], true],
  ['noEqu miss', { noEqu: 'alice' }, ['X-User', 'alice'], false],
  ['noEqu caseInsensitive', { noEqu: 'ALICE', caseInsensitive: true }, ['X-User', 'alice'], false],
  ['contains hit', { contains: 'lic' }, ['X-User', 'alice'], true],
  ['contains miss', { contains: 'bob' }, ['X-User', 'alice'], false],
  ['contains caseInsensitive', { contains: 'LIC', caseInsensitive: true }, ['X-User', 'aLIce'], true],
  ['regex is unanchored', { regex: 'li' }, ['X-User', 'alice'], true],
  ['regex anchored by the writer', { regex: '^li' }, ['X-User', 'alice'], false],
  ['regex miss', { regex: '^b.*' }, ['X-User', 'alice'], false],
  ['regex caseInsensitive', { regex: '^ALI', caseInsensitive: true }, ['X-User', 'alice'], true],
  ['regex case-sensitive by default', { regex: '^ALI' }, ['X-User', 'alice'], false],
  ['less hit', { less: '10' }, ['X-User', '9'], true],
  ['less miss (equal)', { less: '10' }, ['X-User', '10'], false],
  ['noLess hit (equal)', { noLess: '10' }, ['X-User', '10'], true],
  ['noLess miss', { noLess: '10' }, ['X-User', '9.5'], false],
  ['greater hit', { greater: '10' }, ['X-User', '10.5'], true],
  ['greater miss', { greater: '10' }, ['X-User', '10'], false],
  ['noGreater hit', { noGreater: '-1' }, ['X-User', '-2'], true],
  ['noGreater miss', { noGreater: '-1' }, ['X-User', '0'], false],
  ['numeric from a typed YAML number', { greater: 10 }, ['X-User', '11'], true],
  ['numeric: not a number never matches less', { less: '10' }, ['X-User', 'abc'], false],
  ['numeric: not a number never matches greater', { greater: '10' }, ['X-User', '1e9'], false],
  ['numeric: empty (absent) never matches', { noGreater: '10' }, [], false],
  ['numeric: whitespace trimmed', { less: '10' }, ['X-User', ' 3 '], true],
  ['numeric: +5 and .5 and 5. are numbers', { greater: '0.4' }, ['X-User', '.5'], true],
  ['numeric: a plus sign', { noLess: '5' }, ['X-User', '+5'], true],
  ['numeric: a trailing dot', { less: '6' }, ['X-User', '5.'], true],
  ['numeric: two dots is not a number', { less: '6' }, ['X-User', '1.2.3'], false],
  ['numeric: two signs is not a number', { less: '6' }, ['X-User', '--1'], false],
  ['numeric: only spaces is not a number', { less: '6' }, ['X-User', '  '], false],
  ['numeric: hex is not a number', { greater: '1' }, ['X-User', '0x10'], false],
  ['caseInsensitive exact with non-ASCII', { exact: 'ÉTÉ', caseInsensitive: true }, ['X-User', 'été'], true],
  ['caseInsensitive noEqu with non-ASCII', { noEqu: 'été', caseInsensitive: true }, ['X-User', 'ÉTÉ'], false],
  [
    'caseInsensitive exact, different length',
    { exact: 'ab', caseInsensitive: true },
    ['X-User', 'abc'],
    false,
  ],
  ['several operators are AND-ed (in range)', { greater: '10', less: '20' }, ['X-User', '15'], true],
  ['several operators are AND-ed (out of range)', { greater: '10', less: '20' }, ['X-User', '25'], false],
  ['multi-valued: the first value counts', { exact: 'a' }, ['X-User', 'a', 'X-User', 'b'], true],
  ['multi-valued: a later value does not', { exact: 'b' }, ['X-User', 'a', 'X-User', 'b'], false],
];

for (const [name, cond, headers, want] of HEADER_CASES) {
  test(`header ${name}`, () => {
    assert.equal(routes({ headers: { 'X-User': cond } }, h(...headers)), want);
  });
}

test('httpHeaders is an alias of headers; conditions across headers are AND-ed', () => {
  const match = { headers: { 'X-A': { exact: '1' } }, httpHeaders: { 'x-b': { exact: '2' } } };
  assert.equal(routes(match, h('x-a', '1', 'X-B', '2')), true);
  assert.equal(routes(match, h('x-a', '1', 'X-B', '3')), false);
});

const OTHER_CASES: Array<[string, unknown, Partial<RequestView>, boolean]> = [
  ['empty match matches all', {}, {}, true],
  ['absent match matches all', undefined, {}, true],
  ['method hit', { method: ['get', 'POST'] }, { method: 'POST' }, true],
  ['method miss', { method: 'GET' }, { method: 'DELETE' }, false],
  ['path exact hit', { path: { exact: '/a' } }, { path: '/a' }, true],
  ['path exact ignores the query', { path: { exact: '/a' } }, { path: '/a?x=1' }, true],
  ['path exact miss (longer)', { path: { exact: '/a' } }, { path: '/ab' }, false],
  ['path as a plain string is exact', { path: '/a' }, { path: '/a' }, true],
  ['path prefix hit', { path: { prefix: '/api/' } }, { path: '/api/v1?q' }, true],
  ['path prefix miss', { path: { prefix: '/api/' } }, { path: '/apx/v1' }, false],
  ['path prefix does not see the query', { path: { prefix: '/a?x' } }, { path: '/a?x=1' }, false],
  ['path regex hit', { path: { regex: '^/users/\\d+$' } }, { path: '/users/42?x=1' }, true],
  ['path regex miss', { path: { regex: '^/users/\\d+$' } }, { path: '/users/x' }, false],
  ['apiPath alias', { apiPath: { prefix: '/v2' } }, { path: '/v2/x' }, true],
  ['source hit', { source: 'client' }, {}, true],
  ['source miss', { source: 'other' }, {}, false],
  ['sourceTags version', { sourceTags: { version: '1.0.0' } }, {}, true],
  ['sourceTags app miss', { sourceTags: { app: 'other' } }, {}, false],
  ['sourceTags property', { sourceTags: { zone: 'a' } }, {}, true],
  ['sourceTags property miss', { sourceTags: { zone: 'b' } }, {}, false],
  ['sourceTags unknown property', { sourceTags: { rack: 'a' } }, {}, false],
];

for (const [name, match, req, want] of OTHER_CASES) {
  test(`match ${name}`, () => {
    assert.equal(routes(match, req), want);
  });
}

test('source matching works for outbound calls: it is evaluated against the identity given', () => {
  assert.equal(routes({ source: 'batch' }, {}, { service: 'batch' }), true);
  assert.equal(routes({ source: 'batch' }, {}, { service: 'client' }), false);
});
