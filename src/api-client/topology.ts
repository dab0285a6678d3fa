/**
 * @module api-client/topology
 * The registry's topology view (`GET /v4/{project}/registry/topology?window=`): who calls whom
 * over a window, with rates, error ratios and latency percentiles per edge, and per service the
 * inbound/outbound figures `mesher top` shows. Built by the registry from the sidecars' reports;
 * in memory per registry replica. Decoded defensively into the shapes below.
 *
 * @example
 * const t = await createApiClient({ registry: 'http://127.0.0.1:30100' }).topology.get({ window: '30s' });
 * for (const e of t.edges) console.log(`${e.source} → ${e.destination} ${e.rps} rps`);
 */
import { ApiError } from './errors.ts';
import { expectObject, Http } from './http.ts';
import type { RegistryClientOptions } from './registry.ts';

export interface TopologyVersionStats {
  readonly version: string;
  readonly requests: number;
  readonly errors: number;
  readonly rps: number;
}

export interface TopologyEdge {
  readonly source: string;
  readonly destination: string;
  /** Requests in the window. */
  readonly requests: number;
  readonly errors: number;
  readonly rps: number;
  /** 0..1 */
  readonly errorRatio: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** Whose sidecar measured it: the caller's (`source`) or the callee's (`destination`). */
  readonly observedBy: 'source' | 'destination';
  readonly versions: readonly TopologyVersionStats[];
}

export interface TopologyNode {
  readonly service: string;
  readonly app: string;
  readonly versions: readonly string[];
  readonly instances: number;
  readonly reporters: number;
  readonly inbound: {
    readonly requests: number;
    readonly rps: number;
    readonly errorRatio: number;
    readonly p50Ms: number | null;
    readonly p99Ms: number | null;
    readonly callers: number;
  };
  readonly outbound: {
    readonly requests: number;
    readonly rps: number;
    readonly errorRatio: number;
    readonly callees: number;
  };
}

export interface Topology {
  readonly windowMs: number;
  readonly generatedAt: number;
  readonly reporters: number;
  readonly nodes: readonly TopologyNode[];
  readonly edges: readonly TopologyEdge[];
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function toEdge(v: unknown): TopologyEdge {
  const e = obj(v);
  return {
    source: str(e.source),
    destination: str(e.destination),
    requests: num(e.requests),
    errors: num(e.errors),
    rps: num(e.rps),
    errorRatio: num(e.errorRatio),
    p50Ms: numOrNull(e.p50Ms),
    p99Ms: numOrNull(e.p99Ms),
    observedBy: e.observedBy === 'destination' ? 'destination' : 'source',
    versions: list(e.versions).map((x) => {
      const o = obj(x);
      return { version: str(o.version), requests: num(o.requests), errors: num(o.errors), rps: num(o.rps) };
    }),
  };
}

function toNode(v: unknown): TopologyNode {
  const n = obj(v);
  const i = obj(n.inbound);
  const o = obj(n.outbound);
  return {
    service: str(n.service),
    app: str(n.app),
    versions: list(n.versions).map(str),
    instances: num(n.instances),
    reporters: num(n.reporters),
    inbound: {
      requests: num(i.requests),
      rps: num(i.rps),
      errorRatio: num(i.errorRatio),
      p50Ms: numOrNull(i.p50Ms),
      p99Ms: numOrNull(i.p99Ms),
      callers: num(i.callers),
    },
    outbound: {
      requests: num(o.requests),
      rps: num(o.rps),
      errorRatio: num(o.errorRatio),
      callees: num(o.callees),
    },
  };
}

export class TopologyClient {
  readonly #http: Http;
  readonly #path: string;

  constructor(opts: RegistryClientOptions) {
    this.#http = new Http(opts);
    this.#path = `/v4/${encodeURIComponent(opts.project ?? 'default')}/registry/topology`;
  }

  /**
   * The graph over the last `window`: ms, or a duration the registry parses (`30s`, `5m`);
   * default 60 s, 1 s .. 5 min. A bad window is the registry's 400001 `ApiError`.
   */
  async get(opts: { window?: number | string } = {}): Promise<Topology> {
    const query = new URLSearchParams();
    const w = opts.window;
    if (w !== undefined && w !== '') query.set('window', typeof w === 'number' ? String(Math.round(w)) : w);
    const reply = await this.#http.request({ method: 'GET', path: this.#path, query });
    const body = expectObject(reply, 'a topology', this.#path);
    if (!Array.isArray(body.edges) || !Array.isArray(body.nodes))
      throw new ApiError(
        reply.status,
        'BAD_RESPONSE',
        `expected nodes and edges from ${this.#path}`,
        this.#path,
      );
    return {
      windowMs: num(body.windowMs),
      generatedAt: num(body.generatedAt),
      reporters: num(body.reporters),
      nodes: body.nodes.map(toNode),
      edges: body.edges.map(toEdge),
    };
  }
}
