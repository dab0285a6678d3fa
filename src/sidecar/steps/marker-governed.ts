/**
 * @module sidecar/steps/marker-governed
 * How the marker steps (servicecomb.circuitBreaker / bulkhead / retry policies,
 * src/sidecar/governance) tell the per-service steps further down the outbound chain that a marker
 * policy governs this call, so the marker policy wins for it (as in Java chassis):
 *
 * - `MARKER_BREAKER`: the per-service circuit-breaker step (its circuit, its
 *   `maxConcurrentRequests` bound and its fallback) steps aside;
 * - retry needs no flag: the marker retry sets `call.retrying` before its first attempt, and the
 *   per-service retry step leaves a call another retry step owns alone.
 *
 * A symbol-keyed property set only on calls a marker policy matched: calls no marker matches pay
 * nothing, and no per-call WeakMap entry keeps a call's graph alive (see CallContext.route).
 */
import type { CallContext } from '../chain/types.ts';

const GOVERNED = Symbol('mesher.markerGoverned');
type Marked = CallContext & { [GOVERNED]?: number };

export const MARKER_BREAKER = 1;
export const MARKER_BULKHEAD = 2;
export const MARKER_RETRY = 4;

/** Record that a marker policy of `kind` (one of the constants above) governs `call`. */
export function markGoverned(call: CallContext, kind: number): void {
  const m = call as Marked;
  m[GOVERNED] = (m[GOVERNED] ?? 0) | kind;
}

/** Whether a marker policy of `kind` governs `call`. */
export function isMarkerGoverned(call: CallContext, kind: number): boolean {
  return (((call as Marked)[GOVERNED] ?? 0) & kind) !== 0;
}
