/**
 * The operator CLI end to end: the real `mesher` command (spawned through tsx) against an
 * in-process registry, a config center sharing its store, and a fake sidecar admin API, all on
 * 127.0.0.1 ephemeral ports. Asserts exit codes, `--json` output and the one-line error reports.
 * Independent invocations run concurrently to keep the file fast.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ConfigCenterServer, serveConfigCenter } from '../../src/registry/config-center/index.ts';
import { type RegistryServer, startRegistry } from '../../src/registry/main.ts';
import { ManualClock, systemClock } from '../../src/shared/clock.ts';

const ROOT = resolve(import.meta.dirname, '../..');
let registry: RegistryServer;
let cc: ConfigCenterServer;
let admin: Server;
let adminUrl: string;
let dir: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** At most this many CLI processes at once: each costs ~0.5 s of CPU to start through tsx. */
const MAX_PARALLEL = 3;
let running = 0;
const queue: Array<() => void> = [];

async function mesher(args: string[], env: Record<string, string> = {}): Promise<Run> {
  if (running >= MAX_PARALLEL) await new Promise<void>((r) => queue.push(r));
  running++;
  try {
    return await spawnMesher(args, env);
  } finally {
    running--;
    queue.shift()?.();
  }
}

function spawnMesher(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        MESHER_LOG_LEVEL: 'warn',
        MESHER_REGISTRY: '',
        MESHER_CONFIG_CENTER: '',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // Only a hung process is killed; a slow start on a loaded machine is not a failure.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** Flags pointing at the test servers. */
const at = () => ['--registry', registry.url, '--config-center', cc.url];

async function register(name: string, version: string, endpoint: string): Promise<void> {
  const res = await fetch(`${registry.url}/v4/default/registry/microservices`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ service: { serviceName: name, appId: 'default', version } }),
  });
  const { serviceId } = (await res.json()) as { serviceId: string };
  await fetch(`${registry.url}/v4/default/registry/microservices/${serviceId}/instances`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instance: { hostName: `${name}-host`, endpoints: [endpoint] } }),
  });
}

before(async () => {
  registry = await startRegistry({ port: 0, dataDir: null, clock: new ManualClock() });
  cc = await serveConfigCenter({ store: registry.store, clock: systemClock });
  await register('server2', '1.0.0', 'rest://127.0.0.1:8080');
  await register('server2', '2.0.0', 'rest://127.0.0.1:8081');
  admin = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '').split('?')[0];
    if (path === '/v1/mesher/health')
      send(200, { serviceName: 'client', version: '1.0.0', status: 'green', checks: {} });
    else if (path === '/v1/mesher/config')
      send(200, {
        service: { name: 'client', app: 'default', version: '1.0.0' },
        flat: {
          'servicecomb.routeRule.server2': '- route: [{tags: {version: 2.0.0}}]',
          'cse.loadbalance.strategy.name': 'Random',
          'servicecomb.service.name': 'client',
        },
      });
    else if (path === '/v1/mesher/instances')
      send(200, { services: [{ serviceName: 'server2', app: 'default', endpoints: [{}, {}] }] });
    else if (path === '/v1/mesher/routeRule/server2')
      send(200, [{ precedence: 0, match: {}, route: [{ tags: { version: '2.0.0' }, weight: 100 }] }]);
    else send(404, { code: 'NOT_FOUND', message: `No admin endpoint ${path}` });
  });
  await new Promise<void>((r) => admin.listen(0, '127.0.0.1', r));
  adminUrl = `http://127.0.0.1:${(admin.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'mesher-cli-'));
});

after(async () => {
  await cc.close();
  await registry.close();
  await new Promise<void>((r) => admin.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

// The four groups touch different keys and servers, so they run side by side.
describe('mesher CLI', { concurrency: true }, () => {
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
