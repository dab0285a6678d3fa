/**
 * @module sidecar/steps/marker-bulkhead
 * The marker `servicecomb.bulkhead.<marker>` policy, either side: a call the first matching
 * policy's marker selects needs a slot of that policy's bulkhead for its service
 * (`maxConcurrentCalls`), waiting up to `maxWaitDuration` for one (0 = not at all). No slot →
 * 503 BULKHEAD_FULL (the per-service concurrency limit's code). The slot is held until the response
 * head arrives, as the per-service bulkhead holds its permit.
 */
import { MeshError } from '../../shared/errors.ts';
import type { Step } from '../chain/types.ts';
import type { MarkerEngines } from '../governance/marker-engines.ts';
import type { GovernanceCounters } from '../telemetry/counters.ts';
import { MARKER_BULKHEAD, markGoverned } from './marker-governed.ts';

export interface MarkerBulkheadDeps {
  readonly engines: MarkerEngines;
  readonly counters?: GovernanceCounters;
}

export function createMarkerBulkhead(deps: MarkerBulkheadDeps): Step {
  const { engines, counters } = deps;
  return async function markerBulkhead(call, next) {
    const slot = engines.bulkhead.first(call);
    if (slot === undefined) return next(call);
    markGoverned(call, MARKER_BULKHEAD);
    const bulkhead = engines.bulkheadFor(slot, call.service);
    if (!bulkhead.tryAcquire() && !(await bulkhead.acquire(call.signal))) {
      counters?.bulkheadRejected?.inc(slot.name, call.service);
      const p = slot.policy;
      throw new MeshError('BULKHEAD_FULL', {
        service: call.service,
        message: `Too many concurrent requests (bulkhead policy "${slot.name}": ${p.maxConcurrentCalls} at once, waited ${p.maxWaitDurationMs} ms)`,
      });
    }
    try {
      return await next(call);
    } finally {
      bulkhead.release();
    }
  };
}
