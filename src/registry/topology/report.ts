/**
 * @module registry/topology/report
 * The topology report a sidecar PUTs every interval (issue 6, item 5), and its validation.
 * A report carries CUMULATIVE counters since the sidecar's counters began (`uptimeMs` ago, epoch
 * `epoch`), one entry per edge seen by that sidecar:
 *
 *   PUT /v4/{project}/registry/topology/reports/{reporterId}
 *   { "schema": 1, "epoch": "9f2c…", "uptimeMs": 61234, "intervalMs": 10000,
 *     "service": { "name": "client", "app": "default", "version": "1.0.0", "environment": "" },
 *     "edges": [ { "direction": "outbound", "source": "client", "destination": "server1",
 *                  "version": "1.0.0", "requests": 120, "errors": 3,
 *                  "latency": [16 counts, one per LATENCY_BOUNDS_MS bucket + one overflow] } ] }
 *
 * Every check throws `invalid(field, why)` (400001 naming the field) on the first failure; the
 * route caps the body size (413001). The sidecar has its own copy of the shape (the planes never
 * import each other); test/integration/topology.test.ts checks the two agree on the buckets.
 */
import { invalid } from '../errors.ts';
import { checkStr, isObject } from '../validate.ts';

/** Upper bounds (ms) of the latency buckets of schema 1; a last, open bucket counts the rest. */
export const LATENCY_BOUNDS_MS = [
  0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000,
] as const;
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length + 1;

export const REPORT_LIMITS = {
  /** Request body bytes (the route's limit). */
  maxBodyBytes: 512 * 1024,
  /** Edges in one report. */
  maxEdges: 1000,
  /** Service names (the sidecar's label cap folds longer ones into "other"). */
  maxNameLength: 128,
  maxVersionLength: 64,
  /** Report interval a sidecar may declare, ms. */
  minIntervalMs: 100,
  maxIntervalMs: 3_600_000,
} as const;

export type Direction = 'outbound' | 'inbound';

export interface EdgeCounters {
  readonly direction: Direction;
  readonly source: string;
  readonly destination: string;
  /** Destination version ('' when unknown). */
  readonly version: string;
  readonly requests: number;
  /** 5xx answers and proxy errors. */
  readonly errors: number;
  /** Non-cumulative counts per bucket, LATENCY_BUCKETS long. */
  readonly latency: readonly number[];
}

export interface ReporterService {
  readonly name: string;
  readonly app: string;
  readonly version: string;
  readonly environment: string;
}

export interface TopologyReport {
  readonly epoch: string;
  readonly uptimeMs: number;
  readonly intervalMs: number;
  readonly service: ReporterService;
  readonly edges: readonly EdgeCounters[];
}

/** Identity key of an edge inside one report. */
export function edgeKey(e: Pick<EdgeCounters, 'direction' | 'source' | 'destination' | 'version'>): string {
  return `${e.direction}\u0001${e.source}\u0001${e.destination}\u0001${e.version}`;
}

/** No control characters (so no key separator either); service names come from metrics labels. */
function printable(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
}
const EPOCH_RE = /^[A-Za-z0-9_.-]{1,64}$/;

function count(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw invalid(name, 'must be a non-negative integer');
  return v;
}

function label(v: unknown, name: string, max: number, required: boolean): string {
  if (v === undefined || v === null || v === '') {
    if (required) throw invalid(name, 'required');
    return '';
  }
  const s = checkStr(v, name, { max });
  if (!printable(s)) throw invalid(name, 'must not contain control characters');
  return s;
}

function parseEdge(v: unknown, i: number): EdgeCounters {
  const at = `edges[${i}]`;
  if (!isObject(v)) throw invalid(at, 'must be an object');
  if (v.direction !== 'outbound' && v.direction !== 'inbound')
    throw invalid(`${at}.direction`, 'must be outbound or inbound');
  const requests = count(v.requests, `${at}.requests`);
  const errors = count(v.errors, `${at}.errors`);
  if (errors > requests) throw invalid(`${at}.errors`, 'must not exceed requests');
  const latency = v.latency;
  if (!Array.isArray(latency) || latency.length !== LATENCY_BUCKETS)
    throw invalid(`${at}.latency`, `must be a list of ${LATENCY_BUCKETS} bucket counts`);
  let sum = 0;
  for (let b = 0; b < latency.length; b++) sum += count(latency[b], `${at}.latency[${b}]`);
  if (sum !== requests) throw invalid(`${at}.latency`, `bucket counts must add up to requests (${requests})`);
  return {
    direction: v.direction,
    source: label(v.source, `${at}.source`, REPORT_LIMITS.maxNameLength, true),
    destination: label(v.destination, `${at}.destination`, REPORT_LIMITS.maxNameLength, true),
    version: label(v.version, `${at}.version`, REPORT_LIMITS.maxVersionLength, false),
    requests,
    errors,
    latency: latency as number[],
  };
}

/** Validate a report body; throws 400001 naming the first bad field. */
export function parseReport(body: unknown): TopologyReport {
  if (!isObject(body)) throw invalid('body', 'must be a JSON object');
  if (body.schema !== 1) throw invalid('schema', 'must be 1');
  const epoch = checkStr(body.epoch, 'epoch', { re: EPOCH_RE });
  const uptimeMs = count(body.uptimeMs, 'uptimeMs');
  const intervalMs = count(body.intervalMs, 'intervalMs');
  if (intervalMs < REPORT_LIMITS.minIntervalMs || intervalMs > REPORT_LIMITS.maxIntervalMs)
    throw invalid('intervalMs', `must be in ${REPORT_LIMITS.minIntervalMs}..${REPORT_LIMITS.maxIntervalMs}`);
  const s = body.service;
  if (!isObject(s)) throw invalid('service', 'must be an object');
  const service: ReporterService = {
    name: label(s.name, 'service.name', REPORT_LIMITS.maxNameLength, true),
    app: label(s.app, 'service.app', REPORT_LIMITS.maxNameLength, false) || 'default',
    version: label(s.version, 'service.version', REPORT_LIMITS.maxVersionLength, false),
    environment: label(s.environment, 'service.environment', 64, false),
  };
  const rawEdges = body.edges ?? [];
  if (!Array.isArray(rawEdges)) throw invalid('edges', 'must be a list');
  if (rawEdges.length > REPORT_LIMITS.maxEdges)
    throw invalid('edges', `more than ${REPORT_LIMITS.maxEdges} edges`);
  const seen = new Set<string>();
  const edges = rawEdges.map((e, i) => {
    const edge = parseEdge(e, i);
    const key = edgeKey(edge);
    if (seen.has(key)) throw invalid(`edges[${i}]`, 'the same direction/source/destination/version twice');
    seen.add(key);
    return edge;
  });
  return { epoch, uptimeMs, intervalMs, service, edges };
}
