/**
 * @module sidecar/steps/marker-circuit-breaker
 * The marker `servicecomb.circuitBreaker.<marker>` policy, either side: a call the first matching
 * policy's marker selects goes through that policy's circuit for its service (one per (marker,
 * service), resilience4j accrual: src/sidecar/breaker/sliding-accrual.ts). The step only asks the
 * gate and reports one outcome per call with its duration (for slow calls); retries run inside.
 *
 * Rejected → 503 CIRCUIT_OPEN with `Retry-After`, as the per-service breaker answers. The call is
 * marked (./marker-governed.ts) so the per-service circuit breaker further down steps aside: the
 * marker policy wins for that call. A call the client abandoned is released as 'ignored'.
 */
import type { Clock } from '../../shared/clock.ts';
import { isMeshError } from '../../shared/errors.ts';
import { breakerRejectionError } from '../breaker/rejection-error.ts';
import type { Outcome, Step } from '../chain/types.ts';
import type { MarkerEngines } from '../governance/marker-engines.ts';
import { MARKER_BREAKER, markGoverned } from './marker-governed.ts';

export interface MarkerCircuitBreakerDeps {
  readonly engines: MarkerEngines;
  readonly clock: Clock;
}

export function createMarkerCircuitBreaker(deps: MarkerCircuitBreakerDeps): Step {
  const { engines, clock } = deps;
  return async function markerCircuitBreaker(call, next) {
    const slot = engines.breaker.first(call);
    if (slot === undefined) return next(call);
    markGoverned(call, MARKER_BREAKER);
    const admission = engines.breakerFor(slot, call.service).tryAcquire();
    if (admission.kind === 'rejected') throw breakerRejectionError(call.service, admission);
    const start = clock.now();
    let out: Outcome;
    try {
      out = await next(call);
    } catch (err) {
      admission.release(
        call.signal.aborted
          ? 'ignored'
          : isMeshError(err)
            ? { errorCode: err.code, durationMs: clock.now() - start }
            : 'failure',
      );
      throw err;
    }
    admission.release(
      call.signal.aborted ? 'ignored' : { status: out.status, durationMs: clock.now() - start },
    );
    return out;
  };
}
