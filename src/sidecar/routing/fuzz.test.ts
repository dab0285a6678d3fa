// Property tests: bad input never throws (parsing arbitrary values and text; deciding arbitrary
// requests), and smooth weighted round robin hits every weight exactly over one cycle of 100.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseEgress } from '../egress/parse.ts';
import { parseRouteTable } from './parse.ts';
import { parsePropagation } from './propagation.ts';
import { createRouter } from './router.ts';
import { SmoothWeighted } from './swrr.ts';

const KEYS = [
  'servicecomb.routeRule.s',
  'routeRule.s',
  'servicecomb.darklaunch.policy.s',
  'servicecomb.router.propagate',
  'egressRule.e',
  'egress.passthrough',
];

test('parsing arbitrary values under every routing key never throws and always explains a rejection', () => {
  fc.assert(
    fc.property(fc.constantFrom(...KEYS), fc.oneof(fc.jsonValue(), fc.string()), (key, value) => {
      const flat = { [key]: value };
      const r = parseRouteTable(flat);
      for (const i of r.issues) assert.ok(i.key.length > 0 && i.message.length > 0);
      parseEgress(flat);
      parsePropagation(flat);
    }),
    { numRuns: 500 },
  );
});

const op = fc.constantFrom('exact', 'regex', 'contains', 'noEqu', 'less', 'noLess', 'greater', 'noGreater');
const ruleArb = fc.record({
  precedence: fc.integer({ min: -3, max: 3 }),
  match: fc.record(
    {
      headers: fc.dictionary(
        fc.constantFrom('x-a', 'X-B', 'x-c'),
        fc.dictionary(
          op,
          fc.oneof(fc.integer({ min: -5, max: 5 }).map(String), fc.constantFrom('a', 'B', '^a', '')),
        ),
      ),
      method: fc.constantFrom(['GET'], ['POST', 'get']),
      path: fc.constantFrom({ prefix: '/a' }, { exact: '/a/b' }, { regex: 'b$' }),
    },
    { requiredKeys: [] },
  ),
  route: fc.constantFrom(
    [{ tags: { version: '1' } }],
    [
      { tags: { version: '1' }, weight: 30 },
      { tags: { version: '2' }, weight: 50 },
    ],
  ),
});

test('deciding arbitrary requests against arbitrary valid rules never throws', () => {
  fc.assert(
    fc.property(
      fc.array(ruleArb, { maxLength: 4 }),
      fc.array(fc.tuple(fc.constantFrom('x-a', 'X-A', 'x-b', 'x-c', 'other'), fc.string()), { maxLength: 6 }),
      fc.constantFrom('GET', 'POST', 'PUT'),
      fc.string(),
      (rules, headers, method, path) => {
        const r = parseRouteTable({ 'servicecomb.routeRule.s': rules });
        const router = createRouter(r.table, { service: 'me' });
        const d = router.decide('s', { method, path, headers: headers.flat() });
        assert.equal(typeof d.routeKey, 'string');
      },
    ),
    { numRuns: 300 },
  );
});

test('smooth weighted round robin: over 100 picks every weight is hit exactly', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 6 }), (raw) => {
      // Scale to a total of exactly 100 (the router always adds the remainder entry).
      const used = raw.reduce((s, w) => s + w, 0);
      const weights = used > 100 ? raw.map(() => 0) : [...raw, 100 - used];
      const p = new SmoothWeighted(weights);
      const counts = weights.map(() => 0);
      for (let i = 0; i < 100; i++) {
        const at = p.pick();
        if (at !== -1) counts[at]!++;
      }
      const total = weights.reduce((s, w) => s + w, 0);
      if (total === 100) assert.deepEqual(counts, weights);
      else
        assert.deepEqual(
          counts,
          weights.map(() => 0),
        );
    }),
    { numRuns: 300 },
  );
});
