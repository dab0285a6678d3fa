/**
 * @module registry/topology/routes
 * The topology API (issue 6, item 5), beside the v4 registry API:
 *
 *   PUT /v4/{project}/registry/topology/reports/{reporterId}   a sidecar's cumulative counters
 *       → 200 (empty); 400001 naming the bad field; 413001 over REPORT_LIMITS.maxBodyBytes;
 *         400100 when the reporter or stored-edge bound is reached
 *   GET /v4/{project}/registry/topology?window=60s            the graph over the window
 *       → TopologyView (./view.ts); `window` is ms or a duration (500ms, 30s, 5m), 1 s ..
 *         the store's maxWindowMs (5 min), default 60 s; anything else is a 400001
 *
 * Reports are kept per tenant (X-Domain-Name + project) in this process's memory only.
 */

import { invalid } from '../errors.ts';
import type { Route } from '../http/router.ts';
import type { RegistryContext } from '../ops/context.ts';
import { pathId } from '../validate.ts';
import { parseReport, REPORT_LIMITS } from './report.ts';
import { TopologyStore, type TopologyStoreOptions } from './store.ts';
import { topologyView } from './view.ts';

export const DEFAULT_WINDOW_MS = 60_000;
const MIN_WINDOW_MS = 1000;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** `window` query value → ms; throws 400001 naming `window`. */
export function parseWindow(raw: string | null, maxMs: number): number {
  if (raw === null || raw === '') return Math.min(DEFAULT_WINDOW_MS, maxMs);
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  const v = m ? Math.round(Number(m[1]) * (m[2] ? UNIT_MS[m[2]]! : 1)) : Number.NaN;
  if (!(v >= MIN_WINDOW_MS && v <= maxMs))
    throw invalid('window', `must be a duration from 1s to ${maxMs / 1000}s, e.g. 30s, 5m or 60000 (ms)`);
  return v;
}

export interface TopologyApi {
  readonly routes: Route[];
  readonly store: TopologyStore;
}

export function createTopologyApi(ctx: RegistryContext, opts: TopologyStoreOptions = {}): TopologyApi {
  const store = new TopologyStore({ clock: ctx.clock, ...opts });
  const routes: Route[] = [
    {
      method: 'PUT',
      pattern: '/v4/:project/registry/topology/reports/:reporterId',
      bodyLimit: REPORT_LIMITS.maxBodyBytes,
      handler: (r) => {
        const id = pathId(r.params.reporterId!, 'reporterId');
        store.put(r.tenant, id, parseReport(r.body));
        return {};
      },
    },
    {
      method: 'GET',
      pattern: '/v4/:project/registry/topology',
      handler: (r) => ({
        body: topologyView(ctx, store, r.tenant, parseWindow(r.query.get('window'), store.maxWindowMs)),
      }),
    },
  ];
  return { routes, store };
}
