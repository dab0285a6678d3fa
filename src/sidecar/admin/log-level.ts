/**
 * @module sidecar/admin/log-level
 * `/v1/mesher/log-level`: `GET` answers `{"level":"info"}`; `PUT` or `POST` with the JSON body
 * `{"level":"debug"}` (or `?level=debug`) changes every logger at runtime through
 * src/shared/log.ts. An unknown level is a 400 `BAD_LOG_LEVEL` naming the accepted ones.
 */
import { getLogLevel, setLogLevel } from '../../shared/log.ts';
import type { AdminHandler, AdminRequest } from './types.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The admin request plus its parsed JSON body, when the server passes one. */
export type AdminRequestWithBody = AdminRequest & { readonly body?: unknown };

export interface LogLevelControl {
  get(): string;
  set(level: string): void;
}

const sharedLog: LogLevelControl = { get: getLogLevel, set: setLogLevel };

function requestedLevel(req: AdminRequestWithBody): unknown {
  const q = req.query.get('level');
  if (q !== null) return q;
  const body = req.body;
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as { level?: unknown } | null)?.level;
    } catch {
      return undefined;
    }
  }
  if (body !== null && typeof body === 'object') return (body as { level?: unknown }).level;
  return undefined;
}

export function createLogLevelHandler(control: LogLevelControl = sharedLog): AdminHandler {
  return async (req: AdminRequestWithBody) => {
    if (req.method === 'GET' || req.method === 'HEAD') return { status: 200, body: { level: control.get() } };
    if (req.method !== 'PUT' && req.method !== 'POST') {
      return {
        status: 405,
        body: { code: 'METHOD_NOT_ALLOWED', message: 'Use GET, or PUT/POST {"level":"debug"}' },
        headers: { allow: 'GET, HEAD, PUT, POST' },
      };
    }
    const raw = requestedLevel(req);
    const level = typeof raw === 'string' ? raw.trim().toLowerCase() : undefined;
    if (level === undefined || !(LOG_LEVELS as readonly string[]).includes(level)) {
      return {
        status: 400,
        body: {
          code: 'BAD_LOG_LEVEL',
          message: `level must be one of ${LOG_LEVELS.join(', ')} (got ${JSON.stringify(raw ?? null)})`,
        },
      };
    }
    const previous = control.get();
    control.set(level);
    return { status: 200, body: { level, previous } };
  };
}
