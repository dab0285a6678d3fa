/**
 * @module sidecar/steps/outlier
 * Outlier ejection (issue 4 item 4): passive health per endpoint. Runs once per attempt, between
 * the retry step and the timeout step (so an attempt's timeout is seen here at once, with the
 * endpoint it happened on):
 *
 * - before the attempt, endpoints the service's `OutlierDetector` has ejected join `call.exclude`
 *   (a new set only while something is ejected; the call's own exclusions are restored after);
 *   if that leaves nothing to pick, the attempt runs without the ejected ones excluded;
 * - after it, the endpoint the balancer chose is reported as success or failure by the breaker's
 *   classifier (5xx, timeouts, connect failures and resets fail by default).
 *
 * The detector caps ejections at `maxEjectionPercent` of the endpoints it knows.
 */
import { isMeshError } from '../../shared/errors.ts';
import { type Classifier, createClassifier } from '../breaker/classifier.ts';
import type { ClassifierConfig } from '../breaker/types.ts';
import type { CallContext, Next, Outcome, Step } from '../chain/types.ts';
import type { OutlierConfig, OutlierDetector } from '../outlier/outlier-detector.ts';
import { type PerService, policyFor, type ResiliencePolicies } from '../policy/index.ts';
import type { GovernanceCounters } from '../telemetry/counters.ts';

/** A detector plus the ejected set last published to the counters. */
export interface TrackedDetector {
  readonly detector: OutlierDetector;
  readonly service: string;
  published: Set<string>;
}

export interface OutlierStepDeps {
  readonly policies: ResiliencePolicies;
  readonly detectors: PerService<OutlierConfig, TrackedDetector>;
  readonly counters?: GovernanceCounters;
}

const classifiers = new WeakMap<ClassifierConfig, Classifier>();
function classifierOf(c: ClassifierConfig): Classifier {
  let f = classifiers.get(c);
  if (f === undefined) {
    f = createClassifier(c);
    classifiers.set(c, f);
  }
  return f;
}

/** Publish ejections/restorations to the counters (runs only when the ejected set changed size or grew). */
export function syncEjections(t: TrackedDetector, counters: GovernanceCounters | undefined): void {
  const now = t.detector.ejectedKeys();
  if (now.size === t.published.size && [...now].every((k) => t.published.has(k))) return;
  for (const k of now) if (!t.published.has(k)) counters?.ejection.eject(t.service, k);
  for (const k of t.published) if (!now.has(k)) counters?.ejection.restore(t.service, k);
  t.published = new Set(now);
}

export function createOutlier(deps: OutlierStepDeps): Step {
  const { policies, detectors, counters } = deps;

  async function attempt(call: CallContext, next: Next, tracked: TrackedDetector, classify: Classifier) {
    let out: Outcome;
    try {
      out = await next(call);
    } catch (err) {
      const key = call.endpoint?.key;
      // Errors before an endpoint was picked (NO_ENDPOINTS...) are not failures by the classifier.
      if (key !== undefined && isMeshError(err) && !call.signal.aborted) {
        if (classify({ errorCode: err.code }) === 'failure') report(tracked, key, false);
      }
      throw err;
    }
    const key = call.endpoint?.key;
    if (key !== undefined) report(tracked, key, classify(out) === 'success');
    return out;
  }

  function report(tracked: TrackedDetector, key: string, ok: boolean): void {
    const d = tracked.detector;
    const before = d.ejectedKeys().size;
    d.report(key, ok);
    if (d.ejectedKeys().size !== before) syncEjections(tracked, counters);
  }

  /** An attempt with the ejected endpoints excluded (and without them if that leaves none). */
  async function excluding(
    call: CallContext,
    next: Next,
    tracked: TrackedDetector,
    classify: Classifier,
    ejected: ReadonlySet<string>,
  ): Promise<Outcome> {
    const own = call.exclude;
    const union = new Set(ejected);
    if (own !== undefined) for (const k of own) union.add(k);
    call.exclude = union;
    try {
      return await attempt(call, next, tracked, classify);
    } catch (err) {
      if (!isMeshError(err) || err.code !== 'NO_ENDPOINTS' || call.signal.aborted) throw err;
      call.exclude = own; // never empty a service because of ejections
      return await attempt(call, next, tracked, classify);
    } finally {
      call.exclude = own;
    }
  }

  // Not async: the common cases hand back `attempt`'s (or `next`'s) promise without a wrapper.
  return function outlier(call, next) {
    const p = policyFor(policies, call.service);
    if (!p.outlier.enabled) return next(call);
    const tracked = detectors.get(call.service, p.outlier);
    const classify = classifierOf(p.breaker.classifier);
    const ejected = tracked.detector.ejectedKeys();
    if (ejected.size !== tracked.published.size) syncEjections(tracked, counters);
    if (ejected.size === 0) return attempt(call, next, tracked, classify);
    return excluding(call, next, tracked, classify, ejected);
  };
}
