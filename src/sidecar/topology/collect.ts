/**
 * @module sidecar/topology/collect
 * What a topology report carries, read off the sidecar's existing request metrics once per
 * report interval: nothing is added to the request path. The per-request work (one pre-bound
 * series per label tuple, see ../telemetry/request-metrics.ts) already counts every call by
 * direction, source, destination, destination version, status class and proxy error code, with a
 * duration histogram; this module reads `mesher_request_duration_seconds` through its registry
 * `get()` contract and folds it into one entry per (direction, source, destination, version):
 * requests (the histogram's count), errors (5xx answers and proxy errors) and the latency
 * buckets, non-cumulative, in ms, plus one open bucket for slower calls.
 *
 * The report's bucket layout (schema 1) is the request metrics' DURATION_BUCKETS in ms; the
 * registry holds the same list (registry/topology/report.ts) and the integration test checks
 * that they agree.
 */
import type { Registry } from 'prom-client';
import { DURATION_BUCKETS } from '../telemetry/request-metrics.ts';

export const DURATION_METRIC = 'mesher_request_duration_seconds';

/** Bucket upper bounds in ms (schema 1); the report has one more, open, bucket. */
export const LATENCY_BOUNDS_MS: readonly number[] = DURATION_BUCKETS.map((s) => Math.round(s * 1e6) / 1000);
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length + 1;

export interface ReportEdge {
  readonly direction: 'outbound' | 'inbound';
  readonly source: string;
  readonly destination: string;
  readonly version: string;
  requests: number;
  errors: number;
  readonly latency: number[];
}

interface Sample {
  readonly metricName?: string;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}

/** Fold histogram samples (prom-client `get()` values) into report edges. */
export function edgesFromSamples(values: readonly Sample[]): ReportEdge[] {
  const byKey = new Map<string, ReportEdge>();
  let cum: number[] = [];
  for (const v of values) {
    const name = v.metricName ?? '';
    if (name.endsWith('_bucket')) {
      if (v.labels.le !== '+Inf') cum.push(v.value);
      continue;
    }
    if (!name.endsWith('_count')) continue;
    // The series ends with its count: its buckets are the cumulative values just read.
    const l = v.labels;
    const direction = l.direction === 'inbound' ? 'inbound' : 'outbound';
    const source = String(l.source_service ?? '');
    const destination = String(l.destination_service ?? '');
    const version = String(l.destination_version ?? '');
    const key = `${direction}\u0001${source}\u0001${destination}\u0001${version}`;
    let e = byKey.get(key);
    if (e === undefined) {
      e = {
        direction,
        source,
        destination,
        version,
        requests: 0,
        errors: 0,
        latency: new Array<number>(LATENCY_BUCKETS).fill(0),
      };
      byKey.set(key, e);
    }
    const count = v.value;
    e.requests += count;
    if (l.status_class === '5xx' || (l.error_code !== undefined && l.error_code !== '')) e.errors += count;
    let prev = 0;
    for (let i = 0; i < cum.length && i < LATENCY_BOUNDS_MS.length; i++) {
      e.latency[i]! += cum[i]! - prev;
      prev = cum[i]!;
    }
    e.latency[LATENCY_BUCKETS - 1]! += count - prev;
    cum = [];
  }
  return [...byKey.values()];
}

/** Read the edges from a sidecar's metrics registry (empty when request metrics are off). */
export async function collectEdges(registry: Registry): Promise<ReportEdge[]> {
  const metric = registry.getSingleMetric(DURATION_METRIC) as
    | { get(): Promise<{ values: readonly Sample[] }> }
    | undefined;
  if (metric === undefined) return [];
  return edgesFromSamples((await metric.get()).values);
}
