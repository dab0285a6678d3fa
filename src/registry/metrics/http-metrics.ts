/**
 * @module registry/metrics/http-metrics
 * The registry's RED metrics, fed by the HTTP edge's RequestObserver hook:
 *
 *   <p>http_requests_total{method,route,status_class}             counter
 *   <p>http_request_duration_seconds{method,route,status_class}   histogram
 *   <p>http_requests_in_flight                                    gauge
 *
 * `route` is the route *pattern* (`/v4/:project/registry/microservices/:serviceId`), `unmatched`
 * for a 404 and `method_not_allowed` for a 405; `method` is the route's own method, or for
 * unmatched requests one of the standard methods (anything else is `other`). So the label space is
 * fixed by the route table: at most (routes + 2 × methods) × 5 status classes.
 *
 * Per request: one Map lookup by the Route object (not a string), an array index by status class,
 * a histogram bucket scan. Cells are created on a tuple's first request and kept.
 * The counter is the histogram's `_count`, rendered under its own name.
 */
import type { Route } from '../http/router.ts';
import type { RequestObserver } from '../http/server.ts';
import { callbackMetric, type HistogramCell, HistogramFamily, type PromMetric } from './cells.ts';

/** Seconds: sub-millisecond reads up to held long-polls (config center `wait` ≤ 30 s by default). */
export const HTTP_DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
] as const;

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

/** One (method, route) pair: a lazily created cell per status class. */
class RouteCells {
  readonly byClass: Array<HistogramCell | undefined> = [
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  ];
  constructor(
    readonly method: string,
    readonly route: string,
  ) {}
}

export class HttpMetrics implements RequestObserver {
  readonly metrics: readonly PromMetric[];
  readonly #duration: HistogramFamily;
  readonly #byRoute = new Map<Route, RouteCells>();
  /** Unmatched requests by `method` label, for 404 and 405 separately. */
  readonly #unmatched = new Map<string, RouteCells>();
  readonly #notAllowed = new Map<string, RouteCells>();
  #inFlight = 0;

  constructor(prefix: string) {
    this.#duration = new HistogramFamily(
      `${prefix}http_request_duration_seconds`,
      'Time from a request arriving to its response being written, by route pattern and status class',
      HTTP_DURATION_BUCKETS,
    );
    const requests = callbackMetric(
      `${prefix}http_requests_total`,
      'HTTP requests answered, by method, route pattern and status class',
      'counter',
      () => this.#duration.cells.map((c) => ({ labels: c.labels, value: c.count })),
    );
    const inFlight = callbackMetric(
      `${prefix}http_requests_in_flight`,
      'HTTP requests being handled now (held config-center long-polls included)',
      'gauge',
      () => this.#inFlight,
    );
    this.metrics = [requests, this.#duration, inFlight];
  }

  /** Bind the routes up front, so the first request of each finds its cells' home ready. */
  bindRoutes(routes: readonly Route[]): void {
    for (const r of routes)
      if (!this.#byRoute.has(r)) this.#byRoute.set(r, new RouteCells(r.method, r.pattern));
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  started(): number {
    this.#inFlight++;
    return performance.now();
  }

  finished(route: Route | null, method: string, status: number, startedAt: number): void {
    this.#inFlight--;
    const seconds = (performance.now() - startedAt) / 1000;
    let rc: RouteCells | undefined;
    if (route !== null) {
      rc = this.#byRoute.get(route);
      if (rc === undefined) {
        rc = new RouteCells(route.method, route.pattern);
        this.#byRoute.set(route, rc);
      }
    } else {
      const m = KNOWN_METHODS.has(method) ? method : 'other';
      const map = status === 405 ? this.#notAllowed : this.#unmatched;
      rc = map.get(m);
      if (rc === undefined) {
        rc = new RouteCells(m, status === 405 ? 'method_not_allowed' : 'unmatched');
        map.set(m, rc);
      }
    }
    const k = Math.floor(status / 100) - 1;
    const idx = k >= 0 && k < 5 ? k : 4;
    let cell = rc.byClass[idx];
    if (cell === undefined) {
      cell = this.#duration.add({ method: rc.method, route: rc.route, status_class: STATUS_CLASSES[idx]! });
      rc.byClass[idx] = cell;
    }
    cell.observe(seconds);
  }
}
