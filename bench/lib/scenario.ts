/**
 * @module bench/lib/scenario
 * What every benchmark scenario (direct, nginx, haproxy, Node peers, mesher one/two hops) hands
 * the runner: where to send requests, and which processes to charge CPU and memory to.
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
};
