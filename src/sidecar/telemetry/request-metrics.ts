/**
 * @module sidecar/telemetry/request-metrics
 * The per-request RED metrics, built for the hot path: each label tuple owns a pre-bound `Series`
 * (plain numbers and Float64Arrays) found through nested Maps, one level per label, so recording a
 * request allocates nothing once its tuple has been seen. prom-client's own `labels().inc()`
 * re-hashes the label object on every call; here the work is five Map lookups and a bucket scan.
 * The series are rendered through prom-client's Registry (they implement its `get()` contract).
 *
 *   mesher_requests_total                counter
 *   mesher_request_duration_seconds      histogram
 *   mesher_request_size_bytes            histogram (request body)
 *   mesher_response_size_bytes           histogram (response body)
 *   mesher_requests_in_flight            gauge {direction, destination_service}
 * Labels: direction, source_service, destination_service, destination_version, status_class,
 * error_code (and `instance` when `perInstance` is on). Services are capped (LabelCap), versions
 * capped at 100, error codes limited to the MeshError catalogue.
 */
import { ERROR_CATALOGUE } from '../../shared/errors.ts';
import { LabelCap, OTHER, statusClass } from './label-cap.ts';
import type { RegistryMetric } from './labeled-metric.ts';

/** Seconds: sub-millisecond proxy answers up to slow calls. */
export const DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
] as const;
/** Bytes: 64 B to 16 MiB, ×4 steps. */
export const SIZE_BUCKETS = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216] as const;

const KNOWN_ERRORS = new Set(Object.keys(ERROR_CATALOGUE));

class Histo {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(v: number): void {
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += v;
    this.count++;
  }
}

/** One label tuple's storage. */
export class Series {
  requests = 0;
  readonly duration = new Histo(DURATION_BUCKETS);
  readonly requestSize = new Histo(SIZE_BUCKETS);
  readonly responseSize = new Histo(SIZE_BUCKETS);
  constructor(readonly labels: Readonly<Record<string, string>>) {}
}

/** What one finished request contributes. */
export interface RequestSample {
  direction: 'inbound' | 'outbound';
  sourceService: string;
  destinationService: string;
  destinationVersion: string;
  status: number;
  errorCode: string;
  instance: string;
  durationSeconds: number;
  /** -1 when unknown (the size histograms skip it). */
  requestBytes: number;
  responseBytes: number;
}

type Tree = Map<string, Tree | Series>;

interface InFlightCell {
  readonly labels: Readonly<Record<string, string>>;
  value: number;
}

export interface RequestMetricsOptions {
  readonly maxServices: number;
  readonly perInstance: boolean;
}

export class RequestMetrics {
  readonly #root: Tree = new Map();
  readonly #all: Series[] = [];
  readonly #inFlightOut = new Map<string, InFlightCell>();
  readonly #inFlightIn = new Map<string, InFlightCell>();
  readonly sources: LabelCap;
  readonly destinations: LabelCap;
  readonly versions = new LabelCap(100);
  readonly instances = new LabelCap(10_000);
  readonly #perInstance: boolean;

  constructor(opts: RequestMetricsOptions) {
    this.sources = new LabelCap(opts.maxServices);
    this.destinations = new LabelCap(opts.maxServices);
    this.#perInstance = opts.perInstance;
  }

  /** Number of distinct label tuples (series) so far. */
  get seriesCount(): number {
    return this.#all.length;
  }

  /** The pre-bound series for a tuple (created on first sight). Values must already be capped. */
  #series(
    direction: string,
    src: string,
    dst: string,
    ver: string,
    cls: string,
    err: string,
    inst: string,
  ): Series {
    let node: Tree = this.#root;
    const path = this.#perInstance ? [direction, src, dst, ver, cls, err, inst] : undefined;
    const keys = path ?? [direction, src, dst, ver, cls, err];
    for (let i = 0; i < keys.length - 1; i++) {
      let child = node.get(keys[i]!) as Tree | undefined;
      if (child === undefined) {
        child = new Map();
        node.set(keys[i]!, child);
      }
      node = child;
    }
    const last = keys[keys.length - 1]!;
    let s = node.get(last) as Series | undefined;
    if (s === undefined) {
      const labels: Record<string, string> = {
        direction,
        source_service: src,
        destination_service: dst,
        destination_version: ver,
        status_class: cls,
        error_code: err,
      };
      if (this.#perInstance) labels.instance = inst;
      s = new Series(Object.freeze(labels));
      node.set(last, s);
      this.#all.push(s);
    }
    return s;
  }

  /** Fast path lookup without building the key array (perInstance off, the default). */
  #lookup(d: string, src: string, dst: string, ver: string, cls: string, err: string, inst: string): Series {
    if (this.#perInstance) return this.#series(d, src, dst, ver, cls, err, inst);
    const a = this.#root.get(d) as Tree | undefined;
    const b = a?.get(src) as Tree | undefined;
    const c = b?.get(dst) as Tree | undefined;
    const e = c?.get(ver) as Tree | undefined;
    const f = e?.get(cls) as Tree | undefined;
    const s = f?.get(err) as Series | undefined;
    return s ?? this.#series(d, src, dst, ver, cls, err, inst);
  }

  record(x: RequestSample): void {
    const err = x.errorCode === '' || KNOWN_ERRORS.has(x.errorCode) ? x.errorCode : OTHER;
    const s = this.#lookup(
      x.direction,
      this.sources.apply(x.sourceService),
      this.destinations.apply(x.destinationService),
      this.versions.apply(x.destinationVersion),
      statusClass(x.status),
      err,
      this.#perInstance ? this.instances.apply(x.instance) : '',
    );
    s.requests++;
    s.duration.observe(x.durationSeconds);
    if (x.requestBytes >= 0) s.requestSize.observe(x.requestBytes);
    if (x.responseBytes >= 0) s.responseSize.observe(x.responseBytes);
  }

  /** The in-flight cell for a direction and destination (held by the caller for the call's life). */
  inFlight(direction: string, destination: string): { value: number } {
    const dst = this.destinations.apply(destination);
    const map = direction === 'inbound' ? this.#inFlightIn : this.#inFlightOut;
    let cell = map.get(dst);
    if (cell === undefined) {
      cell = { labels: Object.freeze({ direction, destination_service: dst }), value: 0 };
      map.set(dst, cell);
    }
    return cell;
  }

  /** The five metrics, for `registry.registerMetric`. */
  registryMetrics(): RegistryMetric[] {
    const all = this.#all;
    const histogram = (name: string, help: string, pick: (s: Series) => Histo): RegistryMetric => ({
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      async get() {
        const values: unknown[] = [];
        for (const s of all) {
          const h = pick(s);
          if (h.count === 0) continue;
          let cum = 0;
          for (let i = 0; i < h.bounds.length; i++) {
            cum += h.counts[i]!;
            values.push({
              metricName: `${name}_bucket`,
              labels: { ...s.labels, le: h.bounds[i] },
              value: cum,
            });
          }
          values.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: h.count });
          values.push({ metricName: `${name}_sum`, labels: s.labels, value: h.sum });
          values.push({ metricName: `${name}_count`, labels: s.labels, value: h.count });
        }
        return { name, help, type: 'histogram', aggregator: 'sum', values };
      },
    });
    const inFlightMaps = [this.#inFlightOut, this.#inFlightIn];
    return [
      {
        name: 'mesher_requests_total',
        help: 'Requests through the sidecar, by direction, peers, status class and proxy error code',
        type: 'counter',
        aggregator: 'sum',
        async get() {
          const values = all.map((s) => ({ labels: s.labels, value: s.requests }));
          return { name: this.name, help: this.help, type: 'counter', aggregator: 'sum', values };
        },
      },
      histogram(
        'mesher_request_duration_seconds',
        'Time from accepting the request to the end of the response body',
        (s) => s.duration,
      ),
      histogram('mesher_request_size_bytes', 'Request body size', (s) => s.requestSize),
      histogram('mesher_response_size_bytes', 'Response body size', (s) => s.responseSize),
      {
        name: 'mesher_requests_in_flight',
        help: 'Requests accepted and not yet finished',
        type: 'gauge',
        aggregator: 'sum',
        async get() {
          const values = inFlightMaps.flatMap((m) =>
            [...m.values()].map((c) => ({ labels: c.labels, value: c.value })),
          );
          return { name: this.name, help: this.help, type: 'gauge', aggregator: 'sum', values };
        },
      },
    ];
  }
}
