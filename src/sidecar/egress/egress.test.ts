// Egress: host validation (DNS-1123, wildcards), rule parsing with every issue keyed, matching
// (exact before wildcard, most specific wildcard, ports and TLS) and passthrough.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchEgress, resolveEgress } from './match.ts';
import { checkHost, parseEgress } from './parse.ts';

const HOSTS: Array<[string, boolean]> = [
  ['www.google.com', true],
  ['a-b.c0.io', true],
  ['localhost', true],
  ['*.yahoo.com', true],
  ['*api.example.com', true],
  ['*', false],
  ['a.*.com', false],
  ['**.x.com', false],
  ['-a.com', false],
  ['a-.com', false],
  ['a..com', false],
  ['a_b.com', false],
  [`${'a'.repeat(64)}.com`, false],
  [`${'a.'.repeat(127)}com`, false],
  ['', false],
];

for (const [host, valid] of HOSTS) {
  test(`host ${JSON.stringify(host.length > 40 ? `${host.slice(0, 20)}…` : host)} is ${valid ? 'valid' : 'rejected'}`, () => {
    assert.equal(checkHost(host) === undefined, valid, checkHost(host));
  });
}

const FLAT = {
  'egressRule.google': [
    {
      hosts: ['www.google.com', 'WWW.Gmail.com.'],
      ports: [
        { port: 80, protocol: 'HTTP' },
        { port: 443, protocol: 'https' },
      ],
    },
  ],
  'egressRule.yahoo': [{ hosts: ['*.yahoo.com'], ports: [{ port: 8080, protocol: 'http' }] }],
  'egressRule.deep': [{ hosts: ['*.api.yahoo.com'], ports: [{ port: 443, protocol: 'HTTPS' }] }],
  'egressRule.bare': { hosts: 'example.org' },
};

test('parse: rules frozen, hosts lower-cased without the trailing dot, a single map accepted', () => {
  const { table, issues, warnings } = parseEgress(FLAT);
  assert.deepEqual(issues, []);
  assert.deepEqual(warnings, []);
  assert.equal(table.passthrough, false);
  assert.deepEqual(
    table.rules.map((r) => [r.name, r.hosts]),
    [
      ['bare', ['example.org']],
      ['deep', ['*.api.yahoo.com']],
      ['google', ['www.google.com', 'www.gmail.com']],
      ['yahoo', ['*.yahoo.com']],
    ],
  );
  assert.ok(Object.isFrozen(table.rules[2]) && Object.isFrozen(table.rules[2]!.ports));
});

const MATCHES: Array<[string, number | undefined, string | undefined, number?, boolean?]> = [
  ['www.google.com', undefined, 'google', 80, false],
  ['WWW.GOOGLE.COM', undefined, 'google', 80, false],
  ['www.google.com', 443, 'google', 443, true],
  ['www.google.com', 8443, undefined],
  ['www.gmail.com', undefined, 'google', 80, false],
  ['mail.yahoo.com', undefined, 'yahoo', 8080, false],
  ['a.b.yahoo.com', undefined, 'yahoo', 8080, false],
  ['v1.api.yahoo.com', undefined, 'deep', 443, true],
  ['yahoo.com', undefined, undefined],
  ['xyahoo.com', undefined, undefined],
  ['example.org', undefined, 'bare', 80, false],
  ['example.org', 9000, 'bare', 9000, false],
  ['other.com', undefined, undefined],
];

for (const [host, port, rule, wantPort, tls] of MATCHES) {
  test(`matchEgress ${host}${port ? `:${port}` : ''} → ${rule ?? 'no match'}`, () => {
    const { table } = parseEgress(FLAT);
    const hit = matchEgress(table, host, port);
    assert.equal(hit?.rule?.name, rule);
    if (rule !== undefined) {
      assert.equal(hit?.port, wantPort);
      assert.equal(hit?.tls, tls);
      assert.equal(hit?.host, host.toLowerCase());
    }
  });
}

test('passthrough: off by default (no target); on, unmatched hosts go out as asked', () => {
  assert.equal(resolveEgress(parseEgress(FLAT).table, 'other.com'), undefined);
  const on = parseEgress({ ...FLAT, 'egress.passthrough': true }).table;
  assert.deepEqual(resolveEgress(on, 'Other.com', 8080), {
    host: 'other.com',
    port: 8080,
    tls: false,
    rule: undefined,
  });
  assert.equal(resolveEgress(on, 'other.com')?.port, 80);
  assert.equal(resolveEgress(on, 'www.google.com')?.rule?.name, 'google');
});

test('parse: every problem reported with its key', () => {
  const r = parseEgress({
    'egress.passthrough': 'maybe',
    'egressRule.a': [{ hosts: ['ok.com', 'bad_host.com', 7], ports: [{ port: 0 }, 'x'] }],
    'egressRule.b': [{ hosts: [], extra: 1 }],
    'egressRule.c': 'nope',
    'egressRule.d': [{ hosts: ['d.com'], ports: [{ port: 9000, protocol: 'tcp' }] }],
  });
  assert.deepEqual(
    r.issues.map((i) => i.key),
    [
      'egress.passthrough',
      'egressRule.a[0].hosts[1]',
      'egressRule.a[0].hosts[2]',
      'egressRule.a[0].ports[0].port',
      'egressRule.a[0].ports[1]',
      'egressRule.b[0]',
      'egressRule.b[0].hosts',
      'egressRule.c',
    ],
  );
  assert.match(r.issues[1]!.message, /invalid DNS-1123 label "bad_host"/);
  assert.deepEqual(
    r.warnings.map((w) => w.key),
    ['egressRule.d[0].ports[0].protocol'],
  );
  // Only the good rule made it; the caller keeps its last good table anyway because of the issues.
  assert.deepEqual(
    r.table.rules.map((x) => x.name),
    ['d'],
  );
});

test('a host listed by two rules: the first (by name) is used, with a warning', () => {
  const r = parseEgress({
    'egressRule.a': [{ hosts: ['x.com'] }],
    'egressRule.b': [{ hosts: ['x.com', '*.y.com'] }],
    'egressRule.c': [{ hosts: ['*.y.com'] }],
  });
  assert.deepEqual(r.issues, []);
  assert.equal(matchEgress(r.table, 'x.com')?.rule?.name, 'a');
  assert.equal(matchEgress(r.table, 'q.y.com')?.rule?.name, 'b');
  assert.deepEqual(
    r.warnings.map((w) => w.key),
    ['egressRule.b', 'egressRule.c'],
  );
});
