/**
 * @module bench/mesher/telemetry
 * The telemetry-cost scenarios of issue 6: one-hop sidecars that differ from `mesher1` only in
 * their telemetry keys (docs/observability.md), and the trace sink they export to.
 *  - mesher1-off:      metrics, tracing and access log all off (the baseline of the ratios);
 *  - mesher1-metrics:  metrics on, the default config (what `mesher1` runs, on the same
 *                      measures and idle gaps as the other variants);
 *  - mesher1-trace1:   tracing at 1% sampling (metrics off), OTLP/HTTP to the sink;
 *  - mesher1-trace100: tracing at 100% (metrics off), every span exported to the sink;
 *  - mesher1-alog:     access log on (metrics off), JSON lines appended to a file in .bench-tmp.
 * Each variant adds one feature to the all-off baseline, so its ratio against mesher1-off is that
 * feature's own cost. The sink (bench/peers/trace-sink.mjs) runs on the load core so what it
 * spends receiving is not charged to the proxy; the sidecar's encode + send is.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { waitForOutput } from '../lib/mesher-proc.ts';
import type { Started, Supervisor } from '../lib/procs.ts';
import { FEATURE_MEASURES, type FeatureScenarioId, LABELS } from '../lib/scenario.ts';
import type { OneHopVariant } from './mesh.ts';

export interface TraceSink {
  readonly origin: string;
  readonly proc: Started;
  /** Export requests and body bytes received so far (undefined if the sink does not answer). */
  stats(): Promise<{ requests: number; bytes: number } | undefined>;
}

export async function startTraceSink(sup: Supervisor, cpu: string): Promise<TraceSink> {
  const script = join(import.meta.dirname, '../peers/trace-sink.mjs');
  const proc = sup.spawn('trace-sink', process.execPath, [script], { cpu, server: true });
  const m = await waitForOutput(proc, /listening (\d+)/, 10_000);
  const origin = `http://127.0.0.1:${m[1]}`;
  return {
    origin,
    proc,
    stats: async () => {
      try {
        const r = await fetch(`${origin}/stats`, { signal: AbortSignal.timeout(2000) });
        return (await r.json()) as { requests: number; bytes: number };
      } catch {
        return undefined;
      }
    },
  };
}

const METRICS_OFF = 'metrics: { enabled: false }';

/** The config of one telemetry variant; `dir` is the sidecar's config directory (access log). */
export function telemetryVariant(
  id: FeatureScenarioId,
  dir: string,
  sink: TraceSink | undefined,
): OneHopVariant {
  const base = { id, label: LABELS[id], measures: FEATURE_MEASURES };
  const tracing = (rate: number): string[] => {
    if (!sink) throw new Error('trace sink not started');
    return [
      METRICS_OFF,
      `tracing: { endpoint: "${sink.origin}/v1/traces", format: otlp, samplingRate: ${rate} }`,
    ];
  };
  switch (id) {
    case 'mesher1-off':
      return { ...base, config: [METRICS_OFF] };
    case 'mesher1-metrics':
      return { ...base, config: [] };
    case 'mesher1-trace1':
      return { ...base, config: tracing(0.01) };
    case 'mesher1-trace100':
      return { ...base, config: tracing(1) };
    case 'mesher1-alog':
      return {
        ...base,
        config: [METRICS_OFF, `accessLog: { enabled: true, file: "${accessLogPath(dir)}" }`],
      };
  }
}

export function accessLogPath(dir: string): string {
  return join(dir, 'access.log');
}

/** Size of a file in bytes, 0 when absent. */
export function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
