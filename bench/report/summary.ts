/**
 * @module bench/report/summary
 * Turns the raw slices of all rounds into one row per scenario: medians over rounds of
 * throughput, of latency *differences from direct taken within the same round*, of CPU per
 * 1,000 requests and of RSS; ratios against nginx and against the bare Node peer.
 */
import type { Measure, SliceRecord } from '../lib/plan.ts';
import { median } from '../lib/stats.ts';

export interface LatencyDelta {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export interface ScenarioSummary {
  readonly id: string;
  readonly label: string;
  /** Median requests/s per wrk measure id. */
  readonly throughput: Record<string, number>;
  /** Median latency added over direct (ms) per fixed-rate measure id; absolute for direct. */
  readonly latency: Record<string, LatencyDelta>;
  /** Median achieved rate per fixed-rate measure id. */
  readonly achieved: Record<string, number>;
  /** Proxy CPU seconds per 1,000 requests: at 1,000 rps and at max throughput (1 KB, 64 conns). */
  readonly cpuAt1000: number;
  readonly cpuAtMax: number;
  /** Proxy RSS (MB) right after the 1,000 rps slices (median), and peak (VmHWM) at the end. */
  readonly rssAt1000: number;
  readonly peakRss: number;
  readonly errors: number;
  readonly failedSlices: number;
  /** Throughput (1 KB, 64 connections) as a multiple of nginx's and of the bare Node peer's. */
  readonly vsNginx: number;
  readonly vsNode: number;
  /** CPU per 1,000 requests at 1,000 rps as a multiple of nginx's. */
  readonly cpuVsNginx: number;
}

export const HEADLINE = 'max 1k c64';
export const RATE_1000 = '1000 rps 1k';

export function summarise(
  scenarios: readonly { id: string; label: string }[],
  plan: readonly Measure[],
  slices: readonly SliceRecord[],
  peakRss: Record<string, number>,
): ScenarioSummary[] {
  const by = (sc: string, m: string) =>
    slices.filter((s) => s.scenario === sc && s.measure === m && !s.error);
  const rounds = [...new Set(slices.map((s) => s.round))];
  const base = scenarios.map((sc) => {
    const throughput: Record<string, number> = {};
    const latency: Record<string, LatencyDelta> = {};
    const achieved: Record<string, number> = {};
    for (const m of plan) {
      const recs = by(sc.id, m.id);
      if (m.kind === 'wrk') {
        throughput[m.id] = median(recs.map((r) => r.rps));
        continue;
      }
      achieved[m.id] = median(recs.map((r) => r.rps));
      const deltas = { p50: [] as number[], p90: [] as number[], p99: [] as number[], max: [] as number[] };
      for (const round of rounds) {
        const mine = recs.find((r) => r.round === round);
        const direct = sc.id === 'direct' ? undefined : by('direct', m.id).find((r) => r.round === round);
        if (!mine || (sc.id !== 'direct' && !direct)) continue;
        for (const k of ['p50', 'p90', 'p99', 'max'] as const) {
          deltas[k].push((mine[k] ?? Number.NaN) - (direct ? (direct[k] ?? Number.NaN) : 0));
        }
      }
      latency[m.id] = {
        p50: median(deltas.p50),
        p90: median(deltas.p90),
        p99: median(deltas.p99),
        max: median(deltas.max),
      };
    }
    const all = slices.filter((s) => s.scenario === sc.id);
    return {
      id: sc.id,
      label: sc.label,
      throughput,
      latency,
      achieved,
      cpuAt1000: median(by(sc.id, RATE_1000).map((r) => r.cpuPer1k)),
      cpuAtMax: median(by(sc.id, HEADLINE).map((r) => r.cpuPer1k)),
      rssAt1000: median(by(sc.id, RATE_1000).map((r) => r.rssMb)),
      peakRss: peakRss[sc.id] ?? Number.NaN,
      errors: all.reduce((a, s) => a + s.errors, 0),
      failedSlices: all.filter((s) => s.error).length,
    };
  });
  const nginx = base.find((s) => s.id === 'nginx');
  const node = base.find((s) => s.id === 'node-bare');
  return base.map((s) => ({
    ...s,
    vsNginx: nginx
      ? (s.throughput[HEADLINE] ?? Number.NaN) / (nginx.throughput[HEADLINE] ?? Number.NaN)
      : Number.NaN,
    vsNode: node
      ? (s.throughput[HEADLINE] ?? Number.NaN) / (node.throughput[HEADLINE] ?? Number.NaN)
      : Number.NaN,
    cpuVsNginx: nginx ? s.cpuAt1000 / nginx.cpuAt1000 : Number.NaN,
  }));
}
