/**
 * @module bench/hot-path/report
 * The hot-path harness's slice record and its Markdown table: per proxy the median over rounds of
 * each figure, and the median of its same-round ratios to the bare Node proxy (CPU at 1,000 rps,
 * p99, saturation throughput and CPU at saturation).
 */
import { median } from '../lib/stats.ts';

/** One proxy's figures in one round. */
export interface Slice {
  readonly round: number;
  readonly name: string;
  /** CPU seconds per 1,000 requests at the fixed rate. */
  readonly cpuPer1k: number;
  /** Main-thread voluntary context switches (event-loop wake-ups) per request at the fixed rate. */
  readonly wakeupsPerReq: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** VmRSS after the fixed-rate slice. */
  readonly rss: number;
  readonly rps: number;
  readonly errors: number;
  /** wrk closed-loop throughput (NaN when not measured). */
  readonly satRps: number;
  /** CPU seconds per 1,000 requests during the wrk slice. */
  readonly satCpuPer1k: number;
  /** VmRSS after the wrk slice. */
  readonly satRss: number;
}

type Key =
  | 'cpuPer1k'
  | 'wakeupsPerReq'
  | 'p50'
  | 'p99'
  | 'max'
  | 'rss'
  | 'rps'
  | 'satRps'
  | 'satCpuPer1k'
  | 'satRss';

const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');

/** Median over rounds of `name`'s figure `k`, and of its ratio to the bare proxy in the same round. */
export function figure(slices: readonly Slice[], name: string, k: Key): { value: number; ratio: number } {
  const mine = slices.filter((s) => s.name === name);
  return {
    value: median(mine.map((s) => s[k])),
    ratio: median(
      mine.map((s) => {
        const b = slices.find((x) => x.round === s.round && x.name === 'bare');
        return b ? s[k] / b[k] : Number.NaN;
      }),
    ),
  };
}

export function table(slices: readonly Slice[], names: readonly string[]): string {
  const rows = [
    '| proxy | CPU s/1k @rate | ×bare | wake-ups/req | p50 ms | p99 ms | max ms | ×bare p99 | RSS MB | sat rps | ×bare | CPU s/1k @sat | ×bare | RSS MB @sat | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const n of names) {
    const cpu = figure(slices, n, 'cpuPer1k');
    const p99 = figure(slices, n, 'p99');
    const sat = figure(slices, n, 'satRps');
    const satCpu = figure(slices, n, 'satCpuPer1k');
    const v = (k: Key) => figure(slices, n, k).value;
    const errors = slices.filter((s) => s.name === n).reduce((x, s) => x + s.errors, 0);
    rows.push(
      `| ${n} | ${f(cpu.value, 3)} | ${f(cpu.ratio)} | ${f(v('wakeupsPerReq'))} | ${f(v('p50'))} | ${f(p99.value)} | ${f(v('max'))} | ${f(p99.ratio)} | ${f(v('rss'), 0)} | ${f(sat.value, 0)} | ${f(sat.ratio)} | ${f(satCpu.value, 3)} | ${f(satCpu.ratio)} | ${f(v('satRss'), 0)} | ${errors} |`,
    );
  }
  return rows.join('\n');
}
