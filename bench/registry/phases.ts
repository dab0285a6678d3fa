/**
 * @module bench/registry/phases
 * The registry benchmark's load phases against one deployment (the embedded registry, or 1 or 3
 * replicas on etcd): registrations/s while registering N instances over 1,000 services, find
 * p50/p99 at fixed open-loop rates and max finds/s, heartbeats/s, watch-event delay (on the same
 * replica, and from one replica to another when there are several), and RSS at N and at
 * rssInstances. Clients spread their requests over every replica. Each open-loop find rate runs on
 * one worker after a 1 s unrecorded warm-up, on the pools the worker already holds, and reports the
 * driver's own send lateness next to the latency.
 */
import { cpuSeconds, peakRssMb, processTree, rssMb } from '../lib/proc-stats.ts';
import { sleep } from '../lib/procs.ts';
import { ScClient } from '../lib/sc-client.ts';
import { percentile } from '../lib/stats.ts';
import type { JobResult } from './jobs.ts';
import type { CpuShare, FindLatency, RegistryFigures, WatchDelay } from './report.ts';
import { measureWatchDelay } from './watch-delay.ts';
import { splitRange, type WorkerSet } from './workers.ts';

export interface Deployment {
  /** Registry replicas' origins (one for the embedded registry). */
  readonly origins: readonly string[];
  /** Root pid of each replica. */
  readonly replicaPids: readonly number[];
  /** Root pids of the store's processes (etcd members); empty when embedded. */
  readonly storePids: readonly number[];
}

export interface PhaseArgs {
  readonly instances: number;
  readonly rssInstances: number;
  readonly seconds: number;
  readonly watchChanges: number;
}

export const SERVICES = 1000;
/** Open-loop find rates: a light load (the service time) and a busy one. */
const FIND_RATES = [200, 1000];
/** Unrecorded seconds at each open-loop rate before its recorded window. */
const FIND_WARMUP_S = 1;

export async function runPhases(
  d: Deployment,
  workers: WorkerSet,
  args: PhaseArgs,
  log: (s: string) => void,
): Promise<RegistryFigures> {
  const origins = d.origins;
  const treeOf = (pids: readonly number[]) => pids.flatMap((p) => processTree(p));
  const regPids = () => treeOf(d.replicaPids);
  const storePids = () => treeOf(d.storePids);
  /** Largest replica RSS (each replica holds the whole cache, so this is the per-replica cost). */
  const replicaRss = () => Math.max(...d.replicaPids.map((p) => rssMb(processTree(p))));
  const storeRss = () => (d.storePids.length ? rssMb(storePids()) : undefined);
  const clients = origins.map((o) => new ScClient(o, { connections: 16 }));
  const client = clients[0]!;
  const fig: Partial<RegistryFigures> = { replicas: origins.length };
  try {
    /** Run a load phase and report CPU used per wall second by registry, store and this client. */
    const phase = async <T>(fn: () => Promise<T>): Promise<{ result: T; cpu: CpuShare }> => {
      const r0 = cpuSeconds(regPids());
      const s0 = cpuSeconds(storePids());
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const result = await fn();
      const wall = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      const cpu: CpuShare = {
        registry: (cpuSeconds(regPids()) - r0) / wall,
        client: (c.user + c.system) / 1e6 / wall,
      };
      if (d.storePids.length) cpu.store = (cpuSeconds(storePids()) - s0) / wall;
      return { result, cpu };
    };
    const services = await createServices(client, SERVICES);
    const serviceIds = services.map((s) => s.id);

    const regPhase = await phase(() => register(workers, origins, serviceIds, 0, args.instances, log));
    const reg = regPhase.result;
    const instances = reg.instances;
    fig.registrationsPerS = reg.perS;
    fig.registrationErrors = reg.failed;
    fig.registrationCpu = regPhase.cpu;
    log(
      `registered ${args.instances} instances: ${reg.perS.toFixed(0)}/s (${reg.failed} failed), CPU ${cpuText(regPhase.cpu)}`,
    );
    await sleep(1000);
    fig.rssAtN = replicaRss();
    fig.storeRssAtN = storeRss();

    // find: dependency recorded first (one find per service), then open loop and closed loop
    const consumerId = await client.createService('bench-find-consumer');
    for (const s of services) await client.find(s.name, consumerId);
    const names = services.map((s) => s.name);
    const findJob = (rate: number, concurrency: number) => ({
      kind: 'find' as const,
      origins,
      serviceNames: names,
      consumerId,
      seconds: args.seconds,
      warmupS: FIND_WARMUP_S,
      connections: 16,
      rate,
      concurrency,
    });
    for (const rate of FIND_RATES) {
      // one worker drives the whole rate: its setImmediate spin would compete with a second
      // spinning worker for the client core and make both late
      const [open] = await workers.runAll([findJob(rate, 0)]);
      const lat = [...(open!.latencies ?? [])].sort((a, b) => a - b);
      const late = [...(open!.sendLateness ?? [])].sort((a, b) => a - b);
      const fromSend = [...(open!.fromSend ?? [])].sort((a, b) => a - b);
      const f: FindLatency = {
        rate,
        p50: percentile(lat, 0.5),
        p99: percentile(lat, 0.99),
        errors: open!.failed,
        sendLatenessP99: percentile(late, 0.99),
        sendLatenessMax: late.at(-1) ?? Number.NaN,
        p99FromSend: percentile(fromSend, 0.99),
      };
      fig.finds = [...(fig.finds ?? []), f];
      log(
        `find at ${rate}/s: p50 ${f.p50.toFixed(2)} ms p99 ${f.p99.toFixed(2)} ms (${f.errors} failed); driver send lateness p99 ${f.sendLatenessP99!.toFixed(3)} ms max ${f.sendLatenessMax!.toFixed(2)} ms; p99 from actual send ${f.p99FromSend!.toFixed(2)} ms`,
      );
    }
    const closed = await phase(() =>
      workers.runAll(Array.from({ length: workers.size }, () => findJob(0, 32))),
    );
    fig.findsPerS = perSecond(closed.result);
    fig.findCpu = closed.cpu;
    log(`finds closed loop: ${fig.findsPerS.toFixed(0)}/s, CPU ${cpuText(closed.cpu)}`);

    // heartbeats/s with concurrent keep-alive clients (pipelined: PUT is idempotent)
    const hb = await phase(() =>
      workers.runAll(
        Array.from({ length: workers.size }, () => ({
          kind: 'heartbeat' as const,
          origins,
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
      `heartbeats: ${fig.heartbeatsPerS.toFixed(0)}/s (${fig.heartbeatErrors} failed${hbErr ? `: ${hbErr}` : ''}), CPU ${cpuText(hb.cpu)}`,
    );

    // watch-event delay: change and watch on the same replica, then across replicas
    const same = await watchDelay(client, client, args.watchChanges);
    fig.watchP50 = same.p50;
    fig.watchP99 = same.p99;
    fig.watchMissed = same.missed;
    log(`watch delay: p50 ${same.p50.toFixed(2)} ms p99 ${same.p99.toFixed(2)} ms (${same.missed} missed)`);
    if (clients.length > 1) {
      fig.crossWatch = await watchDelay(clients[0]!, clients[1]!, args.watchChanges);
      const x = fig.crossWatch;
      log(
        `watch delay replica 1 -> replica 2: p50 ${x.p50.toFixed(2)} ms p99 ${x.p99.toFixed(2)} ms (${x.missed} missed)`,
      );
    }

    await sleep(1000);
    fig.rssAfterLoad = replicaRss();
    log(`RSS after the find/heartbeat/watch phases: ${fig.rssAfterLoad.toFixed(0)} MB per replica`);

    // grow to rssInstances and read RSS again
    const more = await register(workers, origins, serviceIds, args.instances, args.rssInstances, log);
    fig.registrationErrors += more.failed;
    await sleep(1000);
    fig.rssAtMax = replicaRss();
    fig.peakRss = Math.max(...d.replicaPids.map((p) => peakRssMb(processTree(p))));
    fig.storeRssAtMax = storeRss();
    log(
      `registered up to ${args.rssInstances}: RSS ${fig.rssAtMax.toFixed(0)} MB per replica${fig.storeRssAtMax !== undefined ? `, etcd ${fig.storeRssAtMax.toFixed(0)} MB in all` : ''}`,
    );
    return fig as RegistryFigures;
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

async function watchDelay(change: ScClient, watch: ScClient, changes: number): Promise<WatchDelay> {
  const w = await measureWatchDelay(change, watch, changes);
  const wd = [...w.delays].sort((a, b) => a - b);
  return { p50: percentile(wd, 0.5), p99: percentile(wd, 0.99), missed: w.missed };
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

async function register(
  workers: WorkerSet,
  origins: readonly string[],
  serviceIds: string[],
  from: number,
  to: number,
  log: (s: string) => void,
) {
  const ranges = splitRange(from, to, workers.size);
  const t0 = performance.now();
  const res = await workers.runAll(
    ranges.map(([a, b]) => ({
      kind: 'register' as const,
      origins,
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

function cpuText(c: CpuShare): string {
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  return `registry ${pct(c.registry)}${c.store !== undefined ? ` etcd ${pct(c.store)}` : ''} client ${pct(c.client)}`;
}

function sum(rs: readonly JobResult[], k: 'ok' | 'failed'): number {
  return rs.reduce((a, r) => a + r[k], 0);
}

function perSecond(rs: readonly JobResult[]): number {
  return sum(rs, 'ok') / Math.max(...rs.map((r) => r.seconds));
}
