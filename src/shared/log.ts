/**
 * @module log
 * Structured logging through pino, written to stderr so stdout stays free for command output.
 * Level from MESHER_LOG_LEVEL (default "info"; tests usually set "silent" or "warn").
 * `setLogLevel` changes every logger at runtime (the admin API's log-level endpoint uses it).
 */
import { type Logger, pino } from 'pino';

const root: Logger = pino(
  { level: process.env.MESHER_LOG_LEVEL ?? 'info', base: { pid: process.pid } },
  pino.destination({ fd: 2, sync: false }),
);

/** A child logger named after the component (`registry`, `sidecar.discovery`, ...). */
export function createLogger(component: string): Logger {
  return root.child({ component });
}

export function setLogLevel(level: string): void {
  root.level = level;
}

export function getLogLevel(): string {
  return root.level;
}

export type { Logger };
