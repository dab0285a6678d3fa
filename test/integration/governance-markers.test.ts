/**
 * Marker-based retry, circuitBreaker and bulkhead policies (servicecomb.retry / .circuitBreaker /
 * .bulkhead) through real sidecars on loopback, configured from the registry's config center the
 * way a ServiceComb console writes them (one KV per marker and per policy, YAML values). Every
 * marker names the called service, so the calling (consumer) sidecar enforces it:
 *
 * - retry: a POST the per-service retry never repeats (not idempotent) succeeds on its 4th try
 *   under `maxAttempts: 4`; a reload to `maxAttempts: 1` makes the caller see the first 500, with
 *   exactly one request at the app (the marker wins over the per-service 3 attempts);
 * - circuitBreaker: after two 500s in a 2-call window the third call gets 503 CIRCUIT_OPEN without
 *   reaching the app; the snapshot and /metrics show the open circuit; a reload to `forceClosed`
 *   lets calls through again;
 * - bulkhead: with one slot and no wait, the second of two concurrent slow calls gets 503
 *   BULKHEAD_FULL; a reload to `maxWaitDuration: 5s` makes it wait for the slot and succeed.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { before, test } from 'node:test';
import { ProxyAgent, request } from 'undici';
import { startRegistry } from '../../src/registry/main.ts';
import type { Sidecar } from '../../src/sidecar/main.ts';
import { fileClosers } from '../support/closers.ts';
import { putKv as putKvAt, updateKv as updateKvAt } from '../support/kie.ts';
import { eventually, startTestSidecar } from '../support/mesh.ts';

const closers = fileClosers();

let registryUrl: string;
let provider: Sidecar;
let consumer: Sidecar;
let proxy: ProxyAgent;

/**
 * The app: `?fail=N&key=K` answers 500 to the first N requests with key K, then 200;
 * `?delay=MS` waits first. Counts requests per path.
 */
const hits = new Map<string, number>();
const failures = new Map<string, number>();
function appHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://app');
  hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
  req.resume();
  const answer = () => {
    const key = url.searchParams.get('key') ?? '';
    const fail = Number(url.searchParams.get('fail') ?? '0');
    const seen = failures.get(key) ?? 0;
    failures.set(key, seen + 1);
    res.statusCode = seen < fail ? 500 : 200;
    res.end(String(res.statusCode));
  };
  const delay = Number(url.searchParams.get('delay') ?? '0');
  if (delay > 0) setTimeout(answer, delay);
  else answer();
}

const putKv = (key: string, value: string) => putKvAt(registryUrl, key, value);
const updateKv = (id: string, value: string) => updateKvAt(registryUrl, id, value);

async function call(method: 'GET' | 'POST', path: string): Promise<{ status: number; error?: string }> {
  const res = await request(`http://msrv${path}`, {
    method,
    dispatcher: proxy,
    ...(method === 'POST' ? { body: '{"n":1}', headers: { 'content-type': 'application/json' } } : {}),
  });
  await res.body.text();
  const error = res.headers['x-mesher-error'];
  return { status: res.statusCode, ...(typeof error === 'string' ? { error } : {}) };
}

interface Gov {
  retry: Record<string, { maxAttempts: number; calls: number }>;
  circuitBreaker: Record<string, Record<string, { state: string; shortCircuits: number }>>;
  bulkhead: Record<string, Record<string, { maxWaitDurationMs: number; rejected: number; waited: number }>>;
}
async function governanceOf(s: Sidecar): Promise<Gov> {
  const res = await fetch(`http://127.0.0.1:${s.addresses.admin!.port}/v1/mesher/resilience`);
  return ((await res.json()) as { governance: Gov }).governance;
}

before(async () => {
  const registry = await startRegistry({ port: 0, dataDir: null });
  closers.push(() => registry.close());
  registryUrl = registry.url;
  const app = http.createServer(appHandler);
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => app.close(r)));
  const appPort = (app.address() as AddressInfo).port;
  provider = await startTestSidecar({ name: 'msrv', registryUrl, listenIp: '127.0.0.2', appPort });
  closers.push(() => provider.close());
  consumer = await startTestSidecar({ name: 'mcli', registryUrl });
  closers.push(() => consumer.close());
  proxy = new ProxyAgent({ uri: `http://127.0.0.1:${consumer.addresses.outbound.port}`, proxyTunnel: false });
  closers.push(() => proxy.close());
  await eventually(async () => (await call('GET', '/warmup')).status === 200, 10_000, 100);
});

test('retry: maxAttempts applies to a POST; a reload to maxAttempts 1 stops all retries', {
  timeout: 60_000,
}, async () => {
  await putKv(
    'servicecomb.matchGroup.flaky',
    'matches:\n  - serviceName: msrv\n    apiPath: { prefix: "/flaky" }\n',
  );
  const id = await putKv(
    'servicecomb.retry.flaky',
    'maxAttempts: 4\nretryOnResponseStatus: [500]\nwaitDuration: 10\n',
  );
  await eventually(async () => (await governanceOf(consumer)).retry.flaky?.maxAttempts === 4, 5000, 50);

  // Without a marker a POST is not retried (per-service retry: idempotent methods only).
  assert.equal((await call('POST', '/plain?fail=1&key=p1')).status, 500);
  assert.equal(hits.get('/plain'), 1);

  assert.deepEqual(await call('POST', '/flaky?fail=3&key=f1'), { status: 200 });
  assert.equal(hits.get('/flaky'), 4, 'three 500s, then the fourth try answered');
  assert.deepEqual(await call('POST', '/flaky?fail=9&key=f2'), { status: 500 });
  assert.equal(hits.get('/flaky'), 8, 'four tries in all, then the last answer');

  await updateKv(id, 'maxAttempts: 1\n');
  await eventually(async () => (await governanceOf(consumer)).retry.flaky?.maxAttempts === 1, 5000, 50);
  assert.equal((await call('GET', '/flaky?fail=1&key=f3')).status, 500);
  assert.equal(hits.get('/flaky'), 9, 'one try: the marker wins over the per-service 3 attempts for GET');
  assert.equal((await governanceOf(consumer)).retry.flaky!.calls, 1, 'counted since the policy changed');
});

test('circuitBreaker: opens on recordFailureStatus, answers 503 CIRCUIT_OPEN; forceClosed by reload', {
  timeout: 60_000,
}, async () => {
  await putKv(
    'servicecomb.matchGroup.cb',
    'matches:\n  - serviceName: msrv\n    apiPath: { prefix: "/cb" }\n',
  );
  const id = await putKv(
    'servicecomb.circuitBreaker.cb',
    'minimumNumberOfCalls: 2\nslidingWindowSize: 2\nfailureRateThreshold: 50\nrecordFailureStatus: [500]\nwaitDurationInOpenState: 60000\n',
  );
  await eventually(
    async () => {
      const g = await governanceOf(consumer);
      return g.circuitBreaker.cb !== undefined;
    },
    5000,
    50,
  );
  // A POST: the per-service retry leaves it alone, so each call is one request at the app.
  assert.equal((await call('POST', '/cb?fail=9&key=c1')).status, 500);
  assert.equal((await call('POST', '/cb?fail=9&key=c1')).status, 500);
  const rejected = await call('POST', '/cb?fail=9&key=c1');
  assert.deepEqual(rejected, { status: 503, error: 'CIRCUIT_OPEN' });
  assert.equal(hits.get('/cb'), 2, 'the open circuit kept the third call from the app');
  assert.equal((await call('POST', '/other-cb')).status, 200, 'calls the marker does not match pass');

  const view = (await governanceOf(consumer)).circuitBreaker.cb!.msrv!;
  assert.equal(view.state, 'open');
  assert.equal(view.shortCircuits, 1);
  const metrics = await (await fetch(`http://127.0.0.1:${consumer.addresses.admin!.port}/metrics`)).text();
  assert.match(metrics, /mesher_marker_circuit_state\{marker="cb",service="msrv"\} 2/);

  await updateKv(
    id,
    'minimumNumberOfCalls: 2\nslidingWindowSize: 2\nrecordFailureStatus: [500]\nforceClosed: true\n',
  );
  await eventually(async () => (await call('POST', '/cb?fail=0&key=c2')).status === 200, 5000, 50);
  for (let i = 0; i < 3; i++) assert.equal((await call('POST', '/cb?fail=9&key=c3')).status, 500);
  assert.equal((await governanceOf(consumer)).circuitBreaker.cb!.msrv!.state, 'closed', 'forced closed');
});

test('bulkhead: one slot, no wait → 503 BULKHEAD_FULL; a reload to a 5 s wait lets the second call queue', {
  timeout: 60_000,
}, async () => {
  await putKv(
    'servicecomb.matchGroup.bh',
    'matches:\n  - serviceName: msrv\n    apiPath: { prefix: "/bh" }\n',
  );
  const id = await putKv('servicecomb.bulkhead.bh', 'maxConcurrentCalls: 1\nmaxWaitDuration: 0\n');
  await eventually(async () => (await governanceOf(consumer)).bulkhead.bh !== undefined, 5000, 50);
  const both = await Promise.all([call('GET', '/bh?delay=600&key=b1'), call('GET', '/bh?delay=600&key=b2')]);
  const statuses = both.map((r) => r.status).sort();
  assert.deepEqual(statuses, [200, 503], JSON.stringify(both));
  assert.ok(both.some((r) => r.error === 'BULKHEAD_FULL'));
  assert.equal((await governanceOf(consumer)).bulkhead.bh!.msrv!.rejected, 1);

  await updateKv(id, 'maxConcurrentCalls: 1\nmaxWaitDuration: 5000\n');
  await eventually(
    async () => (await governanceOf(consumer)).bulkhead.bh?.msrv?.maxWaitDurationMs === 5000,
    5000,
    50,
  );
  const queued = await Promise.all([
    call('GET', '/bh?delay=300&key=b3'),
    call('GET', '/bh?delay=300&key=b4'),
  ]);
  assert.deepEqual(
    queued.map((r) => r.status),
    [200, 200],
  );
  assert.equal(
    (await governanceOf(consumer)).bulkhead.bh!.msrv!.waited,
    1,
    'the second call waited for the slot',
  );
});
