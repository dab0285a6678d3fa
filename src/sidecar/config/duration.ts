/**
 * @module sidecar/config/duration
 * Durations as the original (Go) configuration wrote them: `30s`, `500ms`, `1m30s`, `1.5h`, or a
 * plain number meaning seconds (`30`, `"30"`, `0.5`). Everything becomes whole milliseconds.
 */

/** The pattern the schema checks strings against (a plain number, or Go-style unit groups). */
export const DURATION_PATTERN = '^\\s*(\\d+(\\.\\d+)?|(\\d+(\\.\\d+)?(ns|us|µs|ms|s|m|h))+)\\s*$';

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const GROUP = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
const PLAIN = /^\d+(\.\d+)?$/;
const FULL = new RegExp(DURATION_PATTERN);

/** Milliseconds, or undefined when `value` is not a duration. Negative and non-finite values are rejected. */
export function parseDurationMs(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  }
  if (typeof value !== 'string' || !FULL.test(value)) return undefined;
  const s = value.trim();
  if (PLAIN.test(s)) return Math.round(Number(s) * 1000);
  let total = 0;
  for (const m of s.matchAll(GROUP)) total += Number(m[1]) * (UNIT_MS[m[2] as string] ?? 0);
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/** `30000` -> `"30s"`, `1500` -> `"1500ms"`: the shortest exact form (used in docs and round trips). */
export function formatDurationMs(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
