/**
 * @module bench/report/render
 * The printed report of a data-plane run (also re-rendered from a saved JSON with
 * `--report FILE`): header with machine and commit, main table, latency table, legend, the
 * telemetry costs, the one-hop targets and the skipped scenarios.
 */
import type { BenchArgs } from '../lib/args.ts';
import { describeMachine, type MachineInfo } from '../lib/machine.ts';
import type { Measure, SliceRecord } from '../lib/plan.ts';
import type { Skipped } from '../lib/scenario.ts';
import { FEATURE_LEGEND, featureCosts, featureTable } from './features.ts';
import type { ScenarioSummary } from './summary.ts';
import { LEGEND, latencyTable, mainTable } from './table.ts';
import { type TargetCheck, targetsTable } from './targets.ts';

/** What bench/results/*.json holds. */
export interface SavedRun {
  readonly machine: MachineInfo;
  readonly args: BenchArgs;
  readonly cores: { readonly load: string; readonly proxy: string };
  readonly plan: readonly Measure[];
  readonly skipped: readonly Skipped[];
  readonly measuringSeconds: number;
  /** 1-minute load average when the run ended (start is in machine.loadAvg). */
  readonly loadAvgEnd?: number;
  readonly summary: readonly ScenarioSummary[];
  readonly targets: readonly TargetCheck[] | undefined;
  readonly slices: readonly SliceRecord[];
  /** What the telemetry variants produced (spans at the sink, access-log size). */
  readonly telemetryNotes?: readonly string[];
}

export function renderRun(r: SavedRun): string {
  const features = featureCosts(r.summary, r.slices);
  return [
    `## Data-plane benchmark${r.args.smoke ? ' (smoke)' : ''}`,
    '',
    describeMachine(r.machine),
    `${r.args.rounds} round(s), ${r.args.seconds} s per slice, ${r.measuringSeconds} s measuring; proxies on core ${r.cores.proxy}, backend + load on core ${r.cores.load}; load avg at end ${r.loadAvgEnd ?? '?'}.`,
    '',
    mainTable(r.summary, r.plan),
    '',
    'Latency added over direct (ms) at fixed open-loop rates, 1 KB:',
    '',
    latencyTable(r.summary, r.plan),
    '',
    LEGEND,
    ...(features
      ? [
          '',
          'Telemetry costs (issue 6), one hop, against telemetry all off in this run:',
          '',
          featureTable(features),
          '',
          FEATURE_LEGEND,
          ...(r.telemetryNotes?.length ? [`Check: ${r.telemetryNotes.join('; ')}.`] : []),
        ]
      : []),
    ...(r.targets
      ? ['', 'Issue 7 targets for one hop, against nginx in this run:', '', targetsTable(r.targets)]
      : []),
    ...r.skipped.map((s) => `Skipped ${s.label}: ${s.reason}`),
  ].join('\n');
}
