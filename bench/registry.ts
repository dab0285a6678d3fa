/**
 * @module bench/registry
 * `npm run bench:registry [-- --smoke] [--etcd] [--instances N] [--rss-instances N] [--seconds S]`:
 * the registry benchmark. Without `--etcd` it starts the built embedded registry (`node
 * dist/cli/main.js registry --listen 127.0.0.1:0 --data-dir <tmp>`, durable, pinned to core 1).
 * With `--etcd` it starts a 3-member etcd cluster on loopback (bench/lib/etcd.ts) and runs twice,
 * each time on a fresh cluster: 1 registry replica, then 3 replicas (`mesher registry --etcd
 * URL,URL,URL`, all pinned to core 1; etcd unpinned). Load comes from worker threads pinned to
 * core 0 (undici keep-alive pools, requests spread over the replicas); the phases are in
 * registry/phases.ts. Prints a table against the issues' targets and writes
 * bench/results/registry[-etcd]-<date>.json (and registry[-etcd]-latest.json).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEtcd } from './lib/etcd.ts';
import { ensureTools } from './lib/install.ts';
import { describeMachine, machineInfo } from './lib/machine.ts';
import { ROOT, startRegistry, startRegistryOn } from './lib/mesher-proc.ts';
import { Supervisor } from './lib/procs.ts';
import { runPhases, SERVICES } from './registry/phases.ts';
import { compareTable, type RegistryFigures, registryTable } from './registry/report.ts';
import { WorkerSet } from './registry/workers.ts';

const log = (s: string): void => {
  process.stderr.write(`bench:registry: ${s}\n`);
};

interface Args {
  smoke: boolean;
  etcd: boolean;
  instances: number;
  rssInstances: number;
  seconds: number;
  workers: number;
}

function parseArgs(argv: readonly string[]): Args {
  const smoke = argv.includes('--smoke');
  const a: Args = {
    smoke,
    etcd: argv.includes('--etcd'),
    instances: smoke ? 2000 : 10_000,
    rssInstances: smoke ? 5000 : 100_000,
    seconds: smoke ? 2 : 5,
    workers: 2,
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i]!;
    if (f === '--smoke' || f === '--etcd') continue;
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
  const phaseArgs = {
    instances: args.instances,
    rssInstances: args.rssInstances,
    seconds: args.seconds,
    watchChanges: args.smoke ? 60 : 300,
  };
  const workers = new WorkerSet(args.workers);
  const runs: { label: string; figures: RegistryFigures }[] = [];
  try {
    if (!args.etcd) {
      const { origin, proc } = await startRegistry(sup, registryCpu, join(tmp, 'data'));
      log(`registry at ${origin} (pid ${proc.pid}, core ${registryCpu}), clients on core ${clientCpu}`);
      const d = { origins: [origin], replicaPids: [proc.pid], storePids: [] };
      runs.push({ label: 'embedded', figures: await runPhases(d, workers, phaseArgs, log) });
    } else {
      const etcdBin = ensureTools(['etcd'], log).get('etcd');
      if (!etcdBin) throw new Error('etcd is not available (apt-get install etcd-server)');
      for (const replicas of [1, 3] as const) {
        const label = `${replicas} replica${replicas > 1 ? 's' : ''}, 3-member etcd`;
        const etcd = await startEtcd(sup, etcdBin, 3, join(tmp, `etcd-r${replicas}`));
        log(`${label}: etcd at ${etcd.endpoints.join(',')}`);
        const started = [];
        for (let i = 0; i < replicas; i++) {
          // each replica lists the members in a different order, so they do not all talk to one
          const eps = [...etcd.endpoints.slice(i % 3), ...etcd.endpoints.slice(0, i % 3)];
          started.push(await startRegistryOn(sup, registryCpu, ['--etcd', eps.join(',')], `registry-${i}`));
        }
        log(`${label}: replicas at ${started.map((s) => s.origin).join(' ')} (core ${registryCpu})`);
        const d = {
          origins: started.map((s) => s.origin),
          replicaPids: started.map((s) => s.proc.pid),
          storePids: etcd.pids(),
        };
        runs.push({ label, figures: await runPhases(d, workers, phaseArgs, log) });
        for (const s of started) await sup.stop(s.proc);
        for (const m of etcd.members) await sup.stop(m);
      }
    }
  } finally {
    await workers.close();
    await sup.stopAll();
  }
  const k = (x: number) => (x >= 1000 ? `${x / 1000}k` : String(x));
  const where = args.etcd
    ? `Registry replicas pinned to core ${registryCpu} (\`mesher registry --etcd\`, each on a fresh 3-member etcd cluster on loopback, etcd unpinned, fsync on); RSS rows are per replica (the largest).`
    : `Registry pinned to core ${registryCpu} with --data-dir (durable).`;
  const table =
    runs.length === 1
      ? registryTable(runs[0]!.figures, args.instances, args.rssInstances)
      : compareTable(runs, args.instances, args.rssInstances);
  process.stdout.write(
    `## Registry benchmark${args.etcd ? ' on etcd' : ''}${args.smoke ? ' (smoke)' : ''}\n\n${describeMachine(machine)}\n${where} ${args.workers} client worker threads on core ${clientCpu}; ${SERVICES} services; ${k(args.instances)} then ${k(args.rssInstances)} instances; ${args.seconds} s per phase.\n\n${table}\n`,
  );
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const json = JSON.stringify({ machine, args, runs, figures: runs[0]?.figures }, null, 1);
  const name = `registry${args.etcd ? '-etcd' : ''}`;
  writeFileSync(
    join(dir, `${name}-${machine.date.replace(/[:.]/g, '-')}${args.smoke ? '-smoke' : ''}.json`),
    json,
  );
  writeFileSync(join(dir, `${name}-latest${args.smoke ? '-smoke' : ''}.json`), json);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
