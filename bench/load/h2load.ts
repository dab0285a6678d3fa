/**
 * @module bench/load/h2load
 * Open-loop latency at a fixed rate: many single-connection `h2load --h1 --rps` processes (10 rps
 * each, so 1,000 rps is 100 connections), started at random moments so their sends interleave
 * like independent clients instead of arriving in bursts. Each process writes a per-request log
 * (start µs, status, latency µs, written unbuffered); the group is stopped a fixed time after
 * the last process started, the logs are merged, and only requests started while every process
 * was sending count. Failed requests are not logged by h2load: they show as a lower achieved rate.
 *
 * h2load cannot send an absolute-form request target, so this needs a target whose path is
 * origin-form (a mesh destination goes in the Host header through `:authority`).
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Supervisor, sleep } from '../lib/procs.ts';
import type { Target } from '../lib/scenario.ts';
import { percentile } from '../lib/stats.ts';

/**
 * h2load's rps timer fires every max(0.1 s, 1/rps) and sends what accumulated since the last tick
 * back to back, so above 10 rps a connection sends bursts; 10 rps per process keeps one request
 * per tick (1,000 rps = 100 processes).
 */
export const RPS_PER_CONNECTION = 10;

export interface RateResult {
  readonly rate: number;
  readonly requests: number;
  /** Every logged request, warm-up included (what the proxy's CPU time covers). */
  readonly totalRequests: number;
  readonly errors: number;
  /** Achieved rate over the measured window. */
  readonly achievedRps: number;
  /** Latency percentiles in milliseconds. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

let seq = 0;

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export async function runFixedRate(
  sup: Supervisor,
  bin: string,
  cpu: string,
  target: Target,
  rate: number,
  seconds: number,
): Promise<RateResult> {
  if (!target.path.startsWith('/')) throw new Error('h2load needs an origin-form target');
  const n = Math.max(1, Math.round(rate / RPS_PER_CONNECTION));
  const perConn = rate / n;
  const base = join(sup.tmpDir, `h2load-${process.pid}-${seq++}`);
  // Each process would run up to a minute; the whole group is stopped `seconds` after the last one
  // started (h2load writes its log unbuffered, so nothing is lost).
  const common = ['--h1', '-c1', '-t1', `--rps=${perConn}`, `-D${seconds + 60}`];
  if (target.host) common.push('-H', `:authority: ${target.host}`);
  // One pinned shell forks them all (children inherit the affinity): much faster than spawning
  // each from Node, and the fork/exec gaps spread the processes' send phases.
  const lines = Array.from({ length: n }, (_, i) =>
    [bin, ...common, `--log-file=${base}-${i}.log`, `${target.origin}${target.path}`]
      .map(shellQuote)
      .join(' ')
      .concat(` > ${shellQuote(`${base}-${i}.out`)} 2>&1 &`),
  );
  const script = `${lines.join('\n')}\necho all-forked\nwait\n`;
  const shell = sup.spawn('h2load', '/bin/sh', ['-c', script], { cpu });
  // wait until every process has logged a request (or 20 s: a process that never does counts
  // as an error), then measure for `seconds`
  const upDeadline = Date.now() + 20_000;
  let up = 0;
  while (Date.now() < upDeadline && shell.child.exitCode === null) {
    up = 0;
    for (let i = 0; i < n; i++) if (fileSize(`${base}-${i}.log`) > 0) up++;
    if (up === n) break;
    await sleep(50);
  }
  await sleep(300 + seconds * 1000);
  await sup.stop(shell);

  const perProc: { start: number; status: number; us: number }[][] = [];
  let errors = 0;
  for (let i = 0; i < n; i++) {
    const recs: { start: number; status: number; us: number }[] = [];
    try {
      for (const line of readFileSync(`${base}-${i}.log`, 'utf8').split('\n')) {
        const [start, status, us] = line.split('\t');
        if (start && status && us)
          recs.push({ start: Number(start), status: Number(status), us: Number(us) });
      }
    } catch {
      errors++;
    }
    rmSync(`${base}-${i}.log`, { force: true });
    rmSync(`${base}-${i}.out`, { force: true });
    if (recs.length === 0) errors++;
    else perProc.push(recs);
  }
  if (perProc.length === 0) throw new Error(`no h2load process completed a request (${errors} errors)`);
  // measured window, from the logs themselves: from 0.2 s after the last process sent its first
  // request until the first process sent its last one, so every process is sending throughout
  const fromUs = Math.max(...perProc.map((p) => p[0]!.start)) + 200_000;
  const toUs = Math.min(...perProc.map((p) => p[p.length - 1]!.start));
  const lat: number[] = [];
  let all = 0;
  for (const recs of perProc) {
    for (const rec of recs) {
      all++;
      if (rec.start < fromUs || rec.start > toUs) continue;
      if (rec.status < 200 || rec.status >= 400) errors++;
      lat.push(rec.us / 1000);
    }
  }
  lat.sort((a, b) => a - b);
  const windowS = Math.max(0.001, (toUs - fromUs) / 1e6);
  return {
    rate,
    requests: lat.length,
    totalRequests: all,
    errors,
    achievedRps: lat.length / windowS,
    p50: percentile(lat, 0.5),
    p90: percentile(lat, 0.9),
    p99: percentile(lat, 0.99),
    max: lat.length ? lat[lat.length - 1]! : Number.NaN,
  };
}
