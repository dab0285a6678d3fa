/**
 * @module sidecar/lifecycle/shutdown-config
 * Graceful-shutdown timings from mesher.yaml (`mesher.shutdown.*`, in `config.flat`), with the
 * `MESHER_DRAIN_MS` environment variable as an override of the drain period.
 *
 * ```yaml
 * mesher:
 *   shutdown:
 *     drainMs: 5000            # keep accepting and serving after deregistering (default 5000)
 *     inFlightTimeoutMs: 10000 # then stop accepting; wait this long for in-flight requests (default 10000)
 *     deadlineMs: 30000        # hard deadline for the whole shutdown; then the process exits 1
 * ```
 * Values are milliseconds as numbers, or durations with a unit (`5s`, `500ms`).
 */
import { ConfigError } from '../config/config-error.ts';
import { parseDurationMs } from '../config/duration.ts';
import { getFlat } from '../config/flat-read.ts';
import type { ConfigIssue } from '../config/types.ts';

export interface ShutdownSettings {
  /** Listeners keep accepting for this long after deregistration (peers' caches catch up). */
  readonly drainMs: number;
  /** After the drain period: how long in-flight requests may still finish before being cut. */
  readonly inFlightTimeoutMs: number;
  /** Hard bound on the whole shutdown (deregistration included). */
  readonly deadlineMs: number;
}

export const SHUTDOWN_DEFAULTS: ShutdownSettings = Object.freeze({
  // Watching consumers hear the DELETE within milliseconds; 5 s also covers a slow watch reconnect.
  drainMs: 5000,
  inFlightTimeoutMs: 10_000,
  // drain + in-flight + deregistration (2 s) + closing the rest, with room to spare.
  deadlineMs: 30_000,
});

const KEYS = ['drainMs', 'inFlightTimeoutMs', 'deadlineMs'] as const;
/** Larger values are almost certainly a unit mistake (seconds written as ms is fine; hours are not). */
const MAX_MS = 3_600_000;

/** Plain numbers are milliseconds here (unlike Go-style durations, where they are seconds). */
function ms(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= MAX_MS ? v : undefined;
  if (typeof v === 'string' && /^\s*\d+\s*$/.test(v)) return ms(Number(v));
  const d = parseDurationMs(v);
  return d !== undefined && d <= MAX_MS ? d : undefined;
}

/**
 * Read `mesher.shutdown.*` from the flat config and apply `env.MESHER_DRAIN_MS`. Throws a
 * ConfigError naming each bad key. An unset deadline grows to cover drain + in-flight + 5 s; a
 * configured one shorter than drain + in-flight is an error (it would always cut the drain).
 */
export function parseShutdownSettings(
  flat: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ShutdownSettings {
  const issues: ConfigIssue[] = [];
  const out: Record<(typeof KEYS)[number], number> = { ...SHUTDOWN_DEFAULTS };
  for (const k of KEYS) {
    const raw = getFlat(flat, `mesher.shutdown.${k}`);
    if (raw === undefined) continue;
    const v = ms(raw);
    if (v === undefined)
      issues.push({
        file: 'mesher.yaml',
        key: `mesher.shutdown.${k}`,
        message: `must be milliseconds (0-${MAX_MS}) or a duration like "5s", not ${JSON.stringify(raw)}`,
      });
    else out[k] = v;
  }
  const envDrain = env.MESHER_DRAIN_MS;
  if (envDrain !== undefined && envDrain !== '') {
    const v = ms(envDrain);
    if (v === undefined)
      issues.push({
        file: 'env',
        key: 'MESHER_DRAIN_MS',
        message: `must be milliseconds, not "${envDrain}"`,
      });
    else out.drainMs = v;
  }
  const floor = out.drainMs + out.inFlightTimeoutMs;
  if (getFlat(flat, 'mesher.shutdown.deadlineMs') === undefined)
    out.deadlineMs = Math.max(out.deadlineMs, floor + 5000);
  else if (out.deadlineMs <= floor)
    issues.push({
      file: 'mesher.yaml',
      key: 'mesher.shutdown.deadlineMs',
      message: `must be longer than drainMs + inFlightTimeoutMs (${floor} ms), not ${out.deadlineMs}`,
    });
  if (issues.length > 0) throw new ConfigError(issues);
  return Object.freeze(out);
}
