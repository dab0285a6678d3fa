/**
 * @module sidecar/breaker/classifier
 * The pure first part of the circuit breaker (STYLE.md practice 9): decide whether one finished
 * call was a success or a failure. A call the proxy failed itself is judged by its error code
 * (so a proxy-made 503 such as BULKHEAD_FULL does not count as an upstream 5xx); otherwise by the
 * upstream status. Lookup is a table index: O(1), no allocation.
 */
import type { CallSummary, ClassifierConfig, Verdict } from './types.ts';

/** Proxy error codes that mean the upstream failed (timeouts, connect failures, resets, garbage). */
export const DEFAULT_FAILURE_ERROR_CODES: readonly string[] = Object.freeze([
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_CONNECT',
  'UPSTREAM_RESET',
  'UPSTREAM_PROTOCOL',
]);

/** Every 5xx. */
export const DEFAULT_FAILURE_STATUSES: readonly number[] = Object.freeze(
  Array.from({ length: 100 }, (_, i) => 500 + i),
);

export const DEFAULT_CLASSIFIER: ClassifierConfig = Object.freeze({
  failureStatuses: DEFAULT_FAILURE_STATUSES,
  failureErrorCodes: DEFAULT_FAILURE_ERROR_CODES,
});

export type Classifier = (call: CallSummary) => Verdict;

/**
 * Build a classifier. A summary with neither status nor error code is a success (nothing went
 * wrong that we can see). Statuses outside 100-599 are failures: no valid upstream sends them.
 */
export function createClassifier(config: ClassifierConfig = DEFAULT_CLASSIFIER): Classifier {
  const statuses = new Uint8Array(600);
  for (const s of config.failureStatuses) {
    if (!Number.isInteger(s) || s < 100 || s > 599)
      throw new RangeError(`failure status ${s} is not 100-599`);
    statuses[s] = 1;
  }
  const codes = new Set(config.failureErrorCodes);
  return function classify(call: CallSummary): Verdict {
    if (call.errorCode !== undefined) return codes.has(call.errorCode) ? 'failure' : 'success';
    const s = call.status;
    if (s === undefined) return 'success';
    if (!(s >= 100 && s <= 599)) return 'failure';
    return statuses[s] === 1 ? 'failure' : 'success';
  };
}
