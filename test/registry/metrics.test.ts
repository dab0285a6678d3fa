/**
 * Registry metrics (issues 6 and 8) on real sockets: scrape `GET /metrics` and check that the
 * counters move with real requests (register, heartbeat, find, deregister), that labels are route
 * patterns, that self-preservation and store health flip (ManualClock; a disk-fault store), and
 * that watchers, long-polls and topology reporters show up.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import {
  type ExpositionSample,
  parseExposition,
  sampleValue,
} from '../../src/registry/metrics/exposition.ts';
import { LATENCY_BUCKETS } from '../../src/registry/topology/report.ts';
import {
  type Client,
  createService,
  fileTempDir,
  MS,
  registerInstance,
  startFaultyRegistry,
  startTestRegistry,
} from './support.ts';

const P = 'mesher_registry_';
const dir = fileTempDir('mesher-metrics-');

async function scrape(c: Client): Promise<ExpositionSample[]> {
  const r = await c('GET', '/metrics');
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(r.text);
}

const val = (all: ExpositionSample[], name: string, labels: Record<string, string> = {}) =>
  sampleValue(all, P + name, labels);

/** A one-edge topology report, as a sidecar sends it. */
const report = () => ({
  schema: 1,
  epoch: 'e1',
  uptimeMs: 1000,
  intervalMs: 10_000,
  service: { name: 'client', app: 'default', version: '1.0.0', environment: '' },
  edges: [
    {
      direction: 'outbound',
      source: 'client',
      destination: 'server1',
      version: '1.0.0',
      requests: 10,
      errors: 1,
      latency: new Array<number>(LATENCY_BUCKETS).fill(0).map((_, i) => (i === 3 ? 10 : 0)),
    },
  ],
});

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

const INST = '/v4/:project/registry/microservices/:serviceId/instances';
const BEAT = `${INST}/:instanceId/heartbeat`;

test('counters move with register, heartbeat, find and deregister; labels are route patterns', {
  timeout: 60_000,
}, async () => {
  const c = await startTestRegistry();
  try {
    const before = await scrape(c);
    const regs0 = val(before, 'instance_registrations_total')!;
    const sid = await createService(c, { serviceName: 'shop', appId: 'app', version: '1.0.0' });
    const iid = await registerInstance(c, sid, { hostName: 'h1', endpoints: ['rest://127.0.0.1:8080'] });
    for (let i = 0; i < 3; i++)
      assert.equal((await c('PUT', `${MS}/${sid}/instances/${iid}/heartbeat`)).status, 200);
    assert.equal((await c('PUT', `${MS}/${sid}/instances/nope/heartbeat`)).status, 400);
    const find = '/v4/default/registry/instances?appId=app&serviceName=shop&version=latest';
    assert.equal((await c('GET', find, { headers: { 'x-consumerid': sid } })).status, 200);
    assert.equal((await c('GET', `/registry/v3/microservices/${sid}`)).status, 200, 'v3 path');
    assert.equal((await c('GET', '/no/such/path')).status, 404);
    assert.equal((await c('PATCH', `${MS}/${sid}`)).status, 405);

    const m = await scrape(c);
    const req = (method: string, route: string, status_class: string) =>
      val(m, 'http_requests_total', { method, route, status_class });
    assert.equal(req('POST', INST, '2xx'), 1);
    assert.equal(req('PUT', BEAT, '2xx'), 3);
    assert.equal(req('PUT', BEAT, '4xx'), 1, 'the unknown instance');
    assert.equal(req('GET', '/v4/:project/registry/instances', '2xx'), 1);
    assert.equal(req('GET', '/v4/:project/registry/microservices/:serviceId', '2xx'), 1, 'v3 → v4 pattern');
    assert.equal(req('GET', 'unmatched', '4xx'), 1);
    assert.equal(req('PATCH', 'method_not_allowed', '4xx'), 1);
    assert.equal(
      val(m, 'http_request_duration_seconds_count', { method: 'PUT', route: BEAT, status_class: '2xx' }),
      3,
    );
    assert.equal(
      val(m, 'http_request_duration_seconds_bucket', {
        method: 'PUT',
        route: BEAT,
        status_class: '2xx',
        le: '+Inf',
      }),
      3,
    );
    for (const s of m)
      for (const v of Object.values(s.labels)) assert.ok(!v.includes(iid), `raw id in ${s.name}`);
    assert.equal(val(m, 'http_requests_in_flight'), 1, 'the scrape itself');

    assert.equal(val(m, 'heartbeats_total', { result: 'renewed' }), 3);
    assert.equal(val(m, 'instance_registrations_total'), regs0 + 1);
    assert.equal(val(m, 'lease_grants_total'), regs0 + 1);
    assert.equal(val(m, 'services', { tenant: 'default/default' }), 2, 'shop + SERVICECENTER');
    assert.equal(val(m, 'instances', { tenant: 'default/default' }), 2);
    assert.ok(val(m, 'store_txns_total', { result: 'succeeded' })! >= 3);
    assert.equal(val(m, 'store_healthy', { backend: 'embedded' }), 1);
    assert.ok(val(m, 'store_revision')! > 0);
    assert.equal(val(m, 'self_preservation_active'), 0);
    assert.ok(val(m, 'process_cpu_user_seconds_total')! > 0, 'process metrics carry the prefix');

    assert.equal((await c('DELETE', `${MS}/${sid}/instances/${iid}`)).status, 200);
    await settle();
    const d = await scrape(c);
    assert.equal(val(d, 'instance_deregistrations_total'), 1);
    assert.equal(val(d, 'instance_expiries_total'), 0);
    assert.equal(val(d, 'lease_revokes_total'), 1);
    assert.equal(val(d, 'instances', { tenant: 'default/default' }), 1);
  } finally {
    await c.server.close();
  }
});

test('self-preservation: the active gauge flips on mass expiry and back when the holds end', {
  timeout: 60_000,
}, async () => {
  const c = await startTestRegistry({
    registerSelf: false,
    sweepIntervalMs: 500,
    config: { instanceTtlSec: 10, selfPreservation: { enabled: true } },
  });
  try {
    const sid = await createService(c, { serviceName: 'fleet' });
    for (let i = 0; i < 10; i++) await registerInstance(c, sid, { hostName: `h${i}`, endpoints: [] });
    let m = await scrape(c);
    assert.equal(val(m, 'self_preservation_enabled'), 1);
    assert.equal(val(m, 'self_preservation_active'), 0);
    const advance = async (ms: number) => {
      for (let t = 0; t < ms; t += 250) {
        c.clock.advance(250);
        await settle();
      }
    };
    await advance(11_000); // every lease ends: the deletes wait for the 2 s window
    m = await scrape(c);
    assert.equal(val(m, 'instance_expiries_total'), 10);
    assert.equal(val(m, 'self_preservation_pending_expiries'), 10);
    await advance(2500);
    m = await scrape(c);
    assert.equal(val(m, 'self_preservation_active'), 1);
    assert.equal(val(m, 'self_preservation_held_instances'), 10);
    assert.equal(val(m, 'self_preservation_activations_total'), 1);
    assert.equal(val(m, 'instances', { tenant: 'default/default' }), 10, 'held instances are still served');
    await advance(21_000); // each hold is 2 × TTL = 20 s
    m = await scrape(c);
    assert.equal(val(m, 'self_preservation_active'), 0);
    assert.equal(val(m, 'self_preservation_held_instances'), 0);
    assert.equal(val(m, 'instances', { tenant: 'default/default' }), 0);
    assert.equal(val(m, 'instance_deregistrations_total'), 0);
  } finally {
    await c.server.close();
  }
});

test('store health flips to 0 and the error is counted by code when a durable write fails', {
  timeout: 60_000,
}, async () => {
  const { c, fail } = await startFaultyRegistry(dir);
  try {
    let m = await scrape(c);
    assert.equal(val(m, 'store_healthy', { backend: 'embedded' }), 1);
    assert.equal(val(m, 'store_errors_total', { op: 'txn', code: 'IO' }), 0);
    fail(true);
    assert.equal((await c('POST', MS, { body: { service: { serviceName: 'during' } } })).status, 500);
    m = await scrape(c);
    assert.equal(val(m, 'store_healthy', { backend: 'embedded' }), 0);
    assert.equal(val(m, 'store_errors_total', { op: 'txn', code: 'IO' }), 1);
    assert.equal(val(m, 'store_txns_total', { result: 'error' }), 1);
    assert.equal(val(m, 'http_requests_total', { method: 'POST', status_class: '5xx' }), 1);
  } finally {
    await c.server.close();
  }
});

test('watchers, WebSocket connections, long-polls and topology reporters are visible', {
  timeout: 60_000,
}, async () => {
  const c = await startTestRegistry();
  let ws: WebSocket | undefined;
  try {
    const sid = await createService(c, { serviceName: 'consumer' });
    ws = new WebSocket(`${c.server.url.replace('http', 'ws')}${MS}/${sid}/watcher`);
    await new Promise<void>((resolve, reject) => {
      ws!.once('open', () => resolve());
      ws!.once('error', reject);
    });
    const held = c('GET', '/v1/default/kie/kv?wait=30s');
    const put = await c('PUT', '/v4/default/registry/topology/reports/sidecar-1', { body: report() });
    assert.equal(put.status, 200, put.text);
    for (let i = 0; i < 50 && (val(await scrape(c), 'config_long_polls_waiting') ?? 0) < 1; i++)
      await settle();
    let m = await scrape(c);
    assert.equal(val(m, 'watch_subscribers'), 1);
    assert.equal(val(m, 'websocket_connections'), 1);
    assert.equal(val(m, 'websocket_upgrades_total'), 1);
    assert.equal(val(m, 'config_long_polls_waiting'), 1);
    assert.equal(val(m, 'topology_reporters'), 1);
    assert.ok(val(m, 'topology_stored_edges')! >= 1);
    assert.equal(val(m, 'http_requests_in_flight'), 2, 'the held long-poll and the scrape');

    c.clock.advance(30_000);
    assert.equal((await held).status, 304);
    const closed = new Promise((r) => ws!.once('close', r));
    ws.close();
    await closed;
    for (let i = 0; i < 50 && (val(await scrape(c), 'websocket_connections') ?? 1) > 0; i++) await settle();
    m = await scrape(c);
    assert.equal(val(m, 'watch_subscribers'), 0);
    assert.equal(val(m, 'websocket_connections'), 0);
    assert.equal(val(m, 'config_long_polls_waiting'), 0);
  } finally {
    ws?.terminate();
    await c.server.close();
  }
});

test('tenants past maxTenants are summed as _other; metrics: false serves no /metrics', {
  timeout: 60_000,
}, async () => {
  const c = await startTestRegistry({ registerSelf: false, metrics: { maxTenants: 1 } });
  try {
    await createService(c, { serviceName: 'a' }, { 'x-domain-name': 'alpha' });
    await createService(c, { serviceName: 'b' }, { 'x-domain-name': 'beta' });
    await createService(c, { serviceName: 'c' }, { 'x-domain-name': 'gamma' });
    const m = await scrape(c);
    assert.equal(val(m, 'services', { tenant: 'alpha/default' }), 1);
    assert.equal(val(m, 'services', { tenant: '_other' }), 2);
    assert.equal(m.filter((s) => s.name === `${P}services`).length, 2);
  } finally {
    await c.server.close();
  }
  const off = await startTestRegistry({ metrics: false });
  try {
    assert.equal((await off('GET', '/metrics')).status, 404);
    assert.equal(off.server.metrics, null);
  } finally {
    await off.server.close();
  }
});

test('bad metrics options are refused before anything starts', { timeout: 60_000 }, async () => {
  const { startRegistry } = await import('../../src/registry/main.ts');
  await assert.rejects(startRegistry({ port: 0, metrics: { prefix: 'bad-prefix' } }), /metrics\.prefix/);
  await assert.rejects(startRegistry({ port: 0, metrics: { maxTenants: -1 } }), /metrics\.maxTenants/);
});
