/**
 * @module bench/telemetry/e2e-cost
 * Each telemetry feature's cost through a real sidecar: an undici client (16 requests in flight,
 * keep-alive) → the sidecar's outbound listener → a bare Node upstream, all on 127.0.0.1 in one
 * process. For every variant it reports CPU microseconds per request (process.cpuUsage, so client
 * and upstream are included; they are the same in every variant, so the differences are the
 * telemetry) and requests per second. Variants run interleaved over several rounds; medians are shown.
 *
 *   node --import tsx bench/telemetry/e2e-cost.ts      (REQUESTS=5000 ROUNDS=5)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { setLogLevel } from '../../src/shared/log.ts';
import type { SidecarConfig } from '../../src/sidecar/config/types.ts';
import { createDataPlane, type DataPlane } from '../../src/sidecar/data-plane.ts';
import { createTelemetry, type Telemetry } from '../../src/sidecar/telemetry/telemetry.ts';
import { endpointOf, testSidecarConfig } from '../../test/support/fake-directory.ts';
import { oneEndpointBalancer, oneEndpointDirectory } from '../lib/one-endpoint.ts';

setLogLevel('silent');
const REQUESTS = Number(process.env.REQUESTS ?? 5000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const CONCURRENCY = 16;
const dir = mkdtempSync(join(tmpdir(), 'mesher-e2e-'));

const upstream = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 5 });
  res.end('hello');
});
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
const endpoint = endpointOf({ host: '127.0.0.1', port: (upstream.address() as AddressInfo).port }, 'u');
const directory = oneEndpointDirectory('up', endpoint);

// A collector that accepts and discards spans, so export cost is real (HTTP + JSON) but bounded.
const sink = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.end());
});
await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;

const VARIANTS: Record<string, Record<string, unknown> | undefined> = {
  'no telemetry': undefined,
  metrics: {},
  'metrics + tracing 1%': { 'tracing.endpoint': sinkUrl, 'tracing.samplingRate': 0.01 },
  'metrics + tracing 100%': { 'tracing.endpoint': sinkUrl, 'tracing.samplingRate': 1 },
  'metrics + access log (file)': {
    'servicecomb.accessLog.enabled': true,
    'servicecomb.accessLog.file': join(dir, 'access.log'),
  },
};

interface Rig {
  plane: DataPlane;
  telemetry: Telemetry | undefined;
  pool: Pool;
}
const rigs: Record<string, Rig> = {};
for (const [name, flat] of Object.entries(VARIANTS)) {
  const c = testSidecarConfig({ confDir: dir, flat: flat ?? {} });
  const telemetry = flat === undefined ? undefined : createTelemetry({ config: c, processMetrics: false });
  const plane = createDataPlane({
    config: c,
    directory,
    createBalancer: () => oneEndpointBalancer(endpoint),
    ...(telemetry ? { extraSteps: (x: SidecarConfig) => telemetry.steps(x) } : {}),
  });
  const { outbound } = await plane.listen();
  rigs[name] = {
    plane,
    telemetry,
    pool: new Pool(`http://127.0.0.1:${outbound.port}`, { connections: CONCURRENCY }),
  };
}

async function round(rig: Rig): Promise<{ cpuUs: number; rps: number }> {
  let left = REQUESTS;
  const worker = async () => {
    while (left-- > 0) {
      const res = await rig.pool.request({ path: '/x', method: 'GET', headers: { host: 'up' } });
      await res.body.dump();
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: (cpu.user + cpu.system) / REQUESTS, rps: (REQUESTS / ms) * 1000 };
}

const results: Record<string, Array<{ cpuUs: number; rps: number }>> = Object.fromEntries(
  Object.keys(VARIANTS).map((k) => [k, []]),
);
for (const name of Object.keys(VARIANTS)) await round(rigs[name]!); // warm up
for (let r = 0; r < ROUNDS; r++)
  for (const name of Object.keys(VARIANTS)) results[name]!.push(await round(rigs[name]!));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const base = median(results['no telemetry']!.map((x) => x.cpuUs));
for (const [name, xs] of Object.entries(results)) {
  const cpu = median(xs.map((x) => x.cpuUs));
  const rps = median(xs.map((x) => x.rps));
  console.log(
    `${name.padEnd(30)} ${cpu.toFixed(1).padStart(6)} µs CPU/request (+${(cpu - base).toFixed(1)})  ${rps.toFixed(0).padStart(6)} req/s`,
  );
}
for (const rig of Object.values(rigs)) {
  await rig.pool.close();
  await rig.plane.close();
  await rig.telemetry?.close();
}
upstream.closeAllConnections();
sink.closeAllConnections();
await new Promise((r) => upstream.close(r));
await new Promise((r) => sink.close(r));
rmSync(dir, { recursive: true, force: true });
