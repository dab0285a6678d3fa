/**
 * @module sidecar/topology
 * The sidecar's half of the service topology (issue 6, item 5): read the request metrics every
 * interval and push cumulative per-edge counters to the registry, which aggregates them.
 * The wiring (../main.ts) calls `createSidecarTopology`.
 */
import type { Registry } from 'prom-client';
import type { Clock } from '../../shared/clock.ts';
import type { SidecarConfig } from '../config/types.ts';
import { collectEdges } from './collect.ts';
import { createTopologyReporter, type ReportSender, type TopologyReporter } from './reporter.ts';
import { parseTopologySettings } from './settings.ts';

export { collectEdges, edgesFromSamples, LATENCY_BOUNDS_MS, type ReportEdge } from './collect.ts';
export {
  createTopologyReporter,
  type ReportSender,
  type TopologyReporter,
  type TopologyReporterOptions,
  type TopologyReporterStats,
} from './reporter.ts';
export { parseTopologySettings, TOPOLOGY_DEFAULTS, type TopologySettings } from './settings.ts';

/**
 * Build the reporter for a sidecar whose request metrics live in `metricsRegistry`; its own
 * counter is registered there too. Throws a ConfigError on bad `mesher.topology.*` keys.
 * Call `start()` once the listeners are up, `close()` on shutdown.
 */
export function createSidecarTopology(deps: {
  readonly config: SidecarConfig;
  readonly metricsRegistry: Registry;
  readonly clock?: Clock;
  readonly reporterId?: string;
  readonly send?: ReportSender;
}): TopologyReporter {
  const reporter = createTopologyReporter({
    config: deps.config,
    settings: parseTopologySettings(deps.config.flat),
    readEdges: () => collectEdges(deps.metricsRegistry),
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.reporterId ? { reporterId: deps.reporterId } : {}),
    ...(deps.send ? { send: deps.send } : {}),
  });
  for (const m of reporter.metrics) deps.metricsRegistry.registerMetric(m as never);
  return reporter;
}
