// servicecomb.match markers and `match.refer`: both marker shapes, flattened config, apiPath
// operators as alternatives, AND with the rule's own conditions, and rejections.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMarkers } from './markers.ts';
import { parseRouteTable } from './parse.ts';
import { createRouter } from './router.ts';
import type { RequestView } from './types.ts';

const req = (method: string, path: string, headers: string[] = []): RequestView => ({
  method,
  path,
  headers,
});

function routerWith(flat: Record<string, unknown>, match: Record<string, unknown>) {
  const r = parseRouteTable({
    ...flat,
    'servicecomb.routeRule.s': [{ match, route: [{ tags: { version: '2' } }] }],
  });
  assert.deepEqual(r.issues, []);
  const rt = createRouter(r.table, { service: 'me' });
  return (q: RequestView) => rt.decide('s', q).routeKey === 'version=2';
}

test('a one-block marker (YAML text): headers, apiPath and method all hold', () => {
  const hits = routerWith(
    {
      'servicecomb.match.vip':
        'headers: { x-user: { regex: "^vip-" } }\napiPath: { prefix: /api/ }\nmethod: GET',
    },
    { refer: 'vip' },
  );
  assert.equal(hits(req('GET', '/api/x', ['X-User', 'vip-1'])), true);
  assert.equal(hits(req('POST', '/api/x', ['X-User', 'vip-1'])), false);
  assert.equal(hits(req('GET', '/web', ['X-User', 'vip-1'])), false);
  assert.equal(hits(req('GET', '/api/x', ['X-User', 'bob'])), false);
});

test('a marker with alternatives (matches list): any of them', () => {
  const hits = routerWith(
    {
      'servicecomb.match.writes': {
        matches: [{ method: ['POST', 'PUT'] }, { apiPath: { contains: '/admin/' } }],
      },
    },
    { refer: 'writes' },
  );
  assert.equal(hits(req('POST', '/x')), true);
  assert.equal(hits(req('GET', '/a/admin/b')), true);
  assert.equal(hits(req('GET', '/a/admin.b')), false); // contains is literal, not a regex
  assert.equal(hits(req('GET', '/x')), false);
});

test('apiPath with several operators: any of them (as the original)', () => {
  const hits = routerWith(
    { 'servicecomb.match.p': { apiPath: { exact: '/a', prefix: '/b/' } } },
    { refer: 'p' },
  );
  assert.equal(hits(req('GET', '/a')), true);
  assert.equal(hits(req('GET', '/b/c')), true);
  assert.equal(hits(req('GET', '/c')), false);
});

test('a marker flattened by the config loader is put back together; cse. spelling works', () => {
  const hits = routerWith(
    {
      'cse.match.m.headers.x-env.exact': 'canary',
      'servicecomb.match.m.method': 'GET',
      'servicecomb.match.m.trafficMarkPolicy': 'once',
    },
    { refer: 'm' },
  );
  assert.equal(hits(req('GET', '/', ['x-env', 'canary'])), true);
  assert.equal(hits(req('GET', '/', ['x-env', 'prod'])), false);
});

test('refer is AND-ed with the rule own conditions (the original ignored them)', () => {
  const hits = routerWith(
    { 'servicecomb.match.get': { method: 'GET' } },
    { refer: 'get', path: { prefix: '/v2' } },
  );
  assert.equal(hits(req('GET', '/v2/x')), true);
  assert.equal(hits(req('GET', '/v1/x')), false);
});

test('a request matching two markers satisfies both', () => {
  const flat = {
    'servicecomb.match.a': { method: 'GET' },
    'servicecomb.match.b': { apiPath: { prefix: '/' } },
  };
  assert.equal(routerWith(flat, { refer: 'a' })(req('GET', '/x')), true);
  assert.equal(routerWith(flat, { refer: 'b' })(req('GET', '/x')), true);
});

test('bad markers are reported with their key; a rule referring to one is rejected too', () => {
  const { issues } = parseMarkers({
    'servicecomb.match.a': { apiPath: { suffix: '/x' } },
    'servicecomb.match.b': { headers: { x: { regex: '(' } } },
    'servicecomb.match.c': { refer: 'a' },
    'servicecomb.match.d': { source: 'me' },
    'servicecomb.match.e': { matches: [] },
    'servicecomb.match.f': '- [unclosed',
    'servicecomb.match.g': { method: 'GET', color: 'red' },
  });
  const text = issues.map((i) => `${i.key}: ${i.message}`);
  for (const want of [
    /^servicecomb\.match\.a\.apiPath: unknown operator "suffix"/,
    /^servicecomb\.match\.b\.headers\.x: invalid regex/,
    /^servicecomb\.match\.c: unknown field "refer"/,
    /^servicecomb\.match\.d: unknown field "source"/,
    /^servicecomb\.match\.e\.matches: must be a list of 1–16 match blocks/,
    /^servicecomb\.match\.f: is not valid YAML/,
    /^servicecomb\.match\.g: unknown field "color"/,
  ]) {
    assert.ok(
      text.some((t) => want.test(t)),
      `${want} in ${JSON.stringify(text)}`,
    );
  }
  const r = parseRouteTable({
    'servicecomb.match.bad': { apiPath: { suffix: '/x' } },
    'servicecomb.routeRule.s': [{ match: { refer: 'bad' }, route: [{ tags: { v: '1' } }] }],
  });
  assert.ok(r.issues.some((i) => i.key === 'servicecomb.routeRule.s[0].match.refer'));
  assert.equal(r.table.services.has('s'), false);
});
