/**
 * @module sidecar/admin/recent-errors
 * `GET /v1/mesher/errors[?limit=N]`: the latest proxy errors, newest first, from the telemetry's
 * bounded ring: `{ "total": <recorded since start>, "errors": [{ time, direction, service,
 * endpoint, code, message, status, traceId }] }`. `limit` must be 1-10000 (400 BAD_LIMIT otherwise).
 */
import type { AdminHandler } from './types.ts';

export interface RecentErrorsSource {
  recentErrors(): ReadonlyArray<{ readonly time: number }>;
  /** Errors recorded since start, including those the ring no longer holds. */
  recentErrorsTotal(): number;
}

export function createRecentErrorsHandler(source: RecentErrorsSource): AdminHandler {
  return async (req) => {
    const raw = req.query.get('limit');
    let limit = Number.POSITIVE_INFINITY;
    if (raw !== null) {
      limit = Number(raw);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
        return {
          status: 400,
          body: {
            code: 'BAD_LIMIT',
            message: `limit must be an integer 1-10000 (got ${JSON.stringify(raw)})`,
          },
        };
      }
    }
    const all = source.recentErrors();
    const errors = (all.length > limit ? all.slice(0, limit) : all).map((e) => ({
      ...e,
      time: new Date(e.time).toISOString(),
    }));
    return { status: 200, body: { total: source.recentErrorsTotal(), errors } };
  };
}
