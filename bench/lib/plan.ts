/**
 * @module bench/lib/plan
 * The measurement plan and the slice runner. A *measure* is one load shape (wrk max throughput
 * for a body size and connection count, or a fixed open-loop rate); a *slice* is one measure run
 * against one scenario for a few seconds. Rounds run every measure over every scenario in turn
 * (scenario order rotated each round), so slow drifts of the machine hit all scenarios alike.
 * Around each slice the proxy's CPU time is read, so CPU per 1,000 requests comes from the
 * same requests that were counted.
 */
import { runFixedRate } from '../load/h2load.ts';
import { runWrk } from '../load/wrk.ts';
import { cpuSeconds, processTree, rssMb } from './proc-stats.ts';
import type { Supervisor } from './procs.ts';
import type { BodySize, Scenario } from './scenario.ts';

export type Measure =
  | { readonly kind: 'wrk'; readonly id: string; readonly body: BodySize; readonly connections: number }
  | { readonly kind: 'rate'; readonly id: string; readonly body: BodySize; readonly rate: number };

/** Every measure; `smoke` keeps one of each kind (1 KB / 64 connections, 64 KB / 512, 1,000 rps). */
export function buildPlan(smoke = false): Measure[] {
  if (smoke) {
    return [
      { kind: 'wrk', id: 'max 1k c64', body: '1k', connections: 64 },
      { kind: 'wrk', id: 'max 64k c512', body: '64k', connections: 512 },
      { kind: 'rate', id: '1000 rps 1k', body: '1k', rate: 1000 },
    ];
  }
  const plan: Measure[] = [];
  for (const body of ['1k', '64k'] as const) {
    for (const connections of [64, 512]) {
      plan.push({ kind: 'wrk', id: `max ${body} c${connections}`, body, connections });
    }
  }
  for (const rate of [500, 1000, 2000]) plan.push({ kind: 'rate', id: `${rate} rps 1k`, body: '1k', rate });
  return plan;
}

export interface SliceRecord {
  readonly round: number;
  readonly scenario: string;
  readonly measure: string;
  readonly requests: number;
  readonly errors: number;
  /** Throughput (wrk) or achieved rate (fixed rate), requests/s. */
  readonly rps: number;
  /** Proxy CPU seconds per 1,000 requests (NaN for direct). */
  readonly cpuPer1k: number;
  /** Proxy RSS right after the slice, MB (NaN for direct). */
  readonly rssMb: number;
  /** Latency percentiles, ms (fixed-rate slices only). */
  readonly p50?: number;
  readonly p90?: number;
  readonly p99?: number;
  readonly max?: number;
  /** Set when the slice failed; the other numbers are then NaN. */
  readonly error?: string;
}

export interface Tools {
  readonly wrk?: string;
  readonly h2load?: string;
}

export interface SliceTiming {
  readonly wrkSeconds: number;
  readonly rateSeconds: number;
  /** Core list the load generator is pinned to. */
  readonly loadCpu: string;
}

export async function runSlice(
  sup: Supervisor,
  tools: Tools,
  timing: SliceTiming,
  sc: Scenario,
  m: Measure,
  round: number,
): Promise<SliceRecord> {
  const pids = sc.proxyPids().flatMap((p) => processTree(p));
  const cpu0 = cpuSeconds(pids);
  const base = { round, scenario: sc.id, measure: m.id };
  try {
    const target = sc.target(m.body);
    if (m.kind === 'wrk') {
      if (!tools.wrk) throw new Error('wrk missing');
      const r = await runWrk(sup, tools.wrk, timing.loadCpu, target, m.connections, timing.wrkSeconds);
      const cpu = cpuSeconds(pids) - cpu0;
      return {
        ...base,
        requests: r.requests,
        errors: r.errors,
        rps: r.rps,
        cpuPer1k: pids.length && r.requests ? (cpu / r.requests) * 1000 : Number.NaN,
        rssMb: pids.length ? rssMb(pids) : Number.NaN,
      };
    }
    if (!tools.h2load) throw new Error('h2load missing');
    const r = await runFixedRate(sup, tools.h2load, timing.loadCpu, target, m.rate, timing.rateSeconds);
    const cpu = cpuSeconds(pids) - cpu0;
    return {
      ...base,
      requests: r.requests,
      errors: r.errors,
      rps: r.achievedRps,
      cpuPer1k: pids.length && r.totalRequests ? (cpu / r.totalRequests) * 1000 : Number.NaN,
      rssMb: pids.length ? rssMb(pids) : Number.NaN,
      p50: r.p50,
      p90: r.p90,
      p99: r.p99,
      max: r.max,
    };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return {
      ...base,
      requests: 0,
      errors: 0,
      rps: Number.NaN,
      cpuPer1k: Number.NaN,
      rssMb: Number.NaN,
      error: msg.slice(0, 300),
    };
  }
}
