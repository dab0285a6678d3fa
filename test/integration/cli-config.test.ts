/**
 * The operator CLI end to end against the config center: `route` and `config` set/get/list/delete;
 * exit codes, `--json` output and one-line error reports.
 * Set-up in test/support/cli-harness.ts; independent invocations run concurrently.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { at, cc, dir, mesher, useCliHarness } from '../support/cli-harness.ts';

useCliHarness();

// The groups touch different keys and servers, so they run side by side.
describe('mesher CLI: config center', { concurrency: true }, () => {
  test('route set/get/list/delete through the config center; invalid YAML refused before sending', {
    timeout: 100_000,
  }, async () => {
    const good = join(dir, 'rule.yaml');
    writeFileSync(
      good,
      '- precedence: 1\n  match:\n    headers:\n      user: {exact: jack}\n  route:\n    - {tags: {version: 2.0.0}, weight: 100}\n',
    );
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      '- route:\n    - {tags: {version: 1.0.0}, weight: 70}\n    - {tags: {version: 2.0.0}, weight: 50}\n',
    );
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, '- route: [\n');

    const [set, invalid, notYaml, missing] = await Promise.all([
      mesher(['route', 'set', 'server2', '-f', good, '--app', 'default', ...at()]),
      mesher(['route', 'set', 'server2', '-f', bad, ...at()]),
      mesher(['route', 'set', 'server2', '-f', broken, ...at()]),
      mesher(['route', 'set', 'server2', '-f', join(dir, 'none.yaml'), ...at()]),
    ]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(
      set.stdout,
      /^route rule for server2 created \(labels app=default, revision \d+, id [0-9a-f-]+\)\n$/,
    );
    assert.equal(invalid.code, 1);
    assert.match(
      invalid.stderr,
      /^mesher route: invalid route rule in .*bad\.yaml: \[0\]\.route: weights sum to 120; at most 100\n$/,
    );
    assert.equal(notYaml.code, 1);
    assert.match(notYaml.stderr, /^mesher route: invalid route rule in .*broken\.yaml: not valid YAML: /);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^mesher route: cannot read .*none\.yaml: ENOENT\n$/);

    const [get, list] = await Promise.all([
      mesher(['route', 'get', 'server2', '--json', ...at()]),
      mesher(['route', 'list', ...at()]),
    ]);
    assert.equal(get.code, 0, get.stderr);
    const kvs = JSON.parse(get.stdout) as Array<{ key: string; value: string; labels: object }>;
    assert.equal(kvs.length, 1);
    assert.equal(kvs[0]?.key, 'servicecomb.routeRule.server2');
    assert.match(kvs[0]?.value ?? '', /exact: jack/);
    assert.deepEqual(kvs[0]?.labels, { app: 'default' });
    assert.equal(list.code, 0);
    assert.match(list.stdout, /\nserver2\s+app=default\s+enabled\s+\d+/);

    // The invalid rule never reached the config center.
    const stored = await (
      await fetch(`${cc.url}/v1/default/kie/kv?key=servicecomb.routeRule.server2`)
    ).json();
    assert.equal((stored as { total: number }).total, 1);

    const wrongLabels = await mesher(['route', 'delete', 'server2', ...at()]);
    assert.equal(wrongLabels.code, 1);
    assert.match(wrongLabels.stderr, /^mesher route: no route rule for server2 with labels \(all\)\n$/);
    const del = await mesher(['route', 'delete', 'server2', '--app', 'default', ...at()]);
    assert.equal(del.code, 0, del.stderr);
    const gone = await mesher(['route', 'get', 'server2', ...at()]);
    assert.equal(gone.code, 1);
    assert.equal(gone.stderr, 'mesher route: no route rule for server2\n');
  });

  test('config set/get/delete with labels; server-side validation errors are one line', {
    timeout: 100_000,
  }, async () => {
    const [a, b] = await Promise.all([
      mesher(['config', 'set', 'cse.loadbalance.strategy.name', 'Random', ...at()]),
      mesher([
        'config',
        'set',
        'cse.loadbalance.strategy.name',
        'RoundRobin',
        '--service',
        'client',
        '--label',
        'app=default',
        ...at(),
      ]),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /^cse\.loadbalance\.strategy\.name created \(labels \(all\), revision \d+\)\n$/);
    assert.equal(b.code, 0, b.stderr);
    const [all, one, table, badKey] = await Promise.all([
      mesher(['config', 'get', 'cse.loadbalance.strategy.name', '--json', ...at()]),
      mesher([
        'config',
        'get',
        'cse.loadbalance.strategy.name',
        '--app',
        'default',
        '--service',
        'client',
        '--json',
        ...at(),
      ]),
      mesher(['config', 'get', ...at()]),
      mesher(['config', 'set', 'bad key', 'v', ...at()]),
    ]);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(
      (JSON.parse(all.stdout) as Array<{ value: string }>).map((k) => k.value),
      ['Random', 'RoundRobin'],
    );
    assert.deepEqual(
      (JSON.parse(one.stdout) as Array<{ value: string }>).map((k) => k.value),
      ['RoundRobin'],
    );
    assert.match(table.stdout, /^KEY\s+LABELS\s+VALUE\s+STATUS\s+REVISION\n/);
    assert.match(
      table.stdout,
      /cse\.loadbalance\.strategy\.name\s+app=default,service=client\s+RoundRobin\s+enabled/,
    );
    assert.equal(badKey.code, 1);
    assert.match(
      badKey.stderr,
      /^mesher config: Invalid parameter\(s\): key: 'bad key' may contain only .* \(HTTP 400, code 400001\)\n$/,
    );

    const del = await mesher(['config', 'delete', 'cse.loadbalance.strategy.name', ...at()]);
    assert.equal(del.code, 0, del.stderr);
    const left = await mesher(['config', 'get', 'cse.loadbalance.strategy.name', '--json', ...at()]);
    assert.deepEqual(
      (JSON.parse(left.stdout) as Array<{ value: string }>).map((k) => k.value),
      ['RoundRobin'],
    );
    const missing = await mesher(['config', 'delete', 'no.such.key', ...at()]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'mesher config: no config key no.such.key with labels (all)\n');
  });
});
