/**
 * @module sidecar/balancer/types
 * Balancers choose one endpoint of a service. They know nothing of sockets or discovery: they are
 * given endpoint lists with `update()`, asked to `pick()`, and told how each call went. Every
 * implementation is registered by name in ./registry.ts and passes test/contract/balancer.ts.
 */
import type { Endpoint } from '../discovery/types.ts';

export interface PickRequest {
  /** Endpoint keys that must not be chosen (already tried, ejected). */
  readonly exclude?: ReadonlySet<string>;
  /** Affinity key for SessionStickiness (e.g. a cookie value); absent for other strategies. */
  readonly sessionKey?: string;
  /** The caller's zone, for zone-aware preference. */
  readonly zone?: { readonly region: string; readonly availableZone: string };
}

export type PickResult =
  | { readonly kind: 'ok'; readonly endpoint: Endpoint }
  /** No endpoint is usable (none known, or all excluded). */
  | { readonly kind: 'unavailable' };

export interface CallReport {
  readonly ok: boolean;
  readonly latencyMs: number;
}

export interface Balancer {
  readonly name: string;
  /** Replace the endpoint set. Keeps per-endpoint state (load, latency) for endpoints that stay. */
  update(endpoints: readonly Endpoint[]): void;
  /** Choose an endpoint. Synchronous and allocation-light: it is on every request's path. */
  pick(req?: PickRequest): PickResult;
  /** A call to `endpoint` started (least-loaded strategies count in-flight calls). */
  onStart(endpoint: Endpoint): void;
  /** A call to `endpoint` finished. Must be called exactly once per onStart. */
  onFinish(endpoint: Endpoint, report: CallReport): void;
  /** Per-endpoint state, for the admin API and tests (optional; not on the hot path). */
  stats?(): readonly EndpointStats[];
}

/** What a balancer knows about one endpoint (see `Balancer.stats`). */
export interface EndpointStats {
  readonly key: string;
  /** Calls started and not yet finished. */
  readonly inFlight: number;
  /** Smoothed latency in ms (failures count as at least the failure penalty); null before any report. */
  readonly latencyMs: number | null;
  /** Failures in a row (reset by a success). */
  readonly consecutiveFailures: number;
  /** WeightedResponse: this endpoint's share of the total weight, % (what its picks follow). */
  readonly weightPercent?: number;
  /** SessionStickiness: sessions currently mapped to this endpoint. */
  readonly sessions?: number;
}
