// Edge gateway rules: parsing (YAML string or list, every issue keyed) and matching (first match in
// list order, exact host, unanchored apiPath, redirectPath with groups, query string kept).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchIngress } from './match.ts';
import { INGRESS_RULES_KEY, parseIngress } from './parse.ts';

const RULES_YAML = `
- host: api.example.com
  apiPath: ^/orders
  service: { name: orders, port: { value: 8080 } }
- apiPath: ^/api/v1/(.*)$
  service: { name: catalog, redirectPath: /v2/$1 }
- host: admin.example.com:8443
  apiPath: /
  service: { name: admin, redirectPath: /console }
- apiPath: /health
  service: { name: health }
`;

const table = () => {
  const r = parseIngress({ [INGRESS_RULES_KEY]: RULES_YAML });
  assert.deepEqual(r.issues, []);
  return r.table;
};

const MATCHES: Array<[string | undefined, string, string | undefined, string?, number?]> = [
  ['api.example.com', '/orders/7?x=1&y=2', 'orders', '/orders/7?x=1&y=2', 8080],
  ['API.Example.com:80', '/orders', 'orders', '/orders', 8080],
  ['other.com', '/orders', undefined],
  [undefined, '/orders', undefined],
  ['any', '/api/v1/items/3?sort=asc', 'catalog', '/v2/items/3?sort=asc'],
  ['any', '/api/v1/', 'catalog', '/v2/'],
  ['admin.example.com:8443', '/x?q=1', 'admin', '/console?q=1'],
  ['admin.example.com', '/x', undefined],
  ['x', '/deep/health/check', 'health', '/deep/health/check'],
  ['x', '/nothing', undefined],
  // The query is not part of the match: "/health" in a query string does not count.
  ['x', '/nothing?next=/health', undefined],
];

for (const [host, url, service, path, port] of MATCHES) {
  test(`matchIngress ${host ?? '(no host)'} ${url} → ${service ?? 'no match'}`, () => {
    const hit = matchIngress(table(), host, url);
    assert.equal(hit?.service, service);
    if (service !== undefined) {
      assert.equal(hit?.path, path);
      assert.equal(hit?.port, port);
    }
  });
}

test('the first matching rule in list order wins', () => {
  const { table: t } = parseIngress({
    [INGRESS_RULES_KEY]: [
      { apiPath: '^/a', service: { name: 'first' } },
      { apiPath: '^/ab', service: { name: 'second' } },
    ],
  });
  assert.equal(matchIngress(t, 'h', '/abc')?.service, 'first');
});

test('a list works as well as a YAML string; no key = no rules; tables are frozen', () => {
  const r = parseIngress({ [INGRESS_RULES_KEY]: [{ apiPath: '/', service: { name: 's' } }] });
  assert.equal(r.table.rules.length, 1);
  assert.ok(Object.isFrozen(r.table.rules) && Object.isFrozen(r.table.rules[0]!.service));
  assert.deepEqual(parseIngress({}).table.rules, []);
});

test('redirectPath: $$ is a dollar, a missing group is empty, a redirect with its own query merges', () => {
  const { table: t, issues } = parseIngress({
    [INGRESS_RULES_KEY]: [
      { apiPath: '^/p/(\\w+)', service: { name: 's', redirectPath: '/q/$1/$2/$$?fixed=1' } },
    ],
  });
  assert.deepEqual(issues, []);
  assert.equal(matchIngress(t, 'h', '/p/abc?z=9')?.path, '/q/abc//$?fixed=1&z=9');
});

test('every problem is reported with its key; ignored fields warn', () => {
  const r = parseIngress({
    'mesher.ingress.type': 'nginx',
    [INGRESS_RULES_KEY]: [
      { apiPath: '(', service: { name: 'ok' } },
      { apiPath: '/', service: { name: 'bad name!' } },
      { apiPath: '/', service: { name: 's', redirectPath: 'no-slash', port: { value: 70000 } } },
      { host: 'bad host', apiPath: '/', service: { name: 's' }, extra: 1 },
      'nope',
      {
        apiPath: '/',
        service: { name: 's', tags: { version: '1' }, port: { name: 'http', value: '81' } },
        limit: 5,
      },
    ],
  });
  assert.deepEqual(
    r.issues.map((i) => i.key),
    [
      'mesher.ingress.type',
      `${INGRESS_RULES_KEY}[0].apiPath`,
      `${INGRESS_RULES_KEY}[1].service.name`,
      `${INGRESS_RULES_KEY}[2].service.redirectPath`,
      `${INGRESS_RULES_KEY}[2].service.port.value`,
      `${INGRESS_RULES_KEY}[3].extra`,
      `${INGRESS_RULES_KEY}[3].host`,
      `${INGRESS_RULES_KEY}[4]`,
    ],
  );
  assert.deepEqual(
    r.warnings.map((w) => w.key),
    [
      `${INGRESS_RULES_KEY}[5].limit`,
      `${INGRESS_RULES_KEY}[5].service.tags`,
      `${INGRESS_RULES_KEY}[5].service.port.name`,
    ],
  );
  assert.equal(r.table.rules.length, 1);
  assert.equal(r.table.rules[0]!.service.port, 81);
});

test('malformed YAML, a map instead of a list and an oversized string are rejected', () => {
  assert.match(parseIngress({ [INGRESS_RULES_KEY]: '- apiPath: [' }).issues[0]!.message, /not valid YAML/);
  assert.match(parseIngress({ [INGRESS_RULES_KEY]: 'a: 1' }).issues[0]!.message, /must be a list/);
  assert.match(parseIngress({ [`${INGRESS_RULES_KEY}.0.apiPath`]: '/' }).issues[0]!.message, /not a map/);
  assert.match(parseIngress({ [INGRESS_RULES_KEY]: 'x'.repeat(300_000) }).issues[0]!.message, /longer than/);
});
