/**
 * @module bench/registry
 * `npm run bench:registry [-- --smoke] [--instances N] [--rss-instances N] [--seconds S]`:
 * starts the built registry (`node dist/cli/main.js registry --listen 127.0.0.1:0 --data-dir
 * <tmp>`, durable, pinned to core 1) and drives it over loopback from worker threads pinned to
 * core 0 (undici keep-alive pools): registrations/s while registering N instances (1,000
 * services), find p50/p99 at a fixed open-loop rate plus max finds/s, heartbeats/s,
 * watch-event delay, and RSS at N and at --rss-instances. Prints a table against the issue's
 * targets and writes bench/results/registry-<date>.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeMachine, machineInfo } from './lib/machine.ts';
import { ROOT, startRegistry } from './lib/mesher-proc.ts';
import { cpuSeconds, peakRssMb, processTree, rssMb } from './lib/proc-stats.ts';
import { Supervisor, sleep } from './lib/procs.ts';
import { ScClient } from './lib/sc-client.ts';
import { percentile } from './lib/stats.ts';
import type { JobResult } from './registry/jobs.ts';
import { type RegistryFigures, registryTable } from './registry/report.ts';
import { measureWatchDelay } from './registry/watch-delay.ts';
import { splitRange, WorkerSet } from './registry/workers.ts';

const log = (s: string): void => {
  process.stderr.write(`bench:registry: ${s}\n`);
};

interface Args {
  smoke: boolean;
  instances: number;
  rssInstances: number;
  seconds: number;
  workers: number;
}

function parseArgs(argv: readonly string[]): Args {
  const smoke = argv.includes('--smoke');
  const a: Args = {
    smoke,
    instances: smoke ? 2000 : 10_000,
    rssInstances: smoke ? 5000 : 100_000,
    seconds: smoke ? 2 : 5,
    workers: 2,
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i]!;
    if (f === '--smoke') continue;
    const key = {
      '--instances': 'instances',
      '--rss-instances': 'rssInstances',
      '--seconds': 'seconds',
      '--workers': 'workers',
    }[f] as keyof Args | undefined;
    const v = Number(argv[++i]);
    if (!key || !Number.isInteger(v) || v < 1) throw new Error(`bad flag ${f} ${argv[i] ?? ''}`);
    (a as unknown as Record<string, number>)[key] = v;
  }
  if (a.rssInstances < a.instances) a.rssInstances = a.instances;
  return a;
}

const SERVICES = 1000;
/** Open-loop find rates: a light load (the service time) and a busy one. */
const FIND_RATES = [200, 1000];

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const tmp = join(ROOT, '.bench-tmp', 'registry-bench');
  new Supervisor(tmp).reapStale();
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'data'), { recursive: true });
  const sup = new Supervisor(tmp);
  sup.hookExit();
  const machine = machineInfo();
  log(describeMachine(machine));
  const clientCpu = '0';
  const registryCpu = machine.nproc > 1 ? '1' : '0';
  try {
    // the bench itself (main thread and workers) stays on the client core
    execFileSync('taskset', ['-a', '-p', '-c', clientCpu, String(process.pid)], { stdio: 'ignore' });
  } catch {
    log('could not pin the client to a core');
  }
  const { origin, proc } = await startRegistry(sup, registryCpu, join(tmp, 'data'));
  log(`registry at ${origin} (pid ${proc.pid}, core ${registryCpu}), clients on core ${clientCpu}`);
  const regPids = () => processTree(proc.pid);
  const client = new ScClient(origin, { connections: 16 });
  const workers = new WorkerSet(args.workers);
  const fig: Partial<RegistryFigures> = {};
  try {
    /** Run a load phase and report CPU used per wall second by the registry and by this client. */
    const phase = async <T>(fn: () => Promise<T>) => {
      const r0 = cpuSeconds(regPids());
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const result = await fn();
      const wall = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      return {
        result,
        cpu: { registry: (cpuSeconds(regPids()) - r0) / wall, client: (c.user + c.system) / 1e6 / wall },
      };
    };
    const services = await createServices(client, SERVICES);
    const serviceIds = services.map((s) => s.id);

    // registrations/s, up to args.instances
    let instances: [string, string][] = [];
    const regPhase = await phase(() => register(workers, origin, serviceIds, 0, args.instances));
    const reg = regPhase.result;
    instances = instances.concat(reg.instances);
    fig.registrationsPerS = reg.perS;
    fig.registrationErrors = reg.failed;
    fig.registrationCpu = regPhase.cpu;
    log(
      `registered ${args.instances} instances: ${reg.perS.toFixed(0)}/s (${reg.failed} failed), CPU registry ${pct(regPhase.cpu.registry)} client ${pct(regPhase.cpu.client)}`,
    );
    await sleep(1000);
    fig.rssAtN = rssMb(regPids());

    // find: dependency recorded first (one find per service), then open loop and closed loop
    const consumerId = await client.createService('bench-find-consumer');
    for (const s of services) await client.find(s.name, consumerId);
    const names = services.map((s) => s.name);
    const findJob = (rate: number, concurrency: number) => ({
      kind: 'find' as const,
      origin,
      serviceNames: names,
      consumerId,
      seconds: args.seconds,
      connections: 16,
      rate,
      concurrency,
    });
    for (const rate of FIND_RATES) {
      const open = await workers.runAll(
        Array.from({ length: args.workers }, () => findJob(rate / args.workers, 0)),
      );
      const lat = open.flatMap((r) => r.latencies ?? []).sort((a, b) => a - b);
      const f = { rate, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), errors: sum(open, 'failed') };
      fig.finds = [...(fig.finds ?? []), f];
      log(`find at ${rate}/s: p50 ${f.p50.toFixed(2)} ms p99 ${f.p99.toFixed(2)} ms (${f.errors} failed)`);
    }
    const closed = await phase(() =>
      workers.runAll(Array.from({ length: args.workers }, () => findJob(0, 32))),
    );
    fig.findsPerS = perSecond(closed.result);
    fig.findCpu = closed.cpu;
    log(
      `finds closed loop: ${fig.findsPerS.toFixed(0)}/s, CPU registry ${pct(closed.cpu.registry)} client ${pct(closed.cpu.client)}`,
    );

    // heartbeats/s with concurrent keep-alive clients (pipelined: PUT is idempotent)
    const hb = await phase(() =>
      workers.runAll(
        Array.from({ length: args.workers }, () => ({
          kind: 'heartbeat' as const,
          origin,
          instances,
          seconds: args.seconds,
          connections: 16,
          concurrency: 256,
          pipelining: 16,
        })),
      ),
    );
    fig.heartbeatsPerS = perSecond(hb.result);
    fig.heartbeatErrors = sum(hb.result, 'failed');
    fig.heartbeatCpu = hb.cpu;
    const hbErr = hb.result.find((r) => r.firstError)?.firstError;
    log(
      `heartbeats: ${fig.heartbeatsPerS.toFixed(0)}/s (${fig.heartbeatErrors} failed${hbErr ? `: ${hbErr}` : ''}), CPU registry ${pct(hb.cpu.registry)} client ${pct(hb.cpu.client)}`,
    );

    // watch-event delay
    const w = await measureWatchDelay(client, origin, args.smoke ? 60 : 300);
    const wd = [...w.delays].sort((a, b) => a - b);
    fig.watchP50 = percentile(wd, 0.5);
    fig.watchP99 = percentile(wd, 0.99);
    fig.watchMissed = w.missed;
    log(
      `watch delay: p50 ${fig.watchP50.toFixed(2)} ms p99 ${fig.watchP99.toFixed(2)} ms (${w.missed} missed)`,
    );

    await sleep(1000);
    fig.rssAfterLoad = rssMb(regPids());
    log(`RSS after the find/heartbeat/watch phases: ${fig.rssAfterLoad.toFixed(0)} MB`);

    // grow to rssInstances and read RSS again
    const more = await register(workers, origin, serviceIds, args.instances, args.rssInstances);
    fig.registrationErrors += more.failed;
    await sleep(1000);
    fig.rssAtMax = rssMb(regPids());
    fig.peakRss = peakRssMb(regPids());
    log(`registered up to ${args.rssInstances}: RSS ${fig.rssAtMax.toFixed(0)} MB`);
  } finally {
    await workers.close();
    await client.close();
    await sup.stopAll();
  }
  const full = fig as RegistryFigures;
  const table = registryTable(full, args.instances, args.rssInstances);
  process.stdout.write(
    `## Registry benchmark${args.smoke ? ' (smoke)' : ''}\n\n${describeMachine(machine)}\nRegistry pinned to core ${registryCpu} with --data-dir (durable); ${args.workers} client worker threads on core ${clientCpu}; ${SERVICES} services; ${args.seconds} s per phase.\n\n${table}\n`,
  );
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const json = JSON.stringify({ machine, args, figures: full }, null, 1);
  writeFileSync(
    join(dir, `registry-${machine.date.replace(/[:.]/g, '-')}${args.smoke ? '-smoke' : ''}.json`),
    json,
  );
  writeFileSync(join(dir, args.smoke ? 'registry-latest-smoke.json' : 'registry-latest.json'), json);
  return 0;
}

async function createServices(client: ScClient, n: number): Promise<{ id: string; name: string }[]> {
  const out: { id: string; name: string }[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) {
        const i = next++;
        const name = `svc-${String(i).padStart(5, '0')}`;
        out[i] = { id: await client.createService(name), name };
      }
    }),
  );
  return out;
}

async function register(workers: WorkerSet, origin: string, serviceIds: string[], from: number, to: number) {
  const ranges = splitRange(from, to, workers.size);
  const t0 = performance.now();
  const res = await workers.runAll(
    ranges.map(([a, b]) => ({
      kind: 'register' as const,
      origin,
      serviceIds,
      from: a,
      to: b,
      connections: 16,
      concurrency: 32,
    })),
  );
  const secs = (performance.now() - t0) / 1000;
  const failed = sum(res, 'failed');
  if (failed > 0) log(`registration errors: ${failed} (${res.find((r) => r.firstError)?.firstError})`);
  return { perS: sum(res, 'ok') / secs, failed, instances: res.flatMap((r) => r.instances ?? []) };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(0)}%`;
}

function sum(rs: readonly JobResult[], k: 'ok' | 'failed'): number {
  return rs.reduce((a, r) => a + r[k], 0);
}

function perSecond(rs: readonly JobResult[]): number {
  return sum(rs, 'ok') / Math.max(...rs.map((r) => r.seconds));
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
