/**
 * @module sidecar/admin/instances
 * `GET /v1/mesher/instances`: the discovery cache, i.e. every tracked service's current snapshot,
 * and, per instance, what the proxy's governance currently thinks of it (issue 6 item 4):
 *
 * - `balancers`: one entry per balancer that picks among the instance (the service's default
 *   selection `*`, and each route subset) with what its strategy uses — calls in flight, the
 *   smoothed latency (EWMA, ms), failures in a row, and WeightedResponse's `weightPercent` or
 *   SessionStickiness' `sessions`;
 * - `ejection`: the outlier detector's view — `ejected`, `ejectedUntil` (ISO time), `reason`
 *   (`consecutiveFailures` | `failureRate`) and `detail`, times ejected, window counts; null when
 *   the detector has no report for the instance;
 * - `circuit`: the state of the service's circuit (circuits are per service, so every instance of
 *   a service shows the same one; the service entry has the full counters).
 *
 * `?service=name` narrows it to one service. Read per request from live state; not a hot path.
 */
import type { EndpointStats } from '../balancer/types.ts';
import type { OutlierSnapshot } from '../outlier/outlier-detector.ts';
import type { AdminDeps, AdminHandler } from './types.ts';

/** One balancer's view of a service's endpoints (src/sidecar/steps/balancer-set.ts `describe`). */
export interface BalancerView {
  readonly route: string;
  readonly strategy: string;
  readonly endpoints: readonly EndpointStats[];
}

/** The resilience engines' view of one service. */
export interface ServiceResilienceView {
  /** The circuit's counters (`state`: closed | open | halfOpen, …); absent before its first call. */
  readonly circuit?: { readonly state: string } & Readonly<Record<string, unknown>>;
  /** The outlier detector's snapshot; absent before its first report. */
  readonly outlier?: OutlierSnapshot;
}

/** Where the live per-instance state comes from (the data plane wires it). */
export interface InstanceIntrospection {
  /** Every balancer of `service` in `app`. */
  balancers(service: string, app: string): readonly BalancerView[];
  /** Circuit and ejections of `service`, when resilience steps run. */
  resilience(service: string): ServiceResilienceView | undefined;
}

function iso(ms: number): string | null {
  return ms > 0 && Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

export function createInstancesHandler(
  deps: Pick<AdminDeps, 'directory'> & { readonly introspection?: InstanceIntrospection },
): AdminHandler {
  return async (req) => {
    const only = req.query.get('service');
    const intro = deps.introspection;
    const services = deps.directory
      .tracked()
      .filter((s) => only === null || s.serviceName === only)
      .map((s) => {
        const balancers = intro?.balancers(s.serviceName, s.app) ?? [];
        const res = intro?.resilience(s.serviceName);
        const ejections = new Map((res?.outlier?.endpoints ?? []).map((e) => [e.key, e]));
        return {
          serviceName: s.serviceName,
          app: s.app,
          revision: s.revision,
          ...(intro
            ? {
                strategies: balancers.map((b) => ({ route: b.route, strategy: b.strategy })),
                circuit: res?.circuit ?? null,
                outlier: res?.outlier
                  ? {
                      known: res.outlier.known,
                      ejected: res.outlier.ejected,
                      ejectionsTotal: res.outlier.ejectionsTotal,
                      ejectionsSkipped: res.outlier.ejectionsSkipped,
                    }
                  : null,
              }
            : {}),
          endpoints: s.endpoints.map((e) => {
            const base = {
              key: e.key,
              instanceId: e.instanceId,
              host: e.host,
              port: e.port,
              tls: e.tls,
              version: e.version,
              ...(e.zone ? { zone: e.zone } : {}),
            };
            if (!intro) return base;
            const h = ejections.get(e.key);
            return {
              ...base,
              balancers: balancers.flatMap((b) => {
                const st = b.endpoints.find((x) => x.key === e.key);
                if (st === undefined) return [];
                const { key: _k, ...rest } = st;
                return [{ route: b.route, strategy: b.strategy, ...rest }];
              }),
              ejection: h
                ? {
                    ejected: h.ejected,
                    ejectedUntil: iso(h.ejectedUntil),
                    ...(h.reason ? { reason: h.reason, detail: h.detail } : {}),
                    timesEjected: h.timesEjected,
                    consecutiveFailures: h.consecutiveFailures,
                    windowRequests: h.windowRequests,
                    windowFailures: h.windowFailures,
                  }
                : null,
              circuit: res?.circuit?.state ?? null,
            };
          }),
        };
      });
    return { status: 200, body: { services } };
  };
}
