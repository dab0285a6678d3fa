/**
 * @module bench/telemetry/step-cost
 * What each telemetry feature adds per request, measured on the observe step in-process (no
 * sockets, so the numbers are the step's own CPU time): the chain with no telemetry, then metrics,
 * metrics + tracing at 1% and 100% (spans exported to a sender that discards them, encode
 * included because it runs on the same event loop), and metrics + access log to a file.
 * Rounds are interleaved and the median is printed.
 *
 *   node --import tsx bench/telemetry/step-cost.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setLogLevel } from '../../src/shared/log.ts';
import type { CallContext, Next, Outcome, Step } from '../../src/sidecar/chain/types.ts';
import { createTelemetry, type Telemetry } from '../../src/sidecar/telemetry/telemetry.ts';
import { testSidecarConfig } from '../../test/support/fake-directory.ts';

setLogLevel('silent');
const N = Number(process.env.N ?? 100_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'mesher-bench-'));

const VARIANTS: Record<string, Record<string, unknown> | undefined> = {
  'no telemetry (bare chain)': undefined,
  'metrics only': { 'servicecomb.metrics.enabled': true },
  'metrics + tracing 1%': { 'tracing.enabled': true, 'tracing.samplingRate': 0.01 },
  'metrics + tracing 100%': { 'tracing.enabled': true, 'tracing.samplingRate': 1 },
  'metrics + access log (file)': {
    'servicecomb.accessLog.enabled': true,
    'servicecomb.accessLog.file': join(dir, 'access.log'),
  },
  'everything off (metrics disabled)': { 'servicecomb.metrics.enabled': false },
};

const body = Buffer.from('hello world');
const outcome: Outcome = {
  status: 200,
  headers: ['content-type', 'text/plain', 'content-length', '11'],
  body,
};
const next: Next = async (call) => {
  call.target = { key: 's1@127.0.0.1:8080', host: '127.0.0.1', port: 8080 };
  return outcome;
};

function call(i: number): CallContext {
  return {
    direction: 'outbound',
    kind: 'request',
    method: 'GET',
    service: `server${i & 3}`,
    app: undefined,
    path: '/hello?x=1',
    headers: ['host', 'server1', 'accept', '*/*', 'user-agent', 'bench', 'x-forwarded-for', '127.0.0.1'],
    body: null,
    hasBody: false,
    source: { service: 'client', address: undefined },
    requestedPort: undefined,
    target: undefined,
    endpoint: undefined,
    exclude: undefined,
    attempt: 1,
    timings: { startMs: performance.now() },
    signal: undefined as unknown as CallContext['signal'],
    head: undefined,
  };
}

async function run(step: Step | undefined): Promise<number> {
  let total = 0n;
  for (let c = 0; c < N; c += 1000) {
    const t0 = process.hrtime.bigint();
    for (let i = c; i < c + 1000; i++) {
      const x = call(i);
      await (step === undefined ? next(x) : step(x, next));
    }
    total += process.hrtime.bigint() - t0;
    await new Promise((r) => setImmediate(r)); // let exporters and the access log drain
  }
  return Number(total) / N;
}

const telemetries: Telemetry[] = [];
const steps: Record<string, Step | undefined> = {};
for (const [name, flat] of Object.entries(VARIANTS)) {
  if (flat === undefined) {
    steps[name] = undefined;
    continue;
  }
  const c = testSidecarConfig({ confDir: dir, flat });
  const t = createTelemetry({ config: c, processMetrics: false, sender: async () => {} });
  telemetries.push(t);
  steps[name] = t.steps(c).outbound[0];
}
const results: Record<string, number[]> = Object.fromEntries(Object.keys(VARIANTS).map((k) => [k, []]));
for (const name of Object.keys(VARIANTS)) await run(steps[name]); // warm up
for (let r = 0; r < ROUNDS; r++) {
  for (const name of Object.keys(VARIANTS)) results[name]!.push(await run(steps[name]));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const base = median(results['no telemetry (bare chain)']!);
for (const [name, xs] of Object.entries(results)) {
  const m = median(xs);
  console.log(`${name.padEnd(36)} ${m.toFixed(0).padStart(6)} ns/request  (+${(m - base).toFixed(0)} ns)`);
}
for (const t of telemetries) await t.close();
rmSync(dir, { recursive: true, force: true });
