/**
 * @module sidecar/topology/reporter
 * Sends this sidecar's cumulative per-edge counters (./collect.ts) to the registry every interval,
 * so the registry can answer "who calls whom" (`mesher graph`, `mesher top`):
 *
 *   PUT {registry}/v4/{project}/registry/topology/reports/{reporterId}
 *
 * The report is cumulative since this process's counters began (`uptimeMs`, random `epoch`), so
 * a lost report loses nothing and the registry computes rates from deltas. Consumer-only sidecars
 * report too (they register no instance but still call). Off the request path entirely: a timer,
 * one metrics read, one small PUT. A failed report costs a counter
 * (`mesher_topology_reports_total{result="failed"}`) and one log line per failure streak, never a
 * request; a tick that finds the previous report still in flight is skipped (`result="skipped"`).
 *
 * The PUT goes through the registry client's transport (failover over the configured addresses,
 * per-attempt timeout), a separate instance so reports never queue behind discovery calls.
 */
import { randomBytes } from 'node:crypto';
import { type Clock, systemClock, type TimerHandle } from '../../shared/clock.ts';
import { createLogger } from '../../shared/log.ts';
import type { SidecarConfig } from '../config/types.ts';
import { RegistryTransport } from '../registry-client/http-transport.ts';
import { ReadMetric, type RegistryMetric } from '../telemetry/labeled-metric.ts';
import type { ReportEdge } from './collect.ts';
import type { TopologySettings } from './settings.ts';

const log = createLogger('sidecar.topology');

/** Sends one report body to `path`; resolves with the HTTP status, rejects when no registry answered. */
export type ReportSender = (path: string, body: unknown, signal: AbortSignal) => Promise<number>;

export interface TopologyReporterOptions {
  readonly config: SidecarConfig;
  readonly settings: TopologySettings;
  /** Reads the cumulative edges (collectEdges over the telemetry registry). */
  readonly readEdges: () => Promise<ReportEdge[]>;
  readonly clock?: Clock;
  /** Path segment naming this sidecar process (default: random). */
  readonly reporterId?: string;
  /** Counter epoch (default: random per reporter). */
  readonly epoch?: string;
  /** Replaces the HTTP sender (tests). */
  readonly send?: ReportSender;
}

export interface TopologyReporterStats {
  readonly ok: number;
  readonly failed: number;
  readonly skipped: number;
  readonly lastError: string | undefined;
}

export interface TopologyReporter {
  readonly reporterId: string;
  /** Start the interval timer (no-op when disabled or already started). */
  start(): void;
  /** Send one report now; resolves true when the registry accepted it. Never rejects. */
  reportNow(): Promise<boolean>;
  stats(): TopologyReporterStats;
  /** `mesher_topology_reports_total{result}` for the sidecar's metrics registry. */
  readonly metrics: readonly RegistryMetric[];
  /** Stop the timer, abort a report in flight, close connections. Safe to call twice. */
  close(): Promise<void>;
}

const randomId = () => randomBytes(8).toString('hex');

function httpSender(
  config: SidecarConfig,
  timeoutMs: number,
): { send: ReportSender; close(): Promise<void> } {
  const transport = new RegistryTransport({
    addresses: config.registry.addresses,
    domain: config.registry.domain || 'default',
    timeoutMs,
    maxResponseBytes: 64 * 1024,
    userAgent: 'mesher-sidecar-topology',
  });
  return {
    send: async (path, body, signal) =>
      (await transport.request({ method: 'PUT', path, body, signal })).status,
    close: () => transport.close(),
  };
}

export function createTopologyReporter(opts: TopologyReporterOptions): TopologyReporter {
  const clock = opts.clock ?? systemClock;
  const { settings, config } = opts;
  const reporterId = opts.reporterId ?? randomId();
  const epoch = opts.epoch ?? randomId();
  const startedAt = clock.now();
  const project = encodeURIComponent(config.registry.project || 'default');
  const path = `/v4/${project}/registry/topology/reports/${encodeURIComponent(reporterId)}`;
  // A report that takes longer than an interval is late anyway; 5 s caps slow registries.
  const http = opts.send ? undefined : httpSender(config, Math.min(5000, settings.intervalMs));
  const send = opts.send ?? http!.send;
  const service = {
    name: config.service.name,
    app: config.service.app,
    version: config.service.version,
    environment: config.service.environment,
  };

  let ok = 0;
  let failed = 0;
  let skipped = 0;
  let lastError: string | undefined;
  let timer: TimerHandle | undefined;
  let inFlight: Promise<boolean> | undefined;
  let closed = false;
  const abort = new AbortController();

  const fail = (why: string): false => {
    failed++;
    if (lastError === undefined) log.warn({ err: why }, 'topology report failed; retrying every interval');
    lastError = why;
    return false;
  };

  async function once(): Promise<boolean> {
    try {
      const edges = await opts.readEdges();
      const body = {
        schema: 1,
        epoch,
        uptimeMs: Math.max(0, clock.now() - startedAt),
        intervalMs: settings.intervalMs,
        service,
        edges,
      };
      const status = await send(path, body, abort.signal);
      if (status >= 200 && status < 300) {
        ok++;
        if (lastError !== undefined) log.info('topology reports accepted again');
        lastError = undefined;
        return true;
      }
      return fail(`registry answered ${status}`);
    } catch (err) {
      return fail(err instanceof Error ? err.message : String(err));
    }
  }

  function reportNow(): Promise<boolean> {
    if (closed) return Promise.resolve(false);
    if (inFlight !== undefined) {
      skipped++;
      return inFlight;
    }
    inFlight = once().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  return {
    reporterId,
    start() {
      if (!settings.enabled || timer !== undefined || closed) return;
      timer = clock.setInterval(() => void reportNow(), settings.intervalMs);
    },
    reportNow,
    stats: () => ({ ok, failed, skipped, lastError }),
    metrics: [
      new ReadMetric(
        'mesher_topology_reports_total',
        'Topology reports sent to the registry, by result (ok, failed, skipped: previous one still in flight)',
        'counter',
        () => [
          [{ result: 'ok' }, ok],
          [{ result: 'failed' }, failed],
          [{ result: 'skipped' }, skipped],
        ],
      ),
    ],
    async close() {
      if (closed) return;
      closed = true;
      timer?.cancel();
      abort.abort();
      await inFlight?.catch(() => undefined);
      await http?.close();
    },
  };
}
