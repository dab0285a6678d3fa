/**
 * @module bench/report/targets
 * Issue 7's targets for the one-hop sidecar, judged against nginx measured in the same run:
 * throughput ≥ 0.5 × nginx (1 KB, 64 connections); at 1,000 rps p50 added ≤ nginx's + 0.1 ms and
 * p99 added ≤ nginx's; CPU per 1,000 requests ≤ 1.5 × nginx's; RSS ≤ 60 MB at 1,000 rps.
 */

import { HEADLINE, RATE_1000, type ScenarioSummary } from './summary.ts';
import { fmt, fmtDelta, markdownTable } from './table.ts';

export interface TargetCheck {
  readonly target: string;
  readonly limit: string;
  readonly value: string;
  readonly met: boolean | undefined;
  /** How far off, when missed (e.g. "0.31 × nginx short of 0.5 ×"). */
  readonly gap: string;
}

export function checkTargets(rows: readonly ScenarioSummary[], id = 'mesher1'): TargetCheck[] | undefined {
  const m = rows.find((r) => r.id === id);
  const n = rows.find((r) => r.id === 'nginx');
  if (!m || !n) return undefined;
  const ml = m.latency[RATE_1000];
  const nl = n.latency[RATE_1000];
  const thr = m.vsNginx;
  const p50Limit = (nl?.p50 ?? Number.NaN) + 0.1;
  const p99Limit = nl?.p99 ?? Number.NaN;
  const cpu = m.cpuAt1000 / n.cpuAt1000;
  const judge = (ok: boolean, x: number) => (Number.isFinite(x) ? ok : undefined);
  return [
    {
      target: `throughput (${HEADLINE})`,
      limit: '≥ 0.50 × nginx',
      value: `${fmt(thr, 2)} × nginx (${fmt(m.throughput[HEADLINE])} rps)`,
      met: judge(thr >= 0.5, thr),
      gap: thr < 0.5 ? `${fmt((0.5 / thr) * 100 - 100)}% more throughput needed` : '',
    },
    {
      target: 'p50 added at 1,000 rps',
      limit: `≤ nginx + 0.1 = ${fmtDelta(p50Limit)} ms`,
      value: `${fmtDelta(ml?.p50)} ms`,
      met: judge((ml?.p50 ?? Number.NaN) <= p50Limit, (ml?.p50 ?? Number.NaN) - p50Limit),
      gap: (ml?.p50 ?? 0) > p50Limit ? `${fmt((ml?.p50 ?? 0) - p50Limit, 2)} ms over` : '',
    },
    {
      target: 'p99 added at 1,000 rps',
      limit: `≤ nginx = ${fmtDelta(p99Limit)} ms`,
      value: `${fmtDelta(ml?.p99)} ms`,
      met: judge((ml?.p99 ?? Number.NaN) <= p99Limit, (ml?.p99 ?? Number.NaN) - p99Limit),
      gap: (ml?.p99 ?? 0) > p99Limit ? `${fmt((ml?.p99 ?? 0) - p99Limit, 2)} ms over` : '',
    },
    {
      target: 'CPU s per 1,000 requests at 1,000 rps',
      limit: `≤ 1.5 × nginx = ${fmt(n.cpuAt1000 * 1.5, 3)}`,
      value: `${fmt(m.cpuAt1000, 3)} (${fmt(cpu, 2)} × nginx)`,
      met: judge(cpu <= 1.5, cpu),
      gap: cpu > 1.5 ? `${fmt(cpu / 1.5, 2)} × the limit` : '',
    },
    {
      target: 'RSS at 1,000 rps',
      limit: '≤ 60 MB',
      value: `${fmt(m.rssAt1000)} MB (peak ${fmt(m.peakRss)} MB)`,
      met: judge(m.rssAt1000 <= 60, m.rssAt1000),
      gap: m.rssAt1000 > 60 ? `${fmt(m.rssAt1000 - 60)} MB over` : '',
    },
  ];
}

export function targetsTable(checks: readonly TargetCheck[]): string {
  return markdownTable(
    ['target (mesher 1 hop vs nginx, same run)', 'limit', 'measured', 'verdict'],
    checks.map((c) => [
      c.target,
      c.limit,
      c.value,
      c.met === undefined ? '–' : c.met ? 'met' : `MISSED: ${c.gap}`,
    ]),
  );
}
