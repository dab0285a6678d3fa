/**
 * The sidecar's topology reporter without sockets: edges folded from real request metrics, the
 * settings table, and the reporter's timer, cumulative body, failure and skip counting on a
 * ManualClock with a fake sender.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { testSidecarConfig } from '../../../test/support/fake-directory.ts';
import { ManualClock } from '../../shared/clock.ts';
import { setLogLevel } from '../../shared/log.ts';
import { isConfigError } from '../config/config-error.ts';
import { RequestMetrics, type RequestSample } from '../telemetry/request-metrics.ts';
import {
  collectEdges,
  createTopologyReporter,
  LATENCY_BOUNDS_MS,
  parseTopologySettings,
  type ReportEdge,
} from './index.ts';

setLogLevel('silent');

function sample(over: Partial<RequestSample>): RequestSample {
  return {
    direction: 'outbound',
    sourceService: 'client',
    destinationService: 'server1',
    destinationVersion: '1.0.0',
    status: 200,
    errorCode: '',
    instance: '',
    durationSeconds: 0.003,
    requestBytes: 0,
    responseBytes: 10,
    ...over,
  };
}

test('schema 1 buckets: the request metrics duration buckets, in ms', () => {
  assert.deepEqual(
    LATENCY_BOUNDS_MS,
    [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000],
  );
});

test('edges fold status classes and error codes; errors are 5xx or proxy errors', async () => {
  const metrics = new RequestMetrics({ maxServices: 100, perInstance: false });
  const registry = new Registry();
  for (const m of metrics.registryMetrics()) registry.registerMetric(m as never);
  for (let i = 0; i < 6; i++) metrics.record(sample({}));
  metrics.record(sample({ status: 503 }));
  metrics.record(sample({ status: 503, errorCode: 'UPSTREAM_TIMEOUT', durationSeconds: 45 }));
  metrics.record(sample({ status: 429, errorCode: 'RATE_LIMITED', durationSeconds: 0.0001 }));
  metrics.record(sample({ status: 404 }));
  metrics.record(sample({ destinationVersion: '2.0.0' }));
  metrics.record(
    sample({
      direction: 'inbound',
      sourceService: 'unknown',
      destinationService: 'client',
      destinationVersion: '1.0.0',
    }),
  );
  const edges = await collectEdges(registry);
  const find = (f: Partial<ReportEdge>) =>
    edges.find((e) => Object.entries(f).every(([k, v]) => e[k as keyof ReportEdge] === v));
  const main = find({ direction: 'outbound', destination: 'server1', version: '1.0.0' })!;
  assert.equal(main.requests, 10);
  assert.equal(main.errors, 3, '503, the timeout and the rate-limit rejection; not the 404');
  assert.equal(main.latency.length, LATENCY_BOUNDS_MS.length + 1);
  assert.equal(
    main.latency.reduce((a, b) => a + b, 0),
    10,
  );
  assert.equal(main.latency[0], 1, '0.1 ms in the first bucket');
  assert.equal(main.latency[3], 8, '3 ms in (2.5, 5]');
  assert.equal(main.latency[LATENCY_BOUNDS_MS.length], 1, '45 s in the open bucket');
  assert.equal(find({ version: '2.0.0' })!.requests, 1);
  assert.equal(find({ direction: 'inbound', source: 'unknown' })!.requests, 1);
  assert.equal(edges.length, 3);
  assert.deepEqual(await collectEdges(new Registry()), [], 'metrics off: nothing to report');
});

test('settings: defaults, durations, one ConfigError naming every bad key', () => {
  assert.deepEqual(parseTopologySettings({}), { enabled: true, intervalMs: 10_000 });
  assert.deepEqual(
    parseTopologySettings({ 'mesher.topology.enabled': 'false', 'mesher.topology.interval': '250ms' }),
    {
      enabled: false,
      intervalMs: 250,
    },
  );
  assert.throws(
    () => parseTopologySettings({ 'mesher.topology.enabled': 'maybe', 'mesher.topology.interval': '10ms' }),
    (e: unknown) =>
      isConfigError(e) &&
      e.issues.map((i) => i.key).join() === 'mesher.topology.enabled,mesher.topology.interval',
  );
});

test('reporter: every interval, cumulative counters with uptime; failures and overlaps are counted', async () => {
  const clock = new ManualClock();
  const sent: Array<{ path: string; body: Record<string, unknown> }> = [];
  let status = 200;
  let hold: Promise<void> | undefined;
  let edges: ReportEdge[] = [];
  const reporter = createTopologyReporter({
    config: testSidecarConfig({ service: { ...testSidecarConfig().service, version: '1.0.0' } }),
    settings: { enabled: true, intervalMs: 1000 },
    readEdges: async () => edges,
    clock,
    reporterId: 'r1',
    epoch: 'e1',
    send: async (path, body) => {
      sent.push({ path, body: body as Record<string, unknown> });
      if (hold) await hold;
      if (status === 0) throw new Error('unreachable');
      return status;
    },
  });
  try {
    reporter.start();
    assert.equal(sent.length, 0, 'nothing before the first interval');
    edges = [
      {
        direction: 'outbound',
        source: 'client',
        destination: 's',
        version: '',
        requests: 3,
        errors: 0,
        latency: [3],
      },
    ];
    clock.advance(1000);
    await new Promise((r) => setImmediate(r));
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.path, '/v4/default/registry/topology/reports/r1');
    assert.equal(sent[0]!.body.uptimeMs, 1000);
    assert.equal(sent[0]!.body.epoch, 'e1');
    assert.deepEqual(sent[0]!.body.service, {
      name: 'client',
      app: 'default',
      version: '1.0.0',
      environment: '',
    });
    assert.equal((sent[0]!.body.edges as ReportEdge[])[0]!.requests, 3);
    assert.equal(reporter.stats().ok, 1);

    status = 503;
    clock.advance(1000);
    await new Promise((r) => setImmediate(r));
    status = 0;
    clock.advance(1000);
    await new Promise((r) => setImmediate(r));
    assert.equal(reporter.stats().failed, 2);
    assert.equal(reporter.stats().lastError, 'unreachable');

    let release = () => {};
    hold = new Promise((r) => {
      release = r;
    });
    status = 200;
    clock.advance(1000);
    clock.advance(1000);
    await new Promise((r) => setImmediate(r));
    assert.equal(reporter.stats().skipped, 1, 'a tick while the last report is in flight is skipped');
    release();
    hold = undefined;
    await new Promise((r) => setImmediate(r));
    assert.equal(reporter.stats().ok, 2);
    assert.equal(reporter.stats().lastError, undefined);
    const text = await reporter.metrics[0]!.get();
    assert.deepEqual(
      text.values.map((v) => (v as { value: number }).value),
      [2, 2, 1],
    );
  } finally {
    await reporter.close();
  }
  assert.equal(clock.pending, 0, 'close cancels the timer');
});

test('reporter: disabled means no timer at all', async () => {
  const clock = new ManualClock();
  const reporter = createTopologyReporter({
    config: testSidecarConfig({ service: { ...testSidecarConfig().service, version: '1.0.0' } }),
    settings: { enabled: false, intervalMs: 1000 },
    readEdges: async () => [],
    clock,
    send: async () => 200,
  });
  reporter.start();
  assert.equal(clock.pending, 0);
  await reporter.close();
});
