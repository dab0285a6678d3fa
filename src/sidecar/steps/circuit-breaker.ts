/**
 * @module sidecar/steps/circuit-breaker
 * Circuit breaker, bulkhead and fallback (issue 4 item 3), consumer side, one circuit per target
 * service. The step only asks the gate (`CircuitBreaker.tryAcquire`) and reports one outcome per
 * call (retries run inside one permit); the classifier and the accrual state machine live in
 * src/sidecar/breaker.
 *
 * - rejected, fallback `throwexception` (or fallback disabled) → 503 CIRCUIT_OPEN with
 *   `Retry-After`, or 503 BULKHEAD_FULL;
 * - rejected, fallback `returnnull` → 200 with an empty body and `x-mesher-fallback: returnnull`;
 * - `fallback.force` → the fallback without calling upstream;
 * - shadow mode (`enforced: false`) → never rejects; the breaker counts what it would have done.
 *
 * A call the client abandoned is released as 'ignored' (counts neither way).
 *
 * A call a marker `servicecomb.circuitBreaker` policy governs (./marker-governed.ts) skips this
 * step: the marker policy wins for that call (docs/resilience.md, "Precedence").
 */
import { isMeshError, MeshError } from '../../shared/errors.ts';
import type { CircuitBreaker } from '../breaker/circuit-breaker.ts';
import { breakerRejectionError } from '../breaker/rejection-error.ts';
import type { BreakerConfig } from '../breaker/types.ts';
import type { Outcome, Step } from '../chain/types.ts';
import { type FallbackPolicy, type PerService, policyFor, type ResiliencePolicies } from '../policy/index.ts';
import { isMarkerGoverned, MARKER_BREAKER } from './marker-governed.ts';

export const FALLBACK_HEADER = 'x-mesher-fallback';

/** The `returnnull` answer: 200, empty body. Frozen and shared (the listener only reads it). */
export const RETURN_NULL: Outcome = Object.freeze({
  status: 200,
  headers: Object.freeze([FALLBACK_HEADER, 'returnnull', 'content-length', '0']) as unknown as string[],
  body: Buffer.alloc(0),
});

export interface CircuitBreakerStepDeps {
  readonly policies: ResiliencePolicies;
  readonly breakers: PerService<BreakerConfig, CircuitBreaker>;
}

function fallbackOr(fallback: FallbackPolicy, err: MeshError): Outcome {
  if (fallback.enabled && fallback.policy === 'returnnull') return RETURN_NULL;
  throw err;
}

export function createCircuitBreaker(deps: CircuitBreakerStepDeps): Step {
  const { policies, breakers } = deps;
  return async function circuitBreaker(call, next) {
    if (isMarkerGoverned(call, MARKER_BREAKER)) return next(call);
    const p = policyFor(policies, call.service);
    if (p.fallback.force) {
      return fallbackOr(
        p.fallback,
        new MeshError('CIRCUIT_OPEN', {
          service: call.service,
          message: 'Fallback forced by policy',
          headers: { 'retry-after': String(Math.max(1, Math.ceil(p.breaker.sleepWindowMs / 1000))) },
        }),
      );
    }
    const admission = breakers.get(call.service, p.breaker).tryAcquire();
    if (admission.kind === 'rejected')
      return fallbackOr(p.fallback, breakerRejectionError(call.service, admission));
    let out: Outcome;
    try {
      out = await next(call);
    } catch (err) {
      admission.release(
        call.signal.aborted ? 'ignored' : isMeshError(err) ? { errorCode: err.code } : 'failure',
      );
      throw err;
    }
    admission.release(call.signal.aborted ? 'ignored' : { status: out.status });
    return out;
  };
}
