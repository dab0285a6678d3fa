/**
 * Metrics end to end: known traffic through client's sidecar → server's sidecar → server app, then
 * `/v1/mesher/metrics` is scraped over HTTP and the counts and labels are checked on both sides.
 * A second test points a real Prometheus (Debian package `prometheus`) at the sidecar and checks
 * PromQL answers; it skips, saying so, when the binary is absent.
 *
 * The admin router does not register the metrics handler yet, so the test serves
 * `telemetry.metricsHandler` on its own small HTTP server exactly as the admin server will.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setLogLevel } from '../../src/shared/log.ts';
import type { AdminHandler } from '../../src/sidecar/admin/types.ts';
import type { DataPlane } from '../../src/sidecar/data-plane.ts';
import type { Telemetry } from '../../src/sidecar/telemetry/index.ts';
import { endpointOf, FakeDirectory } from '../support/fake-directory.ts';
import { freePort } from '../support/mesh.ts';
import { startTelemetrySidecar } from '../support/telemetry-sidecar.ts';
import { startUpstream, type TestUpstream } from '../support/upstream.ts';

setLogLevel(process.env.MESHER_LOG_LEVEL ?? 'silent');

interface Side {
  telemetry: Telemetry;
  plane: DataPlane;
  outboundPort: number;
  inboundPort: number | undefined;
  admin: Server;
  adminPort: number;
}

/** Serve one admin handler on 127.0.0.1:0, writing text replies as-is (what the admin server must do). */
async function serveHandler(handler: AdminHandler): Promise<Server> {
  const server = http.createServer((req, res) => {
    req.resume();
    const url = new URL(req.url ?? '/', 'http://admin');
    void handler({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams }).then(
      (reply) => {
        const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(text);
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

const directory = new FakeDirectory();
let app: TestUpstream;
let client: Side;
let server: Side;

async function side(name: string, localAppPort?: number): Promise<Side> {
  const sc = await startTelemetrySidecar({ name, directory, localAppPort });
  const admin = await serveHandler(sc.telemetry.metricsHandler);
  return {
    telemetry: sc.telemetry,
    plane: sc.plane,
    outboundPort: sc.outboundPort,
    inboundPort: sc.inbound?.port,
    admin,
    adminPort: (admin.address() as AddressInfo).port,
  };
}

function get(port: number, service: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/work', headers: { ...headers, host: service } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function scrape(port: number): Promise<{ type: string | null; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/mesher/metrics`);
  return { type: res.headers.get('content-type'), text: await res.text() };
}

/** The value of the one sample whose name and labels match exactly (labels in any order). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && line.split(' ')[0] !== name) continue;
    const m = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const kv of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) got[kv[1]!] = kv[2]!;
    if (
      Object.keys(got).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => got[k] === v)
    )
      return Number(m[3]);
  }
  return undefined;
}

before(async () => {
  app = await startUpstream({ id: 'app' });
  server = await side('server', app.port);
  client = await side('client');
  directory.set('server', [endpointOf({ host: '127.0.0.1', port: server.inboundPort! }, 's1', 'server')]);
  for (let i = 0; i < 5; i++) assert.equal(await get(client.outboundPort, 'server'), 200);
  assert.equal(await get(client.outboundPort, 'server', { 'x-test-body-bytes': '2000' }), 200);
  for (let i = 0; i < 2; i++)
    assert.equal(await get(client.outboundPort, 'server', { 'x-test-status': '503' }), 503);
  assert.equal(await get(client.outboundPort, 'nosuch'), 404);
  await new Promise((r) => setImmediate(r));
});

after(async () => {
  for (const s of [client, server]) {
    await s.plane.close();
    await s.telemetry.close();
    s.admin.closeAllConnections();
    await new Promise((r) => s.admin.close(r));
  }
  await app.close();
});

test('/v1/mesher/metrics counts known traffic with the right labels on both sides', {
  timeout: 60_000,
}, async () => {
  const { type, text } = await scrape(client.adminPort);
  assert.match(type ?? '', /^text\/plain; version=0\.0\.4/);
  const out = {
    direction: 'outbound',
    source_service: 'client',
    destination_service: 'server',
    destination_version: '0.0.1', // endpointOf's version: the chosen endpoint's, not ours
  };
  assert.equal(sample(text, 'mesher_requests_total', { ...out, status_class: '2xx', error_code: '' }), 6);
  assert.equal(sample(text, 'mesher_requests_total', { ...out, status_class: '5xx', error_code: '' }), 2);
  assert.equal(
    sample(text, 'mesher_requests_total', {
      direction: 'outbound',
      source_service: 'client',
      destination_service: 'nosuch',
      destination_version: '',
      status_class: '4xx',
      error_code: 'SERVICE_NOT_FOUND',
    }),
    1,
  );
  assert.equal(
    sample(text, 'mesher_request_duration_seconds_count', { ...out, status_class: '2xx', error_code: '' }),
    6,
  );
  assert.equal(
    sample(text, 'mesher_request_duration_seconds_bucket', {
      ...out,
      status_class: '2xx',
      error_code: '',
      le: '+Inf',
    }),
    6,
  );
  // Five bodies of "app" (3 bytes) and one of 2000 bytes.
  assert.equal(
    sample(text, 'mesher_response_size_bytes_sum', { ...out, status_class: '2xx', error_code: '' }),
    2015,
  );
  assert.equal(
    sample(text, 'mesher_requests_in_flight', { direction: 'outbound', destination_service: 'server' }),
    0,
  );
  assert.ok(sample(text, 'process_cpu_user_seconds_total', {}) !== undefined, 'process metrics are there');
  assert.doesNotMatch(text, /\/work/, 'no paths in labels');

  const inbound = (await scrape(server.adminPort)).text;
  const inb = {
    direction: 'inbound',
    source_service: 'client',
    destination_service: 'server',
    destination_version: '1.0.0',
  };
  assert.equal(sample(inbound, 'mesher_requests_total', { ...inb, status_class: '2xx', error_code: '' }), 6);
  assert.equal(sample(inbound, 'mesher_requests_total', { ...inb, status_class: '5xx', error_code: '' }), 2);
  assert.equal(
    sample(inbound, 'mesher_requests_total', {
      ...inb,
      status_class: '4xx',
      error_code: 'SERVICE_NOT_FOUND',
    }),
    undefined,
  );
});

test('governance counters and registry health show up in the same registry; registries do not collide', {
  timeout: 60_000,
}, async () => {
  client.telemetry.counters.retry.inc('server');
  client.telemetry.counters.retry.inc('server');
  client.telemetry.counters.circuit.set('server', 'open');
  client.telemetry.counters.ejection.eject('server', 's1');
  client.telemetry.counters.setRegistryHealth(true);
  const text = (await scrape(client.adminPort)).text;
  assert.equal(sample(text, 'mesher_retries_total', { service: 'server' }), 2);
  assert.equal(sample(text, 'mesher_circuit_state', { service: 'server', instance: '' }), 2);
  assert.equal(sample(text, 'mesher_circuit_transitions_total', { service: 'server', to: 'open' }), 1);
  assert.equal(sample(text, 'mesher_endpoint_ejected', { service: 'server', instance: 's1' }), 1);
  assert.equal(sample(text, 'mesher_registry_up', {}), 1);
  const other = (await scrape(server.adminPort)).text;
  assert.equal(sample(other, 'mesher_retries_total', { service: 'server' }), undefined);
  assert.equal(sample(other, 'mesher_registry_up', {}), 0);
});

const PROMETHEUS = spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0;

test('a real Prometheus scrapes the sidecar and PromQL sees the request count and rate', {
  skip: PROMETHEUS ? false : 'prometheus binary not found (apt-get install prometheus)',
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mesher-prom-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 500ms, evaluation_interval: 500ms }',
      'scrape_configs:',
      '  - job_name: mesher',
      '    metrics_path: /v1/mesher/metrics',
      `    static_configs: [{ targets: ["127.0.0.1:${client.adminPort}"] }]`,
      '',
    ].join('\n'),
  );
  const prom: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
  // Should this file die before the finally below (runner timeout), Prometheus must not outlive it.
  const killProm = (): void => {
    if (prom.exitCode === null && prom.signalCode === null) prom.kill('SIGKILL');
  };
  process.once('exit', killProm);
  const query = async (q: string, at?: number): Promise<number | undefined> => {
    const time = at === undefined ? '' : `&time=${at}`;
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}${time}`);
    const body = (await res.json()) as { data?: { result?: Array<{ value: [number, string] }> } };
    const v = body.data?.result?.[0]?.value[1];
    return v === undefined ? undefined : Number(v);
  };
  const until = async (fn: () => Promise<boolean>, ms: number) => {
    const end = Date.now() + ms;
    for (;;) {
      try {
        if (await fn()) return;
      } catch {
        // not up yet
      }
      if (Date.now() > end) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  try {
    await until(async () => (await fetch(`http://127.0.0.1:${port}/-/ready`)).ok, 15_000);
    const sel = 'mesher_requests_total{direction="outbound",destination_service="server",status_class="2xx"}';
    await until(async () => (await query(sel)) === 6, 10_000);
    // Steady traffic: 40 requests paced at 10/s (slower if the machine is busy), then the 3 s rate
    // evaluated at the end of the traffic (not "now": later scrapes would age the window out) must
    // be near the rate actually sent, measured here rather than assumed.
    const start = Date.now();
    for (let i = 0; i < 40; i++) {
      await get(client.outboundPort, 'server');
      await new Promise((r) => setTimeout(r, Math.max(0, start + (i + 1) * 100 - Date.now())));
    }
    const end = Date.now();
    const sent = 40 / ((end - start) / 1000);
    await until(async () => (await query(sel)) === 46, 10_000);
    const rate = await query(`rate(${sel}[3s])`, end / 1000);
    assert.ok(
      rate !== undefined && rate > sent / 3 && rate < Math.max(20, sent * 2),
      `rate ${rate}/s, sent ${sent.toFixed(1)}/s`,
    );
    // Every query of the Grafana dashboard parses and runs (variables filled in as Grafana would).
    const dash = JSON.parse(
      readFileSync(new URL('../../deploy/grafana/mesher-golden-signals.json', import.meta.url), 'utf8'),
    ) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
    let checked = 0;
    for (const p of dash.panels) {
      for (const t of p.targets ?? []) {
        const q = t.expr.replaceAll('$__rate_interval', '3s').replace(/\$(service|direction|job)/g, '.*');
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
        const body = (await res.json()) as { status: string; error?: string };
        assert.equal(body.status, 'success', `${p.title}: ${q}: ${body.error}`);
        checked++;
      }
    }
    assert.ok(checked >= 15, `checked ${checked} dashboard queries`);
    const p99 = await query(
      'histogram_quantile(0.99, sum by (le) (rate(mesher_request_duration_seconds_bucket{direction="outbound"}[3s])))',
    );
    // Local calls take milliseconds; under 5 s still catches a broken histogram (NaN, +Inf, seconds
    // mistaken for ms) without failing on a busy CI machine.
    assert.ok(p99 !== undefined && p99 > 0 && p99 < 5, `p99 ${p99}s`);
  } finally {
    prom.kill('SIGTERM');
    const killTimer = setTimeout(killProm, 10_000); // bounded: a stuck shutdown gets SIGKILL
    await new Promise((r) => (prom.exitCode !== null ? r(null) : prom.once('exit', r)));
    clearTimeout(killTimer);
    process.off('exit', killProm);
    rmSync(dir, { recursive: true, force: true });
  }
});
