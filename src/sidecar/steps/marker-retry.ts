/**
 * @module sidecar/steps/marker-retry
 * The marker `servicecomb.retry.<marker>` policy, consumer side (outbound) only, as in Java chassis
 * where retry is a consumer concern: a call the first matching policy's marker selects is retried
 * by the shared retry loop (./retry.ts `runRetries`: bounded body replay, the call's deadline, the
 * service's retry budget, endpoint exclusion and `retryOnSame` pinning) under the marker's policy
 * (src/sidecar/governance/retry-policy.ts).
 *
 * It sets `call.retrying` before the first attempt, so the per-service retry step further down
 * leaves the call alone (the marker policy wins; `maxAttempts: 1` therefore means no retry at all).
 */
import type { Clock } from '../../shared/clock.ts';
import type { Step } from '../chain/types.ts';
import type { MarkerEngines } from '../governance/marker-engines.ts';
import type { GovernanceCounters } from '../telemetry/counters.ts';
import { MARKER_RETRY, markGoverned } from './marker-governed.ts';
import { DEFAULT_REPLAY_MAX_BYTES } from './replay-body.ts';
import { runRetries } from './retry.ts';

export interface MarkerRetryDeps {
  readonly engines: MarkerEngines;
  readonly clock: Clock;
  readonly counters?: GovernanceCounters;
  /** Largest request body kept for replay (default 64 KiB). */
  readonly replayMaxBytes?: number;
}

export function createMarkerRetry(deps: MarkerRetryDeps): Step {
  const { engines, clock, counters } = deps;
  const maxBytes = deps.replayMaxBytes ?? DEFAULT_REPLAY_MAX_BYTES;
  return function markerRetry(call, next) {
    if (call.kind !== 'request' || call.direction !== 'outbound' || call.retrying === true) return next(call);
    const slot = engines.retry.first(call);
    if (slot === undefined) return next(call);
    slot.calls++;
    markGoverned(call, MARKER_RETRY);
    if (slot.attempts.maxAttempts <= 1) {
      call.retrying = true;
      return next(call);
    }
    return runRetries(call, next, {
      policy: slot.attempts,
      backoff: slot.backoff,
      budget: engines.budgetFor(call.service),
      clock,
      counters,
      maxBytes,
    });
  };
}
