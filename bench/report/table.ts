/**
 * @module bench/report/table
 * Renders summaries as Markdown tables (readable in a terminal, pasted as-is into
 * docs/benchmarks.md): the main table (throughput, ratios, latency added at 1,000 rps, CPU,
 * memory) and the detail table of latency added at every fixed rate.
 */
import type { Measure } from '../lib/plan.ts';
import { HEADLINE, RATE_1000, type ScenarioSummary } from './summary.ts';

export function markdownTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(head), sep, ...rows.map(line)].join('\n');
}

/** Fixed-point number, '–' for NaN/undefined. */
export function fmt(x: number | undefined, digits = 0): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  return x.toFixed(digits);
}

/** Signed milliseconds, e.g. +0.21. */
export function fmtDelta(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  return `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
}

export function mainTable(rows: readonly ScenarioSummary[], plan: readonly Measure[]): string {
  const wrkIds = plan.filter((m) => m.kind === 'wrk').map((m) => m.id);
  const head = [
    'scenario',
    ...wrkIds.map((id) => `rps ${id.replace('max ', '')}`),
    '×nginx',
    '×node',
    'p50 +ms@1k',
    'p99 +ms@1k',
    'CPU s/1k req @1k rps',
    'CPU ×nginx',
    'CPU s/1k @max',
    'RSS MB @1k rps',
    'peak RSS MB',
  ];
  const body = rows.map((r) => {
    const lat = r.latency[RATE_1000];
    const isDirect = r.id === 'direct';
    return [
      r.label +
        (r.failedSlices ? ` (${r.failedSlices} failed)` : '') +
        (r.errors ? ` [${r.errors} err]` : ''),
      ...wrkIds.map((id) => fmt(r.throughput[id])),
      fmt(r.vsNginx, 2),
      fmt(r.vsNode, 2),
      isDirect ? `(${fmt(lat?.p50, 2)})` : fmtDelta(lat?.p50),
      isDirect ? `(${fmt(lat?.p99, 2)})` : fmtDelta(lat?.p99),
      fmt(r.cpuAt1000, 3),
      fmt(r.cpuVsNginx, 2),
      fmt(r.cpuAtMax, 3),
      fmt(r.rssAt1000, 0),
      fmt(r.peakRss, 0),
    ];
  });
  return markdownTable(head, body);
}

export function latencyTable(rows: readonly ScenarioSummary[], plan: readonly Measure[]): string {
  const rateIds = plan.filter((m) => m.kind === 'rate').map((m) => m.id);
  const head = [
    'scenario',
    ...rateIds.flatMap((id) => [`${id.split(' ')[0]} rps: p50`, 'p90', 'p99', 'max']),
  ];
  const body = rows.map((r) => [
    r.label,
    ...rateIds.flatMap((id) => {
      const l = r.latency[id];
      const f = r.id === 'direct' ? (x: number | undefined) => `(${fmt(x, 2)})` : fmtDelta;
      return [f(l?.p50), f(l?.p90), f(l?.p99), f(l?.max)];
    }),
  ]);
  return markdownTable(head, body);
}

export const LEGEND = [
  `rps: wrk closed loop, 1 thread, median of rounds; ×nginx / ×node: throughput at ${HEADLINE} against nginx / the bare Node proxy.`,
  'Latency: open loop at a fixed rate (h2load --h1 --rps: one connection per process, 10 rps each); ms added over direct in the same round, median of rounds; direct shows its absolute values in parentheses.',
  'CPU: proxy process tree utime+stime per 1,000 requests; RSS: proxy tree VmRSS after the 1,000 rps slice, peak = VmHWM at the end of the run.',
].join('\n');
