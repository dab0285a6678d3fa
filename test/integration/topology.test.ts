/**
 * Topology end to end (issue 6, item 5): a registry, three sidecars and the seed's chain
 * `client → server1 → server2`, where server1's app makes its own call to server2 through its
 * sidecar and server2's app fails every 4th call. The sidecars report every 200 ms; the test
 * drives a known number of calls, then checks the registry's topology JSON (exactly the two
 * edges, their counts and rates, the injected error ratio on server1 → server2) and runs
 * `mesher graph --json|--dot` and `mesher top --json` as child processes against it. Also: bad
 * reports and windows get precise 400s, over-size bodies a 413.
 *
 * Every listener is on 127.0.0.1: the providers' inbound and outbound listeners get two
 * ephemeral ports (the config loader's seed rule would put inbound on another loopback IP).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type RegistryServer, startRegistry } from '../../src/registry/main.ts';
import { LATENCY_BOUNDS_MS as REGISTRY_BOUNDS } from '../../src/registry/topology/report.ts';
import { setLogLevel } from '../../src/shared/log.ts';
import { loadSidecarConfig } from '../../src/sidecar/config/index.ts';
import type { SidecarConfig } from '../../src/sidecar/config/types.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar/main.ts';
import { LATENCY_BOUNDS_MS as SIDECAR_BOUNDS } from '../../src/sidecar/topology/index.ts';
import { eventually, freePort, writeSidecarConf } from '../support/mesh.ts';

setLogLevel(process.env.MESHER_LOG_LEVEL ?? 'silent');

const CALLS = 40;
const FAIL_EVERY = 4;
const ROOT = new URL('../..', import.meta.url).pathname;

let registry: RegistryServer;
let server2App: Server;
let server1App: Server;
const sidecars: Sidecar[] = [];
let client: Sidecar;
let server2Calls = 0;
/** What the test and server1's app saw: the expected counts of the two edges. */
const seen = { client: 0, clientErrors: 0, server1: 0, server1Errors: 0 };

async function listen(handler: http.RequestListener): Promise<Server> {
  const s = http.createServer(handler);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return s;
}
const portOf = (s: Server) => (s.address() as AddressInfo).port;

/** A sidecar reporting every 200 ms; a provider gets inbound + outbound on two 127.0.0.1 ports. */
async function sidecar(name: string, appPort?: number): Promise<Sidecar> {
  const confDir = writeSidecarConf({ name, registryUrl: registry.url, refreshInterval: '1s' });
  writeFileSync(join(confDir, 'mesher.yaml'), 'mesher:\n  topology: { interval: 200ms }\n');
  const env: Record<string, string | undefined> = { PATH: process.env.PATH };
  if (appPort !== undefined) env.SERVICE_PORTS = `rest:${appPort}`;
  let { config } = loadSidecarConfig({ confDir, env });
  if (appPort !== undefined) {
    const [out, inb] = [await freePort(), await freePort()];
    config = Object.freeze({
      ...config,
      listeners: Object.freeze({
        outbound: { host: '127.0.0.1', port: out },
        inbound: { host: '127.0.0.1', port: inb },
        advertise: { host: '127.0.0.1', port: inb },
        admin: config.listeners.admin,
      }),
    }) as SidecarConfig;
  }
  const s = await startSidecar({ config, watchConfig: false });
  sidecars.push(s);
  return s;
}

/** One call through a sidecar's forward proxy: `Host: <service>`. */
function call(port: number, service: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: '/work', headers: { host: service } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

// biome-ignore lint/suspicious/noExplicitAny: JSON from the registry, checked field by field
async function topology(window = '5m'): Promise<any> {
  const res = await fetch(`${registry.url}/v4/default/registry/topology?window=${window}`);
  assert.equal(res.status, 200);
  return res.json();
}

function mesher(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, MESHER_REGISTRY: registry.url },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    // Bounded: a hung CLI is killed (its exit code then fails the caller's assertion) instead of
    // holding the file until the runner's timeout. Slow starts on a busy machine stay far below.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

before(async () => {
  registry = await startRegistry({ port: 0, dataDir: null });
  server2App = await listen((req, res) => {
    req.resume();
    server2Calls++;
    res.writeHead(server2Calls % FAIL_EVERY === 0 ? 503 : 200, { 'content-type': 'text/plain' });
    res.end('server2');
  });
  const server2 = await sidecar('server2', portOf(server2App));
  let server1Sidecar: Sidecar | undefined;
  // server1's app calls server2 through its own sidecar. POST: a 503 is not retried (not idempotent).
  server1App = await listen((req, res) => {
    req.resume();
    seen.server1++;
    call(server1Sidecar!.addresses.outbound.port, 'server2', 'POST').then(
      (r) => {
        if (r.status >= 500) seen.server1Errors++;
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`server2 said ${r.status}`);
      },
      () => {
        res.writeHead(200);
        res.end('server2 unreachable');
      },
    );
  });
  server1Sidecar = await sidecar('server1', portOf(server1App));
  client = await sidecar('client');
  await Promise.all(sidecars.map((s) => s.registration.whenRegistered()));
  // Discovery has to know server1 and server2 before the counted calls (warm-up calls count too).
  await eventually(async () => /server2 said/.test((await callClient()).body), 15_000, 100);
  void server2;
});

async function callClient(): Promise<{ status: number; body: string }> {
  const r = await call(client.addresses.outbound.port, 'server1');
  seen.client++;
  if (r.status >= 500) seen.clientErrors++;
  return r;
}

after(async () => {
  await Promise.all(sidecars.map((s) => s.close()));
  await Promise.all([server1App, server2App].map((s) => new Promise((r) => s.close(r))));
  await registry.close();
});

test('the sidecar and the registry agree on the latency buckets (report schema 1)', () => {
  assert.deepEqual([...SIDECAR_BOUNDS], [...REGISTRY_BOUNDS]);
});

test('the registry shows exactly client → server1 → server2 with counts, rates and the error ratio', {
  timeout: 60_000,
}, async () => {
  const server2Before = server2Calls;
  const results = [];
  for (let i = 0; i < CALLS; i++) results.push(await callClient());
  assert.ok(results.every((r) => r.status === 200));
  const failed = results.filter((r) => r.body === 'server2 said 503').length;
  assert.equal(server2Calls - server2Before, CALLS);
  assert.ok(failed >= CALLS / FAIL_EVERY - 1 && failed <= CALLS / FAIL_EVERY + 1, `failed ${failed}`);

  let t: Awaited<ReturnType<typeof topology>>;
  await eventually(
    async () => {
      t = await topology();
      return (
        t.edges.length === 2 && t.edges[0].requests === seen.client && t.edges[1].requests === seen.server1
      );
    },
    10_000,
    100,
  );
  t = t!;
  assert.deepEqual(
    t.edges.map((e: { source: string; destination: string }) => [e.source, e.destination]),
    [
      ['client', 'server1'],
      ['server1', 'server2'],
    ],
  );
  const [c2s1, s1s2] = t.edges;
  assert.equal(c2s1.errors, seen.clientErrors);
  assert.equal(c2s1.observedBy, 'source');
  // The injected failures: every 4th call server2 got, plus any warm-up call before discovery.
  assert.equal(s1s2.errors, seen.server1Errors);
  assert.ok(s1s2.errors >= CALLS / FAIL_EVERY - 1);
  assert.ok(Math.abs(s1s2.errorRatio - 1 / FAIL_EVERY) < 0.1, `error ratio ${s1s2.errorRatio}`);
  assert.deepEqual(
    s1s2.versions.map((v: { version: string; requests: number }) => [v.version, v.requests]),
    [['1.0.0', seen.server1]],
  );
  for (const e of t.edges) {
    assert.ok(e.rps > 0, 'a rate');
    assert.ok(e.p50Ms > 0 && e.p99Ms >= e.p50Ms, `percentiles ${e.p50Ms} ${e.p99Ms}`);
  }
  // Same traffic on both hops, measured by different sidecars over (almost) the same span.
  assert.ok(Math.abs(c2s1.rps - s1s2.rps) / c2s1.rps < 0.25, `${c2s1.rps} vs ${s1s2.rps}`);

  const node = (name: string) => t.nodes.find((n: { service: string }) => n.service === name);
  assert.equal(node('client').instances, 0, 'consumer-only: no instance, but it reports');
  assert.equal(node('client').reporters, 1);
  assert.equal(node('server1').instances, 1);
  assert.equal(node('server2').inbound.callers, 1);
  assert.equal(node('server2').inbound.requests, seen.server1);
  assert.equal(node('server1').outbound.callees, 1);
  assert.ok(!t.nodes.some((n: { service: string }) => n.service === 'SERVICECENTER'));

  // The CLI, as an operator runs it.
  const graph = await mesher(['graph', '--json']);
  assert.equal(graph.code, 0, graph.stderr);
  const g = JSON.parse(graph.stdout);
  assert.deepEqual(
    g.edges.map((e: { source: string; destination: string; requests: number }) => [
      e.source,
      e.destination,
      e.requests,
    ]),
    [
      ['client', 'server1', seen.client],
      ['server1', 'server2', seen.server1],
    ],
  );
  const dot = await mesher(['graph', '--dot']);
  assert.equal(dot.code, 0, dot.stderr);
  assert.match(dot.stdout, /^digraph mesh \{/);
  assert.match(dot.stdout, /"server1" -> "server2" \[label="[^"]*err[^"]*", color="red"/);
  const text = await mesher(['graph']);
  assert.match(text.stdout, /client\s+→\s+server1\s+\S+ rps\s+0\.0% err/);

  const top = await mesher(['top', '--json']);
  assert.equal(top.code, 0, top.stderr);
  const rows = JSON.parse(top.stdout) as Array<{
    service: string;
    inbound: { requests: number; errorRatio: number };
  }>;
  const s2 = rows.find((r) => r.service === 'server2')!;
  assert.equal(s2.inbound.requests, seen.server1);
  assert.ok(Math.abs(s2.inbound.errorRatio - 1 / FAIL_EVERY) < 0.1);
  const topText = await mesher(['top']);
  assert.match(
    topText.stdout,
    /^SERVICE\s+APP\s+INSTANCES\s+RPS IN\s+SUCCESS\s+P50\s+P99\s+CALLERS\s+RPS OUT/,
  );
  assert.match(topText.stdout, /server2\s+default\s+1\s+\S+\s+[678]\d\.\d%/);
});

test('bad input: precise 400s naming the field, 413 over the size cap, CLI usage errors', {
  timeout: 60_000,
}, async () => {
  const put = (body: string, id = 'r1') =>
    fetch(`${registry.url}/v4/default/registry/topology/reports/${id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body,
    });
  let res = await put(
    JSON.stringify({ schema: 1, epoch: 'e', uptimeMs: 1, intervalMs: 5, service: { name: 'x' } }),
  );
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), {
    errorCode: '400001',
    errorMessage: 'Invalid parameter(s)',
    detail: "invalid field 'intervalMs': must be in 100..3600000",
  });
  res = await put('{not json');
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as { errorCode: string }).errorCode, '400001');
  res = await put(JSON.stringify({ pad: 'x'.repeat(600 * 1024) }));
  assert.equal(res.status, 413);
  await res.body?.cancel();
  res = await fetch(`${registry.url}/v4/default/registry/topology?window=forever`);
  assert.equal(res.status, 400);
  assert.match(((await res.json()) as { detail: string }).detail, /'window'/);

  const cli = await mesher(['graph', '--window', '10m']);
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /^mesher graph: .*'window'.*\(HTTP 400, code 400001\)/);
  const usage = await mesher(['top', '--watch', 'soon']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--watch must be a number of seconds/);
});
