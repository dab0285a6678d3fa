/**
 * @module sidecar/topology/settings
 * The topology reporter's keys, read once at start-up from `SidecarConfig.flat` (the `mesher`
 * namespace is passed through by the config loader). Bad values are one ConfigError naming each.
 *
 *   mesher.topology.enabled   true   send topology reports to the registry
 *   mesher.topology.interval  10s    how often (100ms .. 1h); the registry drops a reporter
 *                                    silent for 3 intervals
 */
import { ConfigError } from '../config/config-error.ts';
import { getFlat } from '../config/flat-read.ts';
import type { ConfigIssue } from '../config/types.ts';
import { bool, type Coercer, ms } from '../policy/values.ts';

export interface TopologySettings {
  readonly enabled: boolean;
  readonly intervalMs: number;
}

export const TOPOLOGY_DEFAULTS: TopologySettings = Object.freeze({ enabled: true, intervalMs: 10_000 });

export function parseTopologySettings(flat: Readonly<Record<string, unknown>>): TopologySettings {
  const issues: ConfigIssue[] = [];
  function read<T>(key: string, coerce: Coercer<T>, fallback: T): T {
    const raw = getFlat(flat, key);
    if (raw === undefined || raw === null || raw === '') return fallback;
    const r = coerce(raw);
    if (r.ok) return r.value;
    issues.push({ file: 'config', key, message: r.message });
    return fallback;
  }
  const settings = Object.freeze({
    enabled: read('mesher.topology.enabled', bool, TOPOLOGY_DEFAULTS.enabled),
    intervalMs: read('mesher.topology.interval', ms(100, 3_600_000), TOPOLOGY_DEFAULTS.intervalMs),
  });
  if (issues.length > 0) throw new ConfigError(issues);
  return settings;
}
