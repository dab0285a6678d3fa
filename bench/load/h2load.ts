/**
 * @module bench/load/h2load
 * Open-loop latency at a fixed rate: many single-connection `h2load --h1 --rps` processes (10 rps
 * each, so 1,000 rps is 100 connections), started at random moments so their sends interleave
 * like independent clients instead of arriving in bursts. Each process writes a per-request log
 * (start µs, status, latency µs); the logs are merged and only requests started inside a window
 * after every process is up count.
 *
 * h2load cannot send an absolute-form request target, so this needs a target whose path is
 * origin-form (a mesh destination goes in the Host header through `:authority`).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Supervisor } from '../lib/procs.ts';
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
  // every process runs long enough to cover the window that starts once all of them are up
  const duration = seconds + 1 + Math.ceil(n / 100);
  const logs: string[] = [];
  const runs: Promise<{ code: number | null; output: string }>[] = [];
  const firstSpawn = Date.now();
  for (let i = 0; i < n; i++) {
    const log = join(sup.tmpDir, `h2load-${process.pid}-${seq++}.log`);
    logs.push(log);
    const args = ['--h1', '-c1', '-t1', `--rps=${perConn}`, `-D${duration}`, `--log-file=${log}`];
    if (target.host) args.push('-H', `:authority: ${target.host}`);
    args.push(`${target.origin}${target.path}`);
    runs.push(sup.run('h2load', bin, args, { cpu, timeoutMs: (duration + 20) * 1000 }));
    // random gaps: the processes' send phases (their connect times mod 100 ms) spread out
    await new Promise((r) => setTimeout(r, Math.random() * 3));
  }
  // measured window: from 0.5 s after the last start until 0.3 s before the first one ends
  const fromUs = (Date.now() + 500) * 1000;
  const toUs = (firstSpawn + duration * 1000 - 300) * 1000;
  const outs = await Promise.all(runs);
  const failed = outs.find((o) => o.code !== 0);
  if (failed) throw new Error(`h2load exited ${failed.code}: ${failed.output.slice(-400)}`);
  const lat: number[] = [];
  let errors = 0;
  let all = 0;
  for (const log of logs) {
    let text = '';
    try {
      text = readFileSync(log, 'utf8');
    } catch {
      continue;
    }
    rmSync(log, { force: true });
    for (const line of text.split('\n')) {
      const [start, status, us] = line.split('\t');
      if (!start || !status || !us) continue;
      all++;
      const s = Number(start);
      if (s < fromUs || s > toUs) continue;
      const code = Number(status);
      if (code < 200 || code >= 400) errors++;
      lat.push(Number(us) / 1000);
    }
  }
  for (const o of outs) errors += parseH2loadErrors(o.output);
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

/** Requests h2load counted as errored or timed out (they never reach the log). */
export function parseH2loadErrors(out: string): number {
  const m = out.match(
    /requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, \d+ failed, (\d+) errored, (\d+) timeout/,
  );
  return m ? Number(m[1]) + Number(m[2]) : 0;
}
