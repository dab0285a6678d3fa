// Rule parsing: the accepted forms, every rejection with its key and reason, darklaunch
// translation, source priority, frozen output and the round trip (the normalised spec parses back
// to itself).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { camelHeader } from './darklaunch.ts';
import { parseRouteTable, reloadRouteTable } from './parse.ts';
import { EMPTY_TABLE, tableSpecs } from './table.ts';

const KEY = 'servicecomb.routeRule.server';

function issuesOf(value: unknown): string[] {
  return parseRouteTable({ [KEY]: value }).issues.map((i) => `${i.key}: ${i.message}`);
}

test('a YAML string is read with the failsafe schema: version 1.0 stays "1.0"', () => {
  const yaml = `
- precedence: 2
  match:
    headers:
      X-User: { exact: alice, caseInsensitive: true }
  route:
    - { tags: { version: 1.0 }, weight: 20, timeoutMs: 500 }
    - tags: { version: 2.0, app: shop }
      weight: 80
      retry: { attempts: 3, perTryTimeoutMs: 200, retryOn: [5xx, connect-failure] }
      rateLimit: { qps: 50 }
- route: [{ tags: { version: 1.0 } }]
`;
  const r = parseRouteTable({ [KEY]: yaml });
  assert.deepEqual(r.issues, []);
  const specs = tableSpecs(r.table).server!;
  assert.equal(specs.length, 2);
  assert.deepEqual(specs[0], {
    precedence: 2,
    match: { headers: { 'x-user': { exact: 'alice', caseInsensitive: true } } },
    route: [
      { tags: { version: '1.0' }, weight: 20, timeoutMs: 500 },
      {
        tags: { version: '2.0', app: 'shop' },
        weight: 80,
        retry: { attempts: 3, perTryTimeoutMs: 200, retryOn: ['5xx', 'connect-failure'] },
        rateLimit: { qps: 50, burst: 50 },
      },
    ],
  });
  assert.deepEqual(specs[1], {
    precedence: 0,
    match: {},
    route: [{ tags: { version: '1.0' }, weight: 100 }],
  });
  assert.ok(Object.isFrozen(specs[0]) && Object.isFrozen(specs[0]!.route[1]!.retry));
  const rules = r.table.services.get('server')!;
  assert.equal(rules[0]!.routes[1]!.decision.app, 'shop');
  assert.deepEqual(rules[0]!.routes[1]!.decision.policy?.rateLimit, { qps: 50, burst: 50 });
  assert.ok(Object.isFrozen(rules[0]!.routes[1]!.decision));
});

test('round trip: the normalised specs parse back to the same specs', () => {
  const first = parseRouteTable({
    [KEY]: [
      {
        precedence: '5',
        match: { httpHeaders: { 'X-A': { regex: '^a', caseInsensitive: 'false' } }, method: 'get,post' },
        route: [{ tags: { version: '1.0.0+' }, weight: '30' }],
      },
      {
        match: { apiPath: { prefix: '/v1' }, source: 'client' },
        route: [{ tags: { zone: 'a' }, weight: 100 }],
      },
    ],
    'routeRule.other': '- route: [{tags: {app: x}}]',
  });
  assert.deepEqual(first.issues, []);
  const specs = tableSpecs(first.table);
  const flat: Record<string, unknown> = {};
  for (const [svc, rules] of Object.entries(specs)) flat[`servicecomb.routeRule.${svc}`] = rules;
  const second = parseRouteTable(flat);
  assert.deepEqual(second.issues, []);
  assert.deepEqual(tableSpecs(second.table), specs);
});

const REJECTIONS: Array<[string, unknown, RegExp]> = [
  [
    'weights over 100',
    [
      {
        route: [
          { tags: { version: '1' }, weight: 60 },
          { tags: { version: '2' }, weight: 50 },
        ],
      },
    ],
    /\[0\]\.route: weights sum to 110; at most 100/,
  ],
  [
    'a weight over 100',
    [{ route: [{ tags: { version: '1' }, weight: 101 }] }],
    /route\[0\]\.weight: must be between 0 and 100/,
  ],
  [
    'a negative weight',
    [{ route: [{ tags: { version: '1' }, weight: -1 }] }],
    /weight: must be between 0 and 100/,
  ],
  [
    'a missing weight among several routes',
    [{ route: [{ tags: { version: '1' } }, { tags: { version: '2' }, weight: 5 }] }],
    /route\[0\]\.weight: is required when a rule has more than one route/,
  ],
  [
    'a bad regex',
    [{ match: { headers: { 'X-A': { regex: '(' } } }, route: [{ tags: { version: '1' } }] }],
    /\[0\]\.match\.headers\.x-a: invalid regex "\("/,
  ],
  [
    'a bad path regex',
    [{ match: { path: { regex: '[' } }, route: [{ tags: { version: '1' } }] }],
    /\[0\]\.match\.path: invalid regex/,
  ],
  [
    'an unknown operator',
    [{ match: { headers: { 'X-A': { startsWith: 'a' } } }, route: [{ tags: { version: '1' } }] }],
    /match\.headers\.X-A: unknown operator "startsWith"/,
  ],
  [
    'a numeric operator without a number',
    [{ match: { headers: { 'X-A': { less: 'ten' } } }, route: [{ tags: { version: '1' } }] }],
    /match\.headers\.x-a: less needs a number, got "ten"/,
  ],
  [
    'an unknown rule field',
    [{ priority: 1, route: [{ tags: { version: '1' } }] }],
    /\[0\]: unknown field "priority"/,
  ],
  [
    'an unknown match field',
    [{ match: { header: {} }, route: [{ tags: { version: '1' } }] }],
    /match: unknown field "header"/,
  ],
  [
    'an unknown path operator',
    [{ match: { path: { suffix: '/a' } }, route: [{ tags: { v: '1' } }] }],
    /path: unknown operator "suffix"/,
  ],
  [
    'a relative path',
    [{ match: { path: { prefix: 'api' } }, route: [{ tags: { v: '1' } }] }],
    /path\.prefix: must start with "\/"/,
  ],
  ['no routes', [{ precedence: 1 }], /\[0\]\.route: must be a non-empty list/],
  ['no tags', [{ route: [{ weight: 100 }] }], /route\[0\]\.tags: is required/],
  ['empty tags', [{ route: [{ tags: {} }] }], /route\[0\]\.tags: must name at least one tag/],
  [
    'a bad precedence',
    [{ precedence: 'high', route: [{ tags: { v: '1' } }] }],
    /\[0\]\.precedence: must be an integer/,
  ],
  [
    'a bad method',
    [{ match: { method: ['GET', 'NOT A METHOD'] }, route: [{ tags: { v: '1' } }] }],
    /match\.method: must hold method names/,
  ],
  [
    'a bad caseInsensitive',
    [{ match: { headers: { a: { exact: 'x', caseInsensitive: 'yes' } } }, route: [{ tags: { v: '1' } }] }],
    /caseInsensitive: must be true or false/,
  ],
  [
    'refer to an undefined marker',
    [{ match: { refer: 'm' }, route: [{ tags: { v: '1' } }] }],
    /match\.refer: no servicecomb\.match\.m is defined/,
  ],
  [
    'an operator-less header',
    [{ match: { headers: { a: { caseInsensitive: true } } }, route: [{ tags: { v: '1' } }] }],
    /headers\.a: needs at least one operator/,
  ],
  [
    'a bad timeout',
    [{ route: [{ tags: { v: '1' }, timeoutMs: 0 }] }],
    /route\[0\]\.timeoutMs: must be between 1 and 3600000/,
  ],
  [
    'bad retry attempts',
    [{ route: [{ tags: { v: '1' }, retry: { attempts: 99 } }] }],
    /retry\.attempts: must be between 1 and 10/,
  ],
  [
    'a bad retryOn',
    [{ route: [{ tags: { v: '1' }, retry: { attempts: 2, retryOn: ['sometimes'] } }] }],
    /retry\.retryOn: unknown retry condition "sometimes"/,
  ],
  [
    'a bad rate limit',
    [{ route: [{ tags: { v: '1' }, rateLimit: { qps: 0 } }] }],
    /rateLimit\.qps: must be a number > 0/,
  ],
  ['not a list', { precedence: 1 }, /servicecomb\.routeRule\.server: must be a list of rules/],
  ['bad YAML', '- [unclosed', /servicecomb\.routeRule\.server: is not valid YAML/],
  ['a YAML map, not a list', 'precedence: 1', /must be a list of rules/],
];

for (const [name, value, want] of REJECTIONS) {
  test(`rejects ${name}, naming the key`, () => {
    const issues = issuesOf(value);
    assert.ok(
      issues.some((m) => want.test(m)),
      `expected ${want} in ${JSON.stringify(issues)}`,
    );
    assert.ok(
      issues.every((m) => m.startsWith(KEY)),
      JSON.stringify(issues),
    );
  });
}

test('every problem is reported in one pass, and a bad rule drops its service from the table', () => {
  const r = parseRouteTable({
    [KEY]: [
      { route: [{ tags: { v: '1' }, weight: 101 }] },
      { match: { headers: { a: { regex: '(' } } }, route: [{ tags: { v: '1' } }] },
    ],
    'servicecomb.routeRule.good': [{ route: [{ tags: { v: '1' } }] }],
  });
  assert.equal(r.issues.length, 2);
  assert.equal(r.table.services.has('server'), false);
  assert.equal(r.table.services.has('good'), true);
});

test('weights summing to exactly 100, or under, are fine; a zero weight is allowed', () => {
  assert.deepEqual(
    issuesOf([
      {
        route: [
          { tags: { v: '1' }, weight: 0 },
          { tags: { v: '2' }, weight: 100 },
        ],
      },
    ]),
    [],
  );
  assert.deepEqual(issuesOf([{ route: [{ tags: { v: '1' }, weight: 30 }] }]), []);
});

test('a number where a tag string was meant is accepted with a warning', () => {
  const r = parseRouteTable({ [KEY]: [{ route: [{ tags: { version: 1.1 } }] }] });
  assert.deepEqual(r.issues, []);
  assert.match(r.warnings[0]!.key, /route\[0\]\.tags\.version/);
  assert.match(r.warnings[0]!.message, /number 1.1; quote it/);
});

test('sources: servicecomb.routeRule > cse.routeRule spelling > top-level routeRule > darklaunch', () => {
  const route = (v: string) => [{ route: [{ tags: { version: v } }] }];
  const r = parseRouteTable({
    'cse.routeRule.a': route('1'),
    'routeRule.a': route('2'),
    'routeRule.b': route('3'),
    'servicecomb.darklaunch.policy.b': '{"policyType":"RATE","ruleItems":[]}',
    'servicecomb.darklaunch.policy.c':
      '{"policyType":"RATE","ruleItems":[{"groupCondition":"version=4","policyCondition":"100"}]}',
  });
  assert.deepEqual(r.issues, []);
  const specs = tableSpecs(r.table);
  assert.equal(specs.a![0]!.route[0]!.tags.version, '1');
  assert.equal(specs.b![0]!.route[0]!.tags.version, '3');
  assert.equal(specs.c![0]!.route[0]!.tags.version, '4');
  assert.equal(r.table.origin.get('b'), 'routeRule.b');
  assert.deepEqual(
    r.warnings.map((w) => w.key),
    ['routeRule.a', 'servicecomb.darklaunch.policy.b'],
  );
});

test('darklaunch RATE: versions share the item weight, the remainder of a split goes to the first', () => {
  const r = parseRouteTable({
    'servicecomb.darklaunch.policy.s': JSON.stringify({
      policyType: 'RATE',
      ruleItems: [
        { groupName: 's1', groupCondition: 'version=1.0,1.1,1.2', policyCondition: '50' },
        { groupName: 's2', groupCondition: 'version=2.0', policyCondition: '40' },
      ],
    }),
  });
  assert.deepEqual(r.issues, []);
  assert.deepEqual(tableSpecs(r.table).s, [
    {
      precedence: 1,
      match: {},
      route: [
        { tags: { version: '1.0' }, weight: 18 },
        { tags: { version: '1.1' }, weight: 16 },
        { tags: { version: '1.2' }, weight: 16 },
        { tags: { version: '2.0' }, weight: 40 },
      ],
    },
  ]);
});

test('darklaunch RULE: each condition operator becomes its v2 operator; header names camel-cased', () => {
  const items = [
    ['user_id!=1', 'noEqu'],
    ['user_id>=2', 'noLess'],
    ['user_id<=3', 'noGreater'],
    ['user_id=4', 'exact'],
    ['user_id>5', 'greater'],
    ['user_id<6', 'less'],
    ['user_id~^7', 'regex'],
  ] as const;
  const r = parseRouteTable({
    'servicecomb.darklaunch.policy.s': JSON.stringify({
      policyType: 'RULE',
      ruleItems: items.map(([c], i) => ({
        groupCondition: 'version=2.0.0',
        policyCondition: c,
        caseInsensitive: i === 0,
      })),
    }),
  });
  assert.deepEqual(r.issues, []);
  const specs = tableSpecs(r.table).s!;
  assert.equal(specs.length, items.length);
  items.forEach(([cond, op], i) => {
    const value = cond.slice(cond.search(/[!<>=~]+/)).replace(/^[!<>=~]+/, '');
    assert.deepEqual(specs[i]!.match, { headers: { userid: { [op]: value, caseInsensitive: i === 0 } } });
    assert.deepEqual(specs[i]!.route, [{ tags: { version: '2.0.0' }, weight: 100 }]);
  });
  assert.equal(camelHeader('user_id'), 'UserId');
  assert.equal(camelHeader('x_canary_flag'), 'XCanaryFlag');
});

test('darklaunch problems are reported, not turned into match-all rules', () => {
  const bad = (v: unknown) =>
    parseRouteTable({ 'servicecomb.darklaunch.policy.s': v }).issues.map((i) => `${i.key}: ${i.message}`);
  assert.match(bad('{nope')[0]!, /^servicecomb\.darklaunch\.policy\.s: is not valid JSON/);
  assert.match(bad('{"policyType":"X","ruleItems":[]}')[0]!, /\.policyType: must be RATE or RULE/);
  assert.match(
    bad('{"policyType":"RULE","ruleItems":[{"groupCondition":"version=1","policyCondition":"a=b=c"}]}')[0]!,
    /ruleItems\[0\]\.policyCondition: cannot read "a=b=c"/,
  );
  assert.match(
    bad('{"policyType":"RULE","ruleItems":[{"groupCondition":"version=1","policyCondition":"abc"}]}')[0]!,
    /has no operator/,
  );
  assert.match(
    bad('{"policyType":"RATE","ruleItems":[{"groupCondition":"v1","policyCondition":"10"}]}')[0]!,
    /groupCondition: must look like "version=1.0.0,1.1.0"/,
  );
  assert.match(
    bad(
      '{"policyType":"RATE","ruleItems":[{"groupCondition":"version=1","policyCondition":"80"},{"groupCondition":"version=2","policyCondition":"30"}]}',
    )[0]!,
    /weights sum to 110/,
  );
});

test('an empty rule list (or empty string) defines no rules and no issues', () => {
  const r = parseRouteTable({ [KEY]: '', 'routeRule.x': [] });
  assert.deepEqual(r.issues, []);
  assert.equal(r.table.services.size, 0);
});

test('bounds: too many rules and over-long YAML are refused', () => {
  const many = Array.from({ length: 65 }, () => ({ route: [{ tags: { v: '1' } }] }));
  assert.match(issuesOf(many)[0]!, /65 rules; at most 64/);
  assert.match(issuesOf(`# ${'x'.repeat(70_000)}`)[0]!, /longer than 65536 characters/);
  assert.match(
    issuesOf([{ match: { headers: { a: { regex: 'x'.repeat(2000) } } }, route: [{ tags: { v: '1' } }] }])[0]!,
    /regex is longer than 1024/,
  );
});

test('reload: an invalid rule is rejected with its reason and the last good table stays in force', () => {
  const good = reloadRouteTable({ [KEY]: [{ route: [{ tags: { version: '1' } }] }] }, EMPTY_TABLE);
  assert.equal(good.accepted, true);
  const bad = reloadRouteTable(
    {
      [KEY]: [
        {
          route: [
            { tags: { version: '2' }, weight: 70 },
            { tags: { version: '3' }, weight: 70 },
          ],
        },
      ],
    },
    good.table,
  );
  assert.equal(bad.accepted, false);
  assert.equal(bad.table, good.table);
  assert.match(bad.issues[0]!.message, /weights sum to 140/);
  assert.equal(tableSpecs(bad.table).server![0]!.route[0]!.tags.version, '1');
});
