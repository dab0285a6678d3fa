// Deciding calls: precedence order, first match wins, smooth weighted splits (exact over a cycle),
// the remainder to the default selection, caller filtering, and state kept across reloads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRouteTable } from './parse.ts';
import { createRouter } from './router.ts';
import { SmoothWeighted } from './swrr.ts';
import { DEFAULT_DECISION } from './table.ts';
import type { RequestView } from './types.ts';

const me = { service: 'client', version: '1.0.0', app: 'default' };
const req = (headers: string[] = [], path = '/', method = 'GET'): RequestView => ({ method, path, headers });

function router(rules: unknown, previous?: ReturnType<typeof createRouter>) {
  const r = parseRouteTable({ 'servicecomb.routeRule.server': rules });
  assert.deepEqual(r.issues, []);
  return createRouter(r.table, me, previous);
}

function count(rt: ReturnType<typeof createRouter>, n: number, r = req()): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const k = rt.decide('server', r).routeKey;
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

test('rules are tried by precedence, highest first; the first match wins', () => {
  const rt = router([
    { precedence: 1, route: [{ tags: { version: 'low' } }] },
    {
      precedence: 9,
      match: { headers: { 'x-user': { exact: 'a' } } },
      route: [{ tags: { version: 'high' } }],
    },
    {
      precedence: 5,
      match: { headers: { 'x-user': { contains: 'a' } } },
      route: [{ tags: { version: 'mid' } }],
    },
  ]);
  assert.equal(rt.decide('server', req(['X-User', 'a'])).tags?.version, 'high');
  assert.equal(rt.decide('server', req(['X-User', 'ba'])).tags?.version, 'mid');
  assert.equal(rt.decide('server', req(['X-User', 'b'])).tags?.version, 'low');
  assert.equal(rt.decide('server', req(['X-User', 'a'])).rule, 0);
  assert.equal(rt.decide('server', req(['X-User', 'b'])).rule, 2);
});

test('equal precedence keeps the written order', () => {
  const rt = router([
    { route: [{ tags: { version: 'first' } }] },
    { route: [{ tags: { version: 'second' } }] },
  ]);
  assert.equal(rt.decide('server', req()).tags?.version, 'first');
});

test('no matching rule, or no rules for the service: the default decision', () => {
  const rt = router([{ match: { method: 'POST' }, route: [{ tags: { version: '2' } }] }]);
  assert.equal(rt.decide('server', req()), DEFAULT_DECISION);
  assert.equal(rt.decide('unknown', req()), DEFAULT_DECISION);
  assert.equal(DEFAULT_DECISION.tags, undefined);
  assert.equal(DEFAULT_DECISION.routeKey, '*');
});

test('a 20/80 split over 1,000 picks is exactly 200/800, and smooth (1 in every 5)', () => {
  const rt = router([
    {
      route: [
        { tags: { version: '1.0.0' }, weight: 20 },
        { tags: { version: '2.0.0' }, weight: 80 },
      ],
    },
  ]);
  const seq = Array.from({ length: 1000 }, () => rt.decide('server', req()).routeKey);
  assert.equal(seq.filter((k) => k === 'version=1.0.0').length, 200);
  assert.equal(seq.filter((k) => k === 'version=2.0.0').length, 800);
  for (let i = 0; i < 1000; i += 5) {
    assert.equal(seq.slice(i, i + 5).filter((k) => k === 'version=1.0.0').length, 1, `window at ${i}`);
  }
});

test('weights under 100 send the remainder to the default selection', () => {
  const rt = router([{ route: [{ tags: { version: '2.0.0' }, weight: 30 }] }]);
  const c = count(rt, 1000);
  assert.equal(c.get('version=2.0.0'), 300);
  assert.equal(c.get('*'), 700);
  const rest = [...Array(10)].map(() => rt.decide('server', req())).find((d) => d.routeKey === '*')!;
  assert.equal(rest.tags, undefined);
  assert.equal(rest.rule, 0);
});

test('all-zero weights send everything to the default selection; a weight-0 route is never picked', () => {
  assert.deepEqual([...count(router([{ route: [{ tags: { v: '1' }, weight: 0 }] }]), 50)], [['*', 50]]);
  const c = count(
    router([
      {
        route: [
          { tags: { v: '1' }, weight: 0 },
          { tags: { v: '2' }, weight: 100 },
        ],
      },
    ]),
    50,
  );
  assert.deepEqual([...c], [['v=2', 50]]);
});

test('one picker per (service, rule): two rules keep separate weighted state', () => {
  const rt = router([
    {
      precedence: 2,
      match: { headers: { 'x-a': { exact: '1' } } },
      route: [
        { tags: { v: 'a1' }, weight: 50 },
        { tags: { v: 'a2' }, weight: 50 },
      ],
    },
    {
      route: [
        { tags: { v: 'b1' }, weight: 50 },
        { tags: { v: 'b2' }, weight: 50 },
      ],
    },
  ]);
  const seq = [
    rt.decide('server', req(['x-a', '1'])).routeKey,
    rt.decide('server', req()).routeKey,
    rt.decide('server', req(['x-a', '1'])).routeKey,
    rt.decide('server', req()).routeKey,
  ];
  assert.deepEqual(seq, ['v=a1', 'v=b1', 'v=a2', 'v=b2']);
});

test('decisions carry the route policy and are shared objects (no per-request allocation)', () => {
  const rt = router([{ route: [{ tags: { version: '2' }, timeoutMs: 250, retry: { attempts: 2 } }] }]);
  const a = rt.decide('server', req());
  assert.equal(a, rt.decide('server', req()));
  assert.deepEqual(a.policy, { timeoutMs: 250, retry: { attempts: 2 } });
});

test('rules whose source/sourceTags do not fit the caller are dropped when the router is built', () => {
  const r = parseRouteTable({
    'servicecomb.routeRule.server': [{ match: { source: 'someone-else' }, route: [{ tags: { v: '2' } }] }],
  });
  const rt = createRouter(r.table, me);
  assert.equal(rt.has('server'), false);
  assert.equal(createRouter(r.table, { service: 'someone-else' }).has('server'), true);
});

test('a reload that keeps a split keeps its round robin position; a changed split starts over', () => {
  const rules = [
    {
      route: [
        { tags: { v: '1' }, weight: 50 },
        { tags: { v: '2' }, weight: 50 },
      ],
    },
  ];
  const first = router(rules);
  assert.equal(first.decide('server', req()).routeKey, 'v=1');
  const same = router(rules, first);
  assert.equal(same.decide('server', req()).routeKey, 'v=2');
  const changed = router(
    [
      {
        route: [
          { tags: { v: '1' }, weight: 40 },
          { tags: { v: '2' }, weight: 60 },
        ],
      },
    ],
    same,
  );
  assert.equal(changed.decide('server', req()).routeKey, 'v=2'); // fresh state: 40 vs 60 → v=2 first
});

test('SmoothWeighted: nginx sequence for 5/1/1 and exact counts over one cycle', () => {
  const p = new SmoothWeighted([5, 1, 1]);
  const seq = Array.from({ length: 7 }, () => p.pick());
  assert.deepEqual(seq, [0, 0, 1, 0, 2, 0, 0]);
  assert.equal(new SmoothWeighted([0, 0]).pick(), -1);
});
