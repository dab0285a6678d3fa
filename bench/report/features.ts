/**
 * @module bench/report/features
 * The telemetry-cost table (issue 6): every one-hop variant against `mesher1-off` (metrics,
 * tracing and access log all off) in the same run. Ratios and latency differences are taken
 * within each round (both slices ran minutes apart at most, in the same rotation) and the median
 * over rounds is shown, so a slow phase of the machine cancels out.
 */
import type { SliceRecord } from '../lib/plan.ts';
import type { ScenarioId } from '../lib/scenario.ts';
import { median } from '../lib/stats.ts';
import { HEADLINE, RATE_1000, type ScenarioSummary } from './summary.ts';
import { fmt, fmtDelta, markdownTable } from './table.ts';

export const FEATURE_BASELINE = 'mesher1-off';
/** Rows of the table, baseline first. */
const ROWS: readonly { id: ScenarioId; feature: string }[] = [
  { id: 'mesher1-off', feature: 'all off (baseline)' },
  { id: 'mesher1-metrics', feature: 'metrics (the default)' },
  { id: 'mesher1-trace1', feature: 'tracing, 1% sampled' },
  { id: 'mesher1-trace100', feature: 'tracing, 100% sampled + export' },
  { id: 'mesher1-alog', feature: 'access log (file)' },
];

export interface FeatureCost {
  readonly id: string;
  readonly feature: string;
  readonly rps: number;
  readonly rpsRatio: number;
  readonly cpuPer1k: number;
  readonly cpuRatio: number;
  /** Latency at 1,000 rps minus the baseline's in the same round (ms), median over rounds. */
  readonly p50Added: number;
  readonly p99Added: number;
  readonly rssMb: number;
}

/** Per-round value pairs (scenario, baseline) of one measure; the median of f over rounds. */
function perRound(
  slices: readonly SliceRecord[],
  id: string,
  measure: string,
  f: (mine: SliceRecord, base: SliceRecord) => number,
): number {
  const ok = (s: SliceRecord, sc: string) => s.scenario === sc && s.measure === measure && !s.error;
  const out: number[] = [];
  for (const mine of slices.filter((s) => ok(s, id))) {
    const base = slices.find((s) => ok(s, FEATURE_BASELINE) && s.round === mine.round);
    if (base) out.push(f(mine, base));
  }
  return median(out);
}

export function featureCosts(
  summary: readonly ScenarioSummary[],
  slices: readonly SliceRecord[],
): FeatureCost[] | undefined {
  if (!summary.some((s) => s.id === FEATURE_BASELINE)) return undefined;
  return ROWS.filter((r) => summary.some((s) => s.id === r.id)).map((r) => {
    const s = summary.find((x) => x.id === r.id)!;
    return {
      id: r.id,
      feature: r.feature,
      rps: s.throughput[HEADLINE] ?? Number.NaN,
      rpsRatio: perRound(slices, r.id, HEADLINE, (a, b) => a.rps / b.rps),
      cpuPer1k: s.cpuAt1000,
      cpuRatio: perRound(slices, r.id, RATE_1000, (a, b) => a.cpuPer1k / b.cpuPer1k),
      p50Added: perRound(slices, r.id, RATE_1000, (a, b) => (a.p50 ?? Number.NaN) - (b.p50 ?? Number.NaN)),
      p99Added: perRound(slices, r.id, RATE_1000, (a, b) => (a.p99 ?? Number.NaN) - (b.p99 ?? Number.NaN)),
      rssMb: s.rssAt1000,
    };
  });
}

export function featureTable(rows: readonly FeatureCost[]): string {
  const head = [
    'telemetry (one hop)',
    `rps ${HEADLINE.replace('max ', '')}`,
    '× off',
    'CPU s/1k req @1k rps',
    '× off',
    'p50 +ms vs off @1k',
    'p99 +ms vs off @1k',
    'RSS MB @1k rps',
  ];
  const body = rows.map((r) => {
    const base = r.id === FEATURE_BASELINE;
    return [
      `${r.feature} (${r.id})`,
      fmt(r.rps),
      base ? '1' : fmt(r.rpsRatio, 2),
      fmt(r.cpuPer1k, 3),
      base ? '1' : fmt(r.cpuRatio, 2),
      base ? '0' : fmtDelta(r.p50Added),
      base ? '0' : fmtDelta(r.p99Added),
      fmt(r.rssMb, 0),
    ];
  });
  return markdownTable(head, body);
}

export const FEATURE_LEGEND =
  'Each variant turns on one feature over the all-off baseline (metrics off unless named); × off and +ms are taken against the baseline within each round, median over rounds. Tracing exports OTLP/HTTP JSON to a discarding sink on the load core; the access log appends to a file.';
