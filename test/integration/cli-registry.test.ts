/**
 * The operator CLI end to end against the registry and a sidecar admin API: `services`,
 * `instances`, `sidecar-status`; exit codes, `--json` output and one-line error reports.
 * Set-up in test/support/cli-harness.ts; independent invocations run concurrently.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { adminUrl, at, mesher, registry, useCliHarness } from '../support/cli-harness.ts';

useCliHarness();

// The groups touch different keys and servers, so they run side by side.
describe('mesher CLI: registry and sidecar', { concurrency: true }, () => {
  test('services and instances: tables, --json, $MESHER_REGISTRY, unknown service', {
    timeout: 100_000,
  }, async () => {
    const [table, json, inst, unknown] = await Promise.all([
      mesher(['services'], { MESHER_REGISTRY: registry.url }),
      mesher(['services', '--json', ...at()]),
      mesher(['instances', 'server2', '--json', ...at()]),
      mesher(['instances', 'nope', ...at()]),
    ]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^APP\s+SERVICE\s+VERSION\s+ENV\s+INSTANCES\s+SERVICE ID\n/);
    assert.match(table.stdout, /\ndefault\s+server2\s+2\.0\.0\s+-\s+1\s+[0-9a-f]{40}\n/);

    assert.equal(json.code, 0, json.stderr);
    const services = JSON.parse(json.stdout) as Array<{
      serviceName: string;
      version: string;
      instances: number;
    }>;
    assert.deepEqual(
      services.filter((s) => s.serviceName === 'server2').map((s) => [s.version, s.instances]),
      [
        ['1.0.0', 1],
        ['2.0.0', 1],
      ],
    );

    assert.equal(inst.code, 0, inst.stderr);
    const instances = JSON.parse(inst.stdout) as Array<{ endpoints: string[] }>;
    assert.deepEqual(instances.map((i) => i.endpoints[0]).sort(), [
      'rest://127.0.0.1:8080',
      'rest://127.0.0.1:8081',
    ]);

    assert.equal(unknown.code, 1);
    assert.equal(unknown.stdout, '');
    assert.match(
      unknown.stderr,
      /^mesher instances: service 'nope' not found in app 'default' \(registry http:\/\/127\.0\.0\.1:\d+\)\n$/,
    );
  });

  test('sidecar-status shows governance keys and route rules; failures exit non-zero with one line', {
    timeout: 100_000,
  }, async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((r) => closed.close(() => r()));
    const [status, json, down, usage, unknownFlag] = await Promise.all([
      mesher(['sidecar-status', '--admin', adminUrl]),
      mesher(['sidecar-status', '--admin', adminUrl, '--json']),
      mesher(['services', '--registry', deadUrl]),
      mesher(['instances']),
      mesher(['services', '--bogus']),
    ]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(
      status.stdout,
      /^sidecar http:\/\/127\.0\.0\.1:\d+: client 1\.0\.0 \(app default\) health green\n/,
    );
    assert.match(status.stdout, /cse\.loadbalance\.strategy\.name\s+Random/);
    assert.match(status.stdout, /server2: \[\{"precedence":0/);
    assert.ok(!status.stdout.includes('servicecomb.service.name'), 'only governance keys are listed');
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as {
      routes: Record<string, unknown[]>;
      governance: Record<string, unknown>;
    };
    assert.deepEqual(Object.keys(parsed.routes), ['server2']);
    assert.equal(parsed.governance['cse.loadbalance.strategy.name'], 'Random');

    assert.equal(down.code, 1);
    assert.match(
      down.stderr,
      /^mesher services: cannot reach http:\/\/127\.0\.0\.1:\d+\/v4\/default\/registry\/microservices: ECONNREFUSED\n$/,
    );
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^mesher instances: a service name is required/);
    assert.equal(unknownFlag.code, 2);
    assert.match(unknownFlag.stderr, /^mesher services: Unknown option '--bogus'/);
  });
});
