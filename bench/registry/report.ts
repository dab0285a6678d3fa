/**
 * @module bench/registry/report
 * The registry benchmark's figures and their table against the issue's targets
 * (issue 2 item 6: ≥ 10,000 heartbeats/s, find p99 ≤ 2 ms at 10k instances, watch delay p99
 * ≤ 50 ms, RSS ≤ 250 MB at 100k instances, all on one core).
 */
import { fmt, markdownTable } from '../report/table.ts';

/** CPU seconds per wall second during a phase (1 = one full core): who was the bottleneck. */
export interface CpuShare {
  registry: number;
  client: number;
}

export interface FindLatency {
  rate: number;
  p50: number;
  p99: number;
  errors: number;
}

export interface RegistryFigures {
  registrationsPerS: number;
  registrationErrors: number;
  registrationCpu: CpuShare;
  heartbeatsPerS: number;
  heartbeatErrors: number;
  heartbeatCpu: CpuShare;
  /** Open-loop find latency (ms) at each rate. */
  finds: FindLatency[];
  findsPerS: number;
  findCpu: CpuShare;
  watchP50: number;
  watchP99: number;
  watchMissed: number;
  rssAtN: number;
  /** RSS at N instances again, after the find, heartbeat and watch phases. */
  rssAfterLoad: number;
  rssAtMax: number;
  peakRss: number;
}

type Row = [string, string, string, string];

function verdict(ok: boolean | undefined): string {
  return ok === undefined ? '' : ok ? 'met' : 'MISSED';
}

const cpu = (c: CpuShare | undefined): string =>
  c ? ` · CPU registry ${fmt(c.registry * 100)}% / client ${fmt(c.client * 100)}%` : '';

export function registryTable(f: RegistryFigures, n: number, max: number): string {
  const k = (x: number) => (x >= 1000 ? `${x / 1000}k` : String(x));
  const findRows: Row[] = (f.finds ?? []).flatMap((x, i): Row[] => [
    [`find p50 at ${k(n)} instances, ${x.rate}/s open loop`, `${fmt(x.p50, 2)} ms`, '–', ''],
    [
      `find p99 at ${k(n)} instances, ${x.rate}/s open loop`,
      `${fmt(x.p99, 2)} ms${x.errors ? ` (${x.errors} failed)` : ''}`,
      i === 0 ? '≤ 2 ms' : '–',
      i === 0 ? (n >= 10_000 ? verdict(x.p99 <= 2) : '(smaller run)') : '',
    ],
  ]);
  const rows: Row[] = [
    [
      'registrations/s',
      `${fmt(f.registrationsPerS)}${f.registrationErrors ? ` (${f.registrationErrors} failed)` : ''}${cpu(f.registrationCpu)}`,
      '–',
      '',
    ],
    [
      'heartbeats/s',
      `${fmt(f.heartbeatsPerS)}${f.heartbeatErrors ? ` (${f.heartbeatErrors} failed)` : ''}${cpu(f.heartbeatCpu)}`,
      '≥ 10,000',
      verdict(f.heartbeatsPerS >= 10_000),
    ],
    ...findRows,
    ['finds/s closed loop', `${fmt(f.findsPerS)}${cpu(f.findCpu)}`, '–', ''],
    ['watch delay p50', `${fmt(f.watchP50, 2)} ms`, '–', ''],
    [
      'watch delay p99',
      `${fmt(f.watchP99, 2)} ms${f.watchMissed ? ` (${f.watchMissed} events missed)` : ''}`,
      '≤ 50 ms',
      verdict(f.watchP99 <= 50 && f.watchMissed === 0),
    ],
    [`RSS at ${k(n)} instances, right after registering`, `${fmt(f.rssAtN)} MB`, '–', ''],
    [`RSS at ${k(n)} instances, after find/heartbeat/watch load`, `${fmt(f.rssAfterLoad)} MB`, '–', ''],
    [
      `RSS at ${k(max)} instances`,
      `${fmt(f.rssAtMax)} MB (peak ${fmt(f.peakRss)} MB)`,
      '≤ 250 MB',
      max >= 100_000 ? verdict(f.rssAtMax <= 250) : '(smaller run)',
    ],
  ];
  return markdownTable(['measure', 'result', 'target', ''], rows);
}
