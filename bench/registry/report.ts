/**
 * @module bench/registry/report
 * The registry benchmark's figures and their table against the issue's targets
 * (issue 2 item 6: ≥ 10,000 heartbeats/s, find p99 ≤ 2 ms at 10k instances, watch delay p99
 * ≤ 50 ms, RSS ≤ 250 MB at 100k instances, all on one core), plus issue 8's for etcd: a change
 * on one replica reaches a watcher on another within 100 ms at p99. RSS rows are per replica.
 */
import { fmt, markdownTable } from '../report/table.ts';

/** CPU seconds per wall second during a phase (1 = one full core): who was the bottleneck. */
export interface CpuShare {
  /** All registry replicas together. */
  registry: number;
  client: number;
  /** All etcd members together (etcd deployments only). */
  store?: number;
}

export interface WatchDelay {
  p50: number;
  p99: number;
  missed: number;
}

export interface FindLatency {
  rate: number;
  p50: number;
  p99: number;
  errors: number;
  /** The driver's own lateness (actual send − scheduled send), ms; absent in older results. */
  sendLatenessP99?: number;
  sendLatenessMax?: number;
  /** p99 of completion − actual send (ms): the tail without the driver's lateness. */
  p99FromSend?: number;
}

export interface RegistryFigures {
  /** Registry replicas serving the load (1 when embedded). */
  replicas: number;
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
  /** A change made on replica 1 reaching a WebSocket watcher on replica 2 (several replicas). */
  crossWatch?: WatchDelay;
  /** RSS of all etcd members together (MB), at N and at the largest size. */
  storeRssAtN?: number;
  storeRssAtMax?: number;
}

type Row = [string, string, string, string];

function verdict(ok: boolean | undefined): string {
  return ok === undefined ? '' : ok ? 'met' : 'MISSED';
}

const cpu = (c: CpuShare | undefined): string =>
  c
    ? ` · CPU registry ${fmt(c.registry * 100)}%${c.store !== undefined ? ` / etcd ${fmt(c.store * 100)}%` : ''} / client ${fmt(c.client * 100)}%`
    : '';

export function registryTable(f: RegistryFigures, n: number, max: number): string {
  return markdownTable(['measure', 'result', 'target', ''], registryRows(f, n, max));
}

/**
 * Several deployments side by side (`--etcd`: 1 and 3 replicas), one column each; a verdict
 * against the target is appended to each cell that has one.
 */
export function compareTable(
  runs: readonly { label: string; figures: RegistryFigures }[],
  n: number,
  max: number,
): string {
  const perRun = runs.map((r) => registryRows(r.figures, n, max));
  const labels: string[] = [];
  const target = new Map<string, string>();
  // labels in the order of the run with the most rows (the one with cross-replica figures)
  for (const rows of [...perRun].sort((a, b) => b.length - a.length))
    for (const [m, , t] of rows) {
      if (!labels.includes(m)) labels.push(m);
      if (t !== '–' && !target.has(m)) target.set(m, t);
    }
  const body = labels.map((m) => [
    m,
    ...perRun.map((rows) => {
      const row = rows.find((r) => r[0] === m);
      if (!row) return '–';
      return row[3] && !row[3].startsWith('(') ? `${row[1]} (${row[3]})` : row[1];
    }),
    target.get(m) ?? '–',
  ]);
  return markdownTable(['measure', ...runs.map((r) => r.label), 'target'], body);
}

function registryRows(f: RegistryFigures, n: number, max: number): Row[] {
  const k = (x: number) => (x >= 1000 ? `${x / 1000}k` : String(x));
  const findRows: Row[] = (f.finds ?? []).flatMap((x, i): Row[] => [
    [`find p50 at ${k(n)} instances, ${x.rate}/s open loop`, `${fmt(x.p50, 2)} ms`, '–', ''],
    [
      `find p99 at ${k(n)} instances, ${x.rate}/s open loop`,
      `${fmt(x.p99, 2)} ms${x.errors ? ` (${x.errors} failed)` : ''}`,
      i === 0 ? '≤ 2 ms' : '–',
      i === 0 ? (n >= 10_000 ? verdict(x.p99 <= 2) : '(smaller run)') : '',
    ],
    ...(x.sendLatenessP99 !== undefined
      ? ([
          [
            `driver send lateness p99 (max), ${x.rate}/s`,
            `${fmt(x.sendLatenessP99, 3)} ms (${fmt(x.sendLatenessMax ?? Number.NaN, 2)} ms)`,
            '–',
            '',
          ],
          [`find p99 from the actual send, ${x.rate}/s`, `${fmt(x.p99FromSend, 2)} ms`, '–', ''],
        ] satisfies Row[])
      : []),
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
    ...(f.crossWatch
      ? ([
          ['watch delay across replicas p50', `${fmt(f.crossWatch.p50, 2)} ms`, '–', ''],
          [
            'watch delay across replicas p99',
            `${fmt(f.crossWatch.p99, 2)} ms${f.crossWatch.missed ? ` (${f.crossWatch.missed} events missed)` : ''}`,
            '≤ 100 ms',
            verdict(f.crossWatch.p99 <= 100 && f.crossWatch.missed === 0),
          ],
        ] satisfies Row[])
      : []),
    [`RSS at ${k(n)} instances, right after registering`, `${fmt(f.rssAtN)} MB`, '–', ''],
    [`RSS at ${k(n)} instances, after find/heartbeat/watch load`, `${fmt(f.rssAfterLoad)} MB`, '–', ''],
    [
      `RSS at ${k(max)} instances`,
      `${fmt(f.rssAtMax)} MB (peak ${fmt(f.peakRss)} MB)`,
      '≤ 250 MB',
      max >= 100_000 ? verdict(f.rssAtMax <= 250) : '(smaller run)',
    ],
    ...(f.storeRssAtN !== undefined
      ? ([
          [`etcd RSS at ${k(n)} instances, all members`, `${fmt(f.storeRssAtN)} MB`, '–', ''],
          [`etcd RSS at ${k(max)} instances, all members`, `${fmt(f.storeRssAtMax)} MB`, '–', ''],
        ] satisfies Row[])
      : []),
  ];
  return rows;
}
