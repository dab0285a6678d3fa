/**
 * @module bench/lib/scenario
 * What every benchmark scenario (direct, nginx, haproxy, Node peers, mesher one/two hops and the
 * one-hop telemetry variants) hands the runner: where to send requests, which processes to charge
 * CPU and memory to, and which measures it runs.
 */

/** The fixed bodies the backend serves. */
export type BodySize = '1k' | '64k';
export const BODY_BYTES: Record<BodySize, number> = { '1k': 1024, '64k': 65536 };

export interface Target {
  /** Where the load generator connects: `http://127.0.0.1:PORT`. */
  readonly origin: string;
  /** Request target: origin-form `/1k`, or absolute-form `http://svc/1k` for a forward proxy. */
  readonly path: string;
  /** Host header to send (a mesh destination), or undefined for the origin's own. */
  readonly host?: string;
}

export interface Scenario {
  /** Short stable id used on the command line (`--scenarios nginx,mesher1`) and in JSON. */
  readonly id: string;
  /** Human label for the table. */
  readonly label: string;
  /** Request target for a body size. */
  target(body: BodySize): Target;
  /** Root pids of the proxy processes to measure (empty for `direct`); trees are summed. */
  proxyPids(): number[];
  /** Measure ids this scenario runs (the telemetry variants run a short subset); all when absent. */
  readonly measures?: readonly string[];
}

/** A scenario that could not be started, with the reason printed in the table. */
export interface Skipped {
  readonly id: string;
  readonly label: string;
  readonly reason: string;
}

export const ALL_SCENARIOS = [
  'direct',
  'nginx',
  'haproxy',
  'http-proxy',
  'node-bare',
  'mesher1',
  'mesher2',
  'mesher1-off',
  'mesher1-metrics',
  'mesher1-trace1',
  'mesher1-trace100',
  'mesher1-alog',
] as const;
export type ScenarioId = (typeof ALL_SCENARIOS)[number];

export const LABELS: Record<ScenarioId, string> = {
  direct: 'direct',
  nginx: 'nginx proxy',
  haproxy: 'HAProxy',
  'http-proxy': 'Node http-proxy',
  'node-bare': 'Node bare proxy',
  mesher1: 'mesher 1 hop',
  mesher2: 'mesher 2 hops',
  'mesher1-off': 'mesher 1 hop, telemetry off',
  'mesher1-metrics': 'mesher 1 hop, metrics',
  'mesher1-trace1': 'mesher 1 hop, tracing 1%',
  'mesher1-trace100': 'mesher 1 hop, tracing 100%',
  'mesher1-alog': 'mesher 1 hop, access log',
};

/**
 * The telemetry-cost variants of the one-hop sidecar (issue 6). Each turns on one feature over
 * `mesher1-off` (metrics, tracing and access log all off); `mesher1-metrics` has the default
 * config, like `mesher1`, but runs on the same few measures as the other variants, so it idles
 * between slices the same way (a sidecar that ran a slice just before is measurably cheaper).
 */
export const FEATURE_SCENARIOS = [
  'mesher1-off',
  'mesher1-metrics',
  'mesher1-trace1',
  'mesher1-trace100',
  'mesher1-alog',
] as const satisfies readonly ScenarioId[];
export type FeatureScenarioId = (typeof FEATURE_SCENARIOS)[number];

/** Throughput (1 KB, 64 connections) and the 1,000 rps latency/CPU slice. */
export const FEATURE_MEASURES = ['max 1k c64', '1000 rps 1k'] as const;
