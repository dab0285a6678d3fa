/**
 * @module bench/run
 * `npm run bench [-- --smoke] [--scenarios a,b] [--rounds N] [--seconds S] [--features |
 * --no-features]`: the data-plane
 * benchmark. Installs missing peers, starts the backend (nginx, core 0) and every scenario
 * (proxies on core 1) on loopback ports, warms them up, then runs rounds of short interleaved
 * slices (every measure over every scenario in turn), stops everything, prints the tables and
 * writes the raw slices plus the summary to bench/results/bench-<date>.json (and latest.json).
 * The one-hop telemetry variants (issue 6) run in the same rotation on two measures only
 * (bench/mesher/telemetry.ts); `--features` runs just them, `--no-features` leaves them out.
 * `--scaling` runs the scaling curve instead (bench/lib/scaling-run.ts). `--report FILE` re-renders the tables of a saved run without measuring.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from './lib/args.ts';
import { ensureTools } from './lib/install.ts';
import { describeMachine, machineInfo } from './lib/machine.ts';
import { ROOT } from './lib/mesher-proc.ts';
import { buildPlan, runSlice, type SliceRecord } from './lib/plan.ts';
import { peakRssMb, processTree } from './lib/proc-stats.ts';
import { Supervisor } from './lib/procs.ts';
import { runScaling, scalingTable } from './lib/scaling-run.ts';
import { FEATURE_MEASURES } from './lib/scenario.ts';
import { startAll, verify } from './lib/setup.ts';
import { rotate } from './lib/stats.ts';
import { renderRun, type SavedRun } from './report/render.ts';
import { RATE_1000, summarise } from './report/summary.ts';
import { checkTargets } from './report/targets.ts';

const log = (s: string): void => {
  process.stderr.write(`bench: ${s}\n`);
};

async function main(): Promise<number> {
  const reportAt = process.argv.indexOf('--report');
  if (reportAt >= 0) {
    // re-render a saved run: `npm run bench -- --report bench/results/latest.json`
    const saved = JSON.parse(readFileSync(process.argv[reportAt + 1] ?? '', 'utf8')) as SavedRun;
    process.stdout.write(`${renderRun({ ...saved, targets: checkTargets(saved.summary) })}\n`);
    return 0;
  }
  const args = parseArgs(process.argv.slice(2));
  const cores = { load: '0', proxy: '1' };
  // its own directory: .bench-tmp/ also holds bench:registry's and bench/hot-path's files
  const tmp = join(ROOT, '.bench-tmp', 'data-plane');
  const stale = new Supervisor(tmp);
  if (stale.reapStale() > 0) log('killed processes left by an earlier run');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const sup = new Supervisor(tmp);
  sup.hookExit();
  if (!sup.taskset) log('taskset not found: processes are not pinned');

  const machine = machineInfo();
  log(describeMachine(machine));
  if (machine.nproc < 2) {
    cores.proxy = '0';
    log('only one core: proxies share core 0 with the load generator');
  }
  const tools = ensureTools(['nginx', 'haproxy', 'wrk', 'h2load'], log);
  const plan = buildPlan(args.smoke).filter(
    (m) =>
      (m.kind === 'wrk' ? tools.has('wrk') : tools.has('h2load')) &&
      (!args.features || (FEATURE_MEASURES as readonly string[]).includes(m.id)),
  );
  const timing = { wrkSeconds: args.seconds, rateSeconds: args.seconds, loadCpu: cores.load };
  const loadTools = { wrk: tools.get('wrk'), h2load: tools.get('h2load') };

  if (args.scaling) {
    try {
      const { rows, slices } = await runScaling(sup, tools, args, cores, log);
      const table = scalingTable(rows);
      process.stdout.write(
        `## Scaling curve (mesher one hop)\n\n${describeMachine(machine)}\n${args.rounds} round(s), ${args.seconds} s per slice; absolute latency, 1 KB, open loop at 1,000 rps.\n\n${table}\n`,
      );
      const dir = join(ROOT, 'bench/results');
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'scaling-latest.json'),
        JSON.stringify({ machine, args, rows, slices }, null, 1),
      );
      return 0;
    } finally {
      await sup.stopAll();
    }
  }
  const setup = await startAll(sup, tools, args.scenarios, cores, log);
  try {
    for (const sc of [...setup.scenarios]) {
      const bad = await verify(sc);
      if (bad) {
        log(`SKIP ${sc.label}: response check failed: ${bad}`);
        setup.skipped.push({ id: sc.id, label: sc.label, reason: `response check failed: ${bad}` });
        setup.scenarios.splice(setup.scenarios.indexOf(sc), 1);
      }
    }
    const scenarios = setup.scenarios;
    // A scenario's measures (the telemetry variants run a subset); in --smoke they run only the
    // 1,000 rps slice, which keeps CI's smoke run near 1.5 minutes with every variant started.
    const runs = (sc: (typeof scenarios)[number], id: string): boolean =>
      !sc.measures || (sc.measures.includes(id) && (!args.smoke || id === RATE_1000));

    // Warm-up (JIT, connection pools): 64 connections, 1 KB, not recorded.
    const warm = plan.find((m) => m.kind === 'wrk');
    if (warm) {
      for (const sc of scenarios.filter((s) => runs(s, warm.id))) {
        await runSlice(sup, loadTools, { ...timing, wrkSeconds: args.smoke ? 1 : 2 }, sc, warm, -1);
      }
    }

    const slices: SliceRecord[] = [];
    const started = Date.now();
    for (let round = 0; round < args.rounds; round++) {
      for (const m of plan) {
        for (const sc of rotate(scenarios, round)) {
          if (sup.stopping) return 130;
          if (!runs(sc, m.id)) continue;
          const rec = await runSlice(sup, loadTools, timing, sc, m, round);
          slices.push(rec);
          const detail = rec.error
            ? `FAILED ${rec.error}`
            : `${rec.rps.toFixed(0)} rps` +
              (rec.p99 !== undefined ? ` p50 ${rec.p50?.toFixed(2)} p99 ${rec.p99.toFixed(2)} ms` : '') +
              (rec.errors ? ` ${rec.errors} errors` : '');
          log(`round ${round + 1}/${args.rounds} ${m.id} ${sc.label}: ${detail}`);
        }
      }
    }
    const peak: Record<string, number> = {};
    for (const sc of scenarios) {
      const pids = sc.proxyPids().flatMap((p) => processTree(p));
      peak[sc.id] = pids.length ? peakRssMb(pids) : Number.NaN;
    }
    const summary = summarise(scenarios, plan, slices, peak);

    const report: SavedRun = {
      machine,
      args,
      cores,
      plan,
      skipped: setup.skipped,
      measuringSeconds: Math.round((Date.now() - started) / 1000),
      loadAvgEnd: Number(loadavg()[0]!.toFixed(2)),
      summary,
      targets: checkTargets(summary),
      slices,
      telemetryNotes: await setup.telemetryNotes(),
    };
    const out = renderRun(report);
    process.stdout.write(`${out}\n`);

    const resultsDir = join(ROOT, 'bench/results');
    mkdirSync(resultsDir, { recursive: true });
    const json = JSON.stringify(report, null, 1);
    const file = join(
      resultsDir,
      `bench-${machine.date.replace(/[:.]/g, '-')}${args.smoke ? '-smoke' : ''}.json`,
    );
    writeFileSync(file, json);
    writeFileSync(join(resultsDir, args.smoke ? 'latest-smoke.json' : 'latest.json'), json);
    log(`results written to ${file}`);
    // Exit 1 (CI's smoke check) when mesher itself could not run or a scenario failed every
    // slice; a peer skipped because apt could not install it only prints its line.
    const meshSkipped = setup.skipped.filter((s) => s.id.startsWith('mesher'));
    const dead = scenarios.filter((sc) => slices.every((s) => s.scenario !== sc.id || s.error));
    for (const s of meshSkipped) log(`FAIL: ${s.label} did not run: ${s.reason}`);
    for (const sc of dead) log(`FAIL: every slice of ${sc.label} failed`);
    return scenarios.length > 1 && meshSkipped.length === 0 && dead.length === 0 ? 0 : 1;
  } finally {
    await setup.close();
    await sup.stopAll();
    rmSync(join(tmp, 'pids'), { force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
