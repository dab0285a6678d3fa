/**
 * @module sidecar/routing/filter
 * Selecting the endpoints a route's tags name. An endpoint matches when every tag holds:
 *
 * - `app`: equals the endpoint's app;
 * - `version`: a ServiceComb version rule against the endpoint's version: `latest` (the highest
 *   version present), `1.0.0+` (at least), `1.0.0-2.0.0` (from, inclusive, to, exclusive) or an
 *   exact version, compared numerically (`1.0` = `1.0.0`) when both sides are dotted numbers,
 *   as strings otherwise;
 * - any other name: equals the endpoint's property of that name.
 *
 * Results are memoised per (endpoint array, tags object): snapshots are immutable and decisions
 * are shared, so the same snapshot and route never re-filter; a new snapshot simply misses the
 * WeakMap and the old entries go with it.
 *
 * An empty result is an answer, not a reason to widen: `endpointsFor` throws 503 NO_ENDPOINTS for
 * a route whose subset is empty (Istio's behaviour; the original answered 502), so a canary never
 * silently lands on the stable version or the reverse.
 */
import { MeshError } from '../../shared/errors.ts';
import type { Endpoint, ServiceSnapshot } from '../discovery/types.ts';
import type { RouteDecision } from './types.ts';

type Tags = Readonly<Record<string, string>>;

/** Dotted numeric version → its numbers (up to 4 parts, ServiceComb style); undefined otherwise. */
export function parseVersion(v: string): number[] | undefined {
  if (!/^\d+(\.\d+){0,3}$/.test(v)) return undefined;
  return v.split('.').map(Number);
}

export function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 4; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** A version rule → a predicate over endpoint versions (needs the set for `latest`). */
export function versionPredicate(rule: string, endpoints: readonly Endpoint[]): (v: string) => boolean {
  if (rule === 'latest') {
    let best: number[] | undefined;
    for (const e of endpoints) {
      const p = parseVersion(e.version);
      if (p && (!best || compareVersions(p, best) > 0)) best = p;
    }
    if (best === undefined) return () => false;
    const top = best;
    return (v) => {
      const p = parseVersion(v);
      return p !== undefined && compareVersions(p, top) === 0;
    };
  }
  if (rule.endsWith('+')) {
    const from = parseVersion(rule.slice(0, -1));
    if (from) return (v) => ((p) => p !== undefined && compareVersions(p, from) >= 0)(parseVersion(v));
  }
  const dash = rule.indexOf('-');
  if (dash > 0) {
    const from = parseVersion(rule.slice(0, dash));
    const to = parseVersion(rule.slice(dash + 1));
    if (from && to) {
      return (v) => {
        const p = parseVersion(v);
        return p !== undefined && compareVersions(p, from) >= 0 && compareVersions(p, to) < 0;
      };
    }
  }
  const exact = parseVersion(rule);
  if (exact)
    return (v) => ((p) => p !== undefined && compareVersions(p, exact) === 0)(parseVersion(v)) || v === rule;
  return (v) => v === rule;
}

/** The endpoints carrying every tag (not memoised; see `filterEndpoints`). */
export function selectEndpoints(endpoints: readonly Endpoint[], tags: Tags): Endpoint[] {
  const version = tags.version === undefined ? undefined : versionPredicate(tags.version, endpoints);
  const others = Object.entries(tags).filter(([k]) => k !== 'version');
  return endpoints.filter((e) => {
    if (version && !version(e.version)) return false;
    for (const [k, want] of others) {
      const have = k === 'app' ? e.app : Object.hasOwn(e.properties, k) ? e.properties[k] : undefined;
      if (have !== want) return false;
    }
    return true;
  });
}

const memo = new WeakMap<readonly Endpoint[], WeakMap<Tags, readonly Endpoint[]>>();

/**
 * The endpoints of `endpoints` that `tags` select; `tags` undefined = all of them. Memoised per
 * (array, tags object) identity: call it per request with the snapshot's array and the decision's
 * tags and it filters once per snapshot.
 */
export function filterEndpoints(endpoints: readonly Endpoint[], tags: Tags | undefined): readonly Endpoint[] {
  if (tags === undefined) return endpoints;
  let byTags = memo.get(endpoints);
  if (byTags === undefined) {
    byTags = new WeakMap();
    memo.set(endpoints, byTags);
  }
  let hit = byTags.get(tags);
  if (hit === undefined) {
    hit = Object.freeze(selectEndpoints(endpoints, tags));
    byTags.set(tags, hit);
  }
  return hit;
}

/**
 * The endpoints a decision allows in `snapshot`, or 503 NO_ENDPOINTS naming the route when its
 * subset is empty. (The default selection passes the snapshot through; an empty snapshot is the
 * load-balance step's NO_ENDPOINTS as before.)
 */
export function endpointsFor(snapshot: ServiceSnapshot, decision: RouteDecision): readonly Endpoint[] {
  const eps = filterEndpoints(snapshot.endpoints, decision.tags);
  if (eps.length === 0 && decision.tags !== undefined) {
    throw new MeshError('NO_ENDPOINTS', {
      service: snapshot.serviceName,
      message: `No instance of ${snapshot.serviceName} matches the route tags ${decision.routeKey}`,
    });
  }
  return eps;
}

const routedMemo = new WeakMap<ServiceSnapshot, WeakMap<Tags, ServiceSnapshot>>();

/**
 * `snapshot` narrowed to a decision's subset, as a snapshot of its own (revision
 * `<revision>|<routeKey>`), memoised per (snapshot, tags): what a balancer keyed by
 * (service, app, routeKey) is fed. Default decision → the snapshot itself. Empty subset → 503
 * NO_ENDPOINTS (see `endpointsFor`).
 */
export function routedSnapshot(snapshot: ServiceSnapshot, decision: RouteDecision): ServiceSnapshot {
  const tags = decision.tags;
  if (tags === undefined) return snapshot;
  let byTags = routedMemo.get(snapshot);
  if (byTags === undefined) {
    byTags = new WeakMap();
    routedMemo.set(snapshot, byTags);
  }
  let hit = byTags.get(tags);
  if (hit === undefined) {
    hit = Object.freeze({
      serviceName: snapshot.serviceName,
      app: snapshot.app,
      revision: `${snapshot.revision}|${decision.routeKey}`,
      endpoints: endpointsFor(snapshot, decision),
    });
    byTags.set(tags, hit); // only non-empty subsets are cached: endpointsFor threw otherwise
  }
  return hit;
}
