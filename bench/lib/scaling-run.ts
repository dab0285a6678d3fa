/**
 * @module bench/lib/scaling-run
 * `npm run bench -- --scaling`: the scaling curve (issue 7 item 4). Starts the backend (also
 * listening on 1,000 loopback addresses), the registry, one sidecar per instance count and one
 * whose known-services count grows, then measures max throughput (1 KB, 64 connections) and
 * latency at 1,000 rps: the instance points interleaved in rounds like the main suite, the
 * services-known points one after another (the directory only grows).
 */
import { type Mesh, startMesh } from '../mesher/mesh.ts';
import { SCALE_POINTS, scaleIps, startInstanceScaling, startServiceScaling } from '../mesher/scaling.ts';
import { startBackend } from '../peers/nginx.ts';
import { fmt, markdownTable } from '../report/table.ts';
import type { BenchArgs } from './args.ts';
import type { ToolName } from './install.ts';
import { type Measure, runSlice, type SliceRecord, type SliceTiming, type Tools } from './plan.ts';
import type { Supervisor } from './procs.ts';
import type { Scenario } from './scenario.ts';
import { median, rotate } from './stats.ts';

const MEASURES: Measure[] = [
  { kind: 'wrk', id: 'max 1k c64', body: '1k', connections: 64 },
  { kind: 'rate', id: '1000 rps 1k', body: '1k', rate: 1000 },
];

export interface ScalingRow {
  readonly curve: 'instances' | 'services known';
  readonly point: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly cpuPer1k: number;
  readonly rssMb: number;
}

export async function runScaling(
  sup: Supervisor,
  tools: Map<ToolName, string>,
  args: BenchArgs,
  cores: { load: string; proxy: string },
  log: (s: string) => void,
): Promise<{ rows: ScalingRow[]; slices: SliceRecord[] }> {
  const nginx = tools.get('nginx');
  if (!nginx) throw new Error('nginx is required for the backend and is not available');
  const max = SCALE_POINTS[SCALE_POINTS.length - 1]!;
  const backend = await startBackend(sup, nginx, cores.load, scaleIps(max));
  let mesh: Mesh | undefined;
  try {
    mesh = await startMesh(sup, cores.load);
    const inst = await startInstanceScaling(sup, mesh, cores.proxy, backend.port);
    log(`instance points up: ${inst.map((s) => s.label).join(', ')}`);
    const known = await startServiceScaling(sup, mesh, cores.proxy, backend.port);
    log('services-known sidecar up');
    const tl: Tools = { wrk: tools.get('wrk'), h2load: tools.get('h2load') };
    const timing: SliceTiming = { wrkSeconds: args.seconds, rateSeconds: args.seconds, loadCpu: cores.load };
    const slices: SliceRecord[] = [];
    const run = async (sc: Scenario, m: Measure, round: number, tag: string) => {
      const r = await runSlice(sup, tl, timing, sc, m, round);
      const rec = { ...r, scenario: tag };
      slices.push(rec);
      log(
        `${tag} ${m.id}: ${rec.error ? `FAILED ${rec.error}` : `${rec.rps.toFixed(0)} rps${rec.p99 !== undefined ? ` p50 ${rec.p50?.toFixed(2)} p99 ${rec.p99.toFixed(2)} ms` : ''}`}`,
      );
    };
    for (const sc of [...inst, known.scenario])
      await runSlice(sup, tl, { ...timing, wrkSeconds: 1 }, sc, MEASURES[0]!, -1);
    for (let round = 0; round < args.rounds; round++) {
      for (const m of MEASURES) for (const sc of rotate(inst, round)) await run(sc, m, round, sc.id);
    }
    for (const k of SCALE_POINTS) {
      await known.grow(k);
      for (let round = 0; round < args.rounds; round++) {
        for (const m of MEASURES) await run(known.scenario, m, round, `services-${k}`);
      }
    }
    const row = (curve: ScalingRow['curve'], point: number, tag: string): ScalingRow => {
      const mine = slices.filter((s) => s.scenario === tag && !s.error);
      const wrk = mine.filter((s) => s.measure === MEASURES[0]!.id);
      const rate = mine.filter((s) => s.measure === MEASURES[1]!.id);
      return {
        curve,
        point,
        rps: median(wrk.map((s) => s.rps)),
        p50: median(rate.map((s) => s.p50 ?? Number.NaN)),
        p99: median(rate.map((s) => s.p99 ?? Number.NaN)),
        cpuPer1k: median(rate.map((s) => s.cpuPer1k)),
        rssMb: median(rate.map((s) => s.rssMb)),
      };
    };
    return {
      rows: [
        ...SCALE_POINTS.map((k) => row('instances', k, `instances-${k}`)),
        ...SCALE_POINTS.map((k) => row('services known', k, `services-${k}`)),
      ],
      slices,
    };
  } finally {
    await mesh?.close();
  }
}

export function scalingTable(rows: readonly ScalingRow[]): string {
  return markdownTable(
    ['curve', 'point', 'rps 1k c64', 'p50 ms @1k rps', 'p99 ms @1k rps', 'CPU s/1k req', 'RSS MB'],
    rows.map((r) => [
      r.curve,
      String(r.point),
      fmt(r.rps),
      fmt(r.p50, 2),
      fmt(r.p99, 2),
      fmt(r.cpuPer1k, 3),
      fmt(r.rssMb),
    ]),
  );
}
