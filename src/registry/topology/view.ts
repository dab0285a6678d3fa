/**
 * @module registry/topology/view
 * The answer of `GET /v4/{project}/registry/topology`: the window's edges (./aggregate.ts) plus
 * one node per service — every service the catalog knows (except the registry itself), every
 * reporting sidecar's service (consumer-only sidecars register no instance but do report) and
 * every name an edge mentions (`unknown` callers, providers registered elsewhere) — with the
 * per-service figures `mesher top` shows: inbound rate, error ratio, p50/p99 and caller count
 * (merged from the edges into the service), outbound rate and callee count.
 */
import { isGlobal } from '../ops/access.ts';
import type { RegistryContext } from '../ops/context.ts';
import { aggregateEdges, type EdgeStats, quantileMs, round } from './aggregate.ts';
import { LATENCY_BUCKETS } from './report.ts';
import type { TopologyStore } from './store.ts';

export interface InboundStats {
  readonly requests: number;
  readonly rps: number;
  readonly errorRatio: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** Distinct calling services in the window. */
  readonly callers: number;
}

export interface OutboundStats {
  readonly requests: number;
  readonly rps: number;
  readonly errorRatio: number;
  /** Distinct services called in the window. */
  readonly callees: number;
}

export interface TopologyNode {
  readonly service: string;
  /** The app id ('' when only an edge names the service). */
  readonly app: string;
  /** Registered versions plus reporting sidecars' versions. */
  readonly versions: readonly string[];
  /** Registered instances (all versions). */
  readonly instances: number;
  /** Sidecars of this service reporting to this registry replica. */
  readonly reporters: number;
  readonly inbound: InboundStats;
  readonly outbound: OutboundStats;
}

/** An edge as answered: the aggregate without its latency buckets. */
export type TopologyEdge = Omit<EdgeStats, 'latency'>;

export interface TopologyView {
  readonly windowMs: number;
  /** Registry clock time of the answer, ms since the epoch. */
  readonly generatedAt: number;
  /** Live reporters of this tenant on this registry replica. */
  readonly reporters: number;
  readonly nodes: readonly TopologyNode[];
  readonly edges: readonly TopologyEdge[];
}

interface NodeAcc {
  app: string;
  versions: Set<string>;
  instances: number;
  reporters: number;
}

function inboundOf(edges: readonly EdgeStats[]): InboundStats {
  const latency = new Array<number>(LATENCY_BUCKETS).fill(0);
  let requests = 0;
  let errors = 0;
  let rps = 0;
  for (const e of edges) {
    requests += e.requests;
    errors += e.errors;
    rps += e.rps;
    for (let k = 0; k < LATENCY_BUCKETS; k++) latency[k]! += e.latency[k]!;
  }
  return {
    requests,
    rps: round(rps, 3),
    errorRatio: requests === 0 ? 0 : round(errors / requests, 4),
    p50Ms: quantileMs(latency, 0.5),
    p99Ms: quantileMs(latency, 0.99),
    callers: new Set(edges.map((e) => e.source)).size,
  };
}

function outboundOf(edges: readonly EdgeStats[]): OutboundStats {
  let requests = 0;
  let errors = 0;
  let rps = 0;
  for (const e of edges) {
    requests += e.requests;
    errors += e.errors;
    rps += e.rps;
  }
  return {
    requests,
    rps: round(rps, 3),
    errorRatio: requests === 0 ? 0 : round(errors / requests, 4),
    callees: new Set(edges.map((e) => e.destination)).size,
  };
}

export function topologyView(
  ctx: RegistryContext,
  store: TopologyStore,
  tenant: string,
  windowMs: number,
): TopologyView {
  const now = store.clock.now();
  const reporters = store.reporters(tenant);
  const edges = aggregateEdges(reporters, now, windowMs);

  const nodes = new Map<string, NodeAcc>();
  const node = (name: string): NodeAcc => {
    let n = nodes.get(name);
    if (n === undefined) {
      n = { app: '', versions: new Set(), instances: 0, reporters: 0 };
      nodes.set(name, n);
    }
    return n;
  };
  for (const svc of ctx.catalog.tenant(tenant)?.services.values() ?? []) {
    if (isGlobal(ctx, tenant, svc)) continue;
    const n = node(svc.serviceName);
    n.app ||= svc.appId;
    n.versions.add(svc.version);
    n.instances += ctx.catalog.instancesOf(tenant, svc.serviceId)?.size ?? 0;
  }
  for (const r of reporters) {
    const n = node(r.service.name);
    n.app ||= r.service.app;
    if (r.service.version !== '') n.versions.add(r.service.version);
    n.reporters++;
  }
  for (const e of edges) {
    node(e.source);
    node(e.destination);
  }

  const into = new Map<string, EdgeStats[]>();
  const from = new Map<string, EdgeStats[]>();
  for (const e of edges) {
    if (!into.has(e.destination)) into.set(e.destination, []);
    if (!from.has(e.source)) from.set(e.source, []);
    into.get(e.destination)!.push(e);
    from.get(e.source)!.push(e);
  }
  const out: TopologyNode[] = [...nodes]
    .map(([service, n]) => ({
      service,
      app: n.app,
      versions: [...n.versions].sort((a, b) => a.localeCompare(b, undefined, { numeric: true })),
      instances: n.instances,
      reporters: n.reporters,
      inbound: inboundOf(into.get(service) ?? []),
      outbound: outboundOf(from.get(service) ?? []),
    }))
    .sort((a, b) => a.service.localeCompare(b.service));

  return {
    windowMs,
    generatedAt: now,
    reporters: reporters.length,
    nodes: out,
    edges: edges.map(({ latency: _latency, ...rest }) => rest),
  };
}
