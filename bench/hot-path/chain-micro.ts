/**
 * @module bench/hot-path/chain-micro
 * The default outbound chain without sockets: observe (RED metrics on) → route → rate-limit →
 * fault → circuit breaker → retry → outlier → timeout → load-balance (real round-robin balancer)
 * → a terminal that answers at once with a streaming body, which is then ended. Measures µs per
 * call and the scavenges per 10,000 calls (allocation pressure), in rounds of `concurrency`
 * calls at a time. Only the chain: the listener, the upstream agent and the sockets are not in it.
 *
 *   node --import tsx bench/hot-path/chain-micro.ts [calls=200000] [concurrency=8]
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { PassThrough } from 'node:stream';
import { systemClock } from '../../src/shared/clock.ts';
import { createBalancer } from '../../src/sidecar/balancer/registry.ts';
import { CallSignal } from '../../src/sidecar/chain/call-signal.ts';
import { compose } from '../../src/sidecar/chain/compose.ts';
import type { CallContext, Outcome } from '../../src/sidecar/chain/types.ts';
import type { SidecarConfig } from '../../src/sidecar/config/types.ts';
import { createResilience } from '../../src/sidecar/resilience.ts';
import { EMPTY_TABLE } from '../../src/sidecar/routing/index.ts';
import { BalancerSet } from '../../src/sidecar/steps/balancer-set.ts';
import { createLoadBalance } from '../../src/sidecar/steps/load-balance.ts';
import { createObserve } from '../../src/sidecar/steps/observe.ts';
import { callerOf, createRoute, routeDecisionOf } from '../../src/sidecar/steps/route.ts';
import { RequestMetrics } from '../../src/sidecar/telemetry/request-metrics.ts';
import { endpointOf, FakeDirectory } from '../../test/support/fake-directory.ts';

const calls = Number(process.argv[2] ?? 200_000);
const concurrency = Number(process.argv[3] ?? 8);

const config = { flat: Object.freeze({}) } as unknown as SidecarConfig;
const directory = new FakeDirectory();
directory.set('svc', [
  endpointOf({ host: '127.0.0.1', port: 1 }, 'a'),
  endpointOf({ host: '127.0.0.1', port: 2 }, 'b'),
]);
const balancers = new BalancerSet({ strategy: 'RoundRobin', perService: {} } as never, (s) =>
  createBalancer(s),
);
const resilience = createResilience({ clock: systemClock, random: Math.random });
const handler = compose([
  createObserve({
    localService: 'me',
    localVersion: '1.0.0',
    metrics: new RequestMetrics({ maxServices: 100, perInstance: false }),
    tracer: undefined,
    accessLog: undefined,
    recentErrors: undefined,
  }),
  createRoute({
    table: EMPTY_TABLE,
    identity: callerOf({
      name: 'me',
      version: '1.0.0',
      app: 'default',
      properties: {},
      instanceProperties: {},
    } as never),
  }),
  ...resilience.steps(config).outbound,
  createLoadBalance({ directory, balancers, route: routeDecisionOf }),
  async (): Promise<Outcome> => ({ status: 200, headers: ['content-length', '2'], body: new PassThrough() }),
]);

function newCall(): CallContext {
  return {
    direction: 'outbound',
    kind: 'request',
    method: 'GET',
    service: 'svc',
    app: undefined,
    path: '/1k',
    headers: ['host', 'svc', 'user-agent', 'bench'],
    body: null,
    hasBody: false,
    source: { service: 'me', address: '127.0.0.1' },
    requestedPort: undefined,
    target: undefined,
    endpoint: undefined,
    exclude: undefined,
    attempt: 1,
    route: undefined,
    timings: { startMs: performance.now() },
    signal: new CallSignal(),
    head: undefined,
  };
}

async function one(): Promise<void> {
  const out = await handler(newCall());
  const body = out.body as PassThrough;
  body.resume();
  body.end('ok');
  await new Promise<void>((r) => body.once('close', r));
}

/** CPU milliseconds (user + system) to run `n` calls: less disturbed by a busy machine than wall time. */
async function run(n: number): Promise<number> {
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i += concurrency) {
    const batch: Promise<void>[] = [];
    for (let j = 0; j < concurrency; j++) batch.push(one());
    await Promise.all(batch);
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

let scavenges = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR)
      scavenges++;
}).observe({ entryTypes: ['gc'] });

await run(20_000); // warm-up
const results: number[] = [];
for (let r = 0; r < 5; r++) {
  scavenges = 0;
  const ms = await run(calls / 5);
  await new Promise((r) => setImmediate(r)); // lets the GC observer deliver its entries
  results.push((ms * 1000) / (calls / 5));
  process.stdout.write(
    `round ${r}: ${results[r]!.toFixed(2)} µs CPU/call, ${((scavenges * 10_000) / (calls / 5)).toFixed(1)} scavenges/10k\n`,
  );
}
results.sort((a, b) => a - b);
process.stdout.write(`median ${results[2]!.toFixed(2)} µs CPU/call\n`);
process.exit(0);
