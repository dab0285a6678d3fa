/**
 * @module bench/registry/metrics-cost
 * A rough measurement of what the metrics cost on the registry's hottest path, the HTTP
 * heartbeat (not run by tests). It alternates rounds of the same load against a registry child
 * process with metrics on and off (`startRegistry({ metrics: false })`), and reports heartbeats
 * per second and the registry's CPU per 1,000 heartbeats for each, plus the time to render one
 * scrape with `instances` instances registered, and — steadier on a busy machine — the ns the
 * instrumentation adds to one heartbeat in a tight loop (observer start/finish + metered keepAlive).
 *
 * Usage: node --import tsx bench/registry/metrics-cost.ts [--rounds 3] [--seconds 5]
 *        [--instances 1000] [--connections 32]
 * The registry child is pinned to core 1 when `taskset` exists (run the bench itself under
 * `taskset -c 0`). With MESHER_BENCH_PROFILE=DIR each registry child writes a CPU profile there
 * (`node --import tsx bench/profile-summary.ts FILE` shows the metrics modules' share).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Pool } from 'undici';

const MS = '/v4/default/registry/microservices';

interface Args {
  rounds: number;
  seconds: number;
  instances: number;
  connections: number;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { rounds: 3, seconds: 5, instances: 1000, connections: 32 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]!.replace(/^--/, '') as keyof Args;
    const v = Number(argv[i + 1]);
    if (!(key in a) || !Number.isInteger(v) || v < 1)
      throw new Error(`bad flag ${argv[i]} ${argv[i + 1] ?? ''}`);
    a[key] = v;
  }
  return a;
}

/** Child mode: start a registry, print its URL, serve until stdin closes. */
async function serve(metrics: boolean): Promise<void> {
  const { startRegistry } = await import('../../src/registry/main.ts');
  const r = await startRegistry({ port: 0, dataDir: null, ...(metrics ? {} : { metrics: false }) });
  process.stdout.write(`${r.url}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void r.close().then(() => process.exit(0)));
}

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100; // utime + stime, clock ticks of 10 ms
}

async function startChild(metrics: boolean): Promise<{ child: ChildProcess; url: string }> {
  const prof = process.env.MESHER_BENCH_PROFILE;
  const args = [
    ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []),
    ...['--import', 'tsx', import.meta.filename, '--serve', metrics ? 'on' : 'off'],
  ];
  const pinned = existsSync('/usr/bin/taskset');
  const child = pinned
    ? spawn('taskset', ['-c', '1', process.execPath, ...args], {
        stdio: ['pipe', 'pipe', 'inherit'],
        env: { ...process.env, MESHER_LOG_LEVEL: 'warn' },
      })
    : spawn(process.execPath, args, {
        stdio: ['pipe', 'pipe', 'inherit'],
        env: { ...process.env, MESHER_LOG_LEVEL: 'warn' },
      });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl).trim());
    });
    child.once('exit', (code) => reject(new Error(`registry child exited with ${code}`)));
  });
  return { child, url };
}

async function call(pool: Pool, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) {
  const r = await pool.request({ method, path, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.body.text();
  if (r.statusCode !== 200) throw new Error(`${method} ${path}: ${r.statusCode} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

interface Round {
  metrics: boolean;
  perSec: number;
  cpuMsPer1k: number;
  scrapeMs?: number;
}

async function round(metrics: boolean, a: Args): Promise<Round> {
  const { child, url } = await startChild(metrics);
  const pool = new Pool(url, { connections: a.connections, pipelining: 1 });
  try {
    const sid = (
      await call(pool, 'POST', MS, { service: { serviceName: 'bench', appId: 'b', version: '1.0.0' } })
    ).serviceId as string;
    const beats: string[] = [];
    for (let i = 0; i < a.instances; i++) {
      const r = await call(pool, 'POST', `${MS}/${sid}/instances`, {
        instance: { hostName: `h${i}`, endpoints: [`rest://127.0.0.1:${10000 + i}`] },
      });
      beats.push(`${MS}/${sid}/instances/${r.instanceId as string}/heartbeat`);
    }
    const pid = child.pid!;
    const deadline = Date.now() + a.seconds * 1000;
    const cpu0 = cpuSeconds(pid);
    let done = 0;
    const worker = async (w: number) => {
      for (let i = w; Date.now() < deadline; i += a.connections) {
        const r = await pool.request({ method: 'PUT', path: beats[i % beats.length]! });
        await r.body.dump();
        if (r.statusCode !== 200) throw new Error(`heartbeat: ${r.statusCode}`);
        done++;
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: a.connections }, (_, w) => worker(w)));
    const wall = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    let scrapeMs: number | undefined;
    if (metrics) {
      const s0 = performance.now();
      const r = await pool.request({ method: 'GET', path: '/metrics' });
      await r.body.text();
      scrapeMs = performance.now() - s0;
    }
    return { metrics, perSec: done / wall, cpuMsPer1k: (cpu * 1000 * 1000) / done, scrapeMs };
  } finally {
    await pool.close();
    child.stdin!.end();
    await new Promise((r) => child.once('exit', r));
  }
}

/** ns per heartbeat of the instrumentation alone: observer start/finish + the metered keepAlive. */
async function instrumentationNs(): Promise<number> {
  const { HttpMetrics } = await import('../../src/registry/metrics/http-metrics.ts');
  const { MeteredStore } = await import('../../src/registry/metrics/store-metrics.ts');
  const { EmbeddedStore } = await import('../../src/registry/storage/embedded-store.ts');
  const { systemClock } = await import('../../src/shared/clock.ts');
  const inner = await EmbeddedStore.open({ dataDir: null, clock: systemClock });
  const lease = await inner.grantLease(60_000);
  const store = new MeteredStore(inner, 'b_');
  const http = new HttpMetrics('b_');
  const route = { method: 'PUT' as const, pattern: '/v4/:project/registry/x', handler: () => undefined };
  http.bindRoutes([route]);
  const run = (n: number, metered: boolean) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      if (metered) {
        const t = http.started();
        store.keepAlive(lease);
        http.finished(route, 'PUT', 200, t);
      } else inner.keepAlive(lease);
    }
    return Number(process.hrtime.bigint() - t0) / n;
  };
  run(200_000, true);
  run(200_000, false);
  const on = Math.min(run(1_000_000, true), run(1_000_000, true));
  const off = Math.min(run(1_000_000, false), run(1_000_000, false));
  await inner.close();
  return on - off;
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--serve');
  if (i >= 0) return serve(process.argv[i + 1] === 'on');
  const a = parseArgs(process.argv.slice(2));
  const rows: Round[] = [];
  for (let r = 0; r < a.rounds; r++)
    for (const metrics of r % 2 === 0 ? [false, true] : [true, false]) {
      const res = await round(metrics, a);
      rows.push(res);
      process.stderr.write(
        `metrics ${metrics ? 'on ' : 'off'}: ${res.perSec.toFixed(0)} heartbeats/s, ${res.cpuMsPer1k.toFixed(1)} ms CPU per 1k${res.scrapeMs !== undefined ? `, scrape ${res.scrapeMs.toFixed(1)} ms` : ''}\n`,
      );
    }
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const on = rows.filter((r) => r.metrics);
  const off = rows.filter((r) => !r.metrics);
  const rps = [med(off.map((r) => r.perSec)), med(on.map((r) => r.perSec))];
  const cpu = [med(off.map((r) => r.cpuMsPer1k)), med(on.map((r) => r.cpuMsPer1k))];
  process.stdout.write(
    `${JSON.stringify({
      heartbeatsPerSec: {
        off: Math.round(rps[0]!),
        on: Math.round(rps[1]!),
        change: `${(((rps[1]! - rps[0]!) / rps[0]!) * 100).toFixed(1)}%`,
      },
      cpuMsPer1k: {
        off: +cpu[0]!.toFixed(1),
        on: +cpu[1]!.toFixed(1),
        change: `${(((cpu[1]! - cpu[0]!) / cpu[0]!) * 100).toFixed(1)}%`,
      },
      instrumentationNsPerHeartbeat: Math.round(await instrumentationNs()),
      args: a,
    })}\n`,
  );
}

await main();
