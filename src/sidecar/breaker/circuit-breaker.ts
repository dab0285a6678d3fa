/**
 * @module sidecar/breaker/circuit-breaker
 * The gate: what the circuit-breaker step calls on every request. It joins the three parts of
 * STYLE.md practice 9 — the classifier (./classifier.ts), the accrual state machine
 * (./accrual.ts) and this gate — plus the bulkhead (a bound on concurrent calls).
 *
 * ```ts
 * const admission = breaker.tryAcquire();
 * if (admission.kind === 'rejected') throw new MeshError(admission.reason === 'open' ? 'CIRCUIT_OPEN' : 'BULKHEAD_FULL', ...);
 * try { const out = await next(call); admission.release({ status: out.status }); return out; }
 * catch (err) { admission.release(isMeshError(err) ? { errorCode: err.code } : 'failure'); throw err; }
 * ```
 *
 * Order of checks: forced-open/open circuit → bulkhead → half-open trial slot. In shadow mode
 * (`enabled && !enforced`) every would-be rejection is counted in `shadowRejections` and the call
 * goes through (bulkhead included: shadow mode never rejects). One object is allocated per call
 * (the Admission); everything else is O(1) counter arithmetic.
 */
import { channel } from 'node:diagnostics_channel';
import type { Clock } from '../../shared/clock.ts';
import { type Accrual, ALLOW, FailureAccrual, REJECT, TRIAL } from './accrual.ts';
import { type Classifier, createClassifier } from './classifier.ts';
import type {
  Admission,
  BreakerConfig,
  BreakerCounters,
  CircuitState,
  Permit,
  Rejection,
  ReleaseOutcome,
} from './types.ts';

export interface CircuitBreakerDeps {
  readonly clock: Clock;
  /**
   * Another accrual state machine (e.g. ./sliding-accrual.ts for marker policies); default the
   * Hystrix `FailureAccrual` built from `config`. Used only when `config.enabled`.
   */
  readonly accrual?: (clock: Clock) => Accrual;
}

/** Published on every circuit state change: `{ service, from, to }`. */
export const BREAKER_STATE_CHANNEL = 'mesher:breaker:state';
const stateChannel = channel(BREAKER_STATE_CHANNEL);

const BULKHEAD_REJECTION: Rejection = Object.freeze({
  kind: 'rejected',
  reason: 'bulkhead',
  retryAfterMs: 0,
});

class GatePermit implements Permit {
  readonly kind = 'allowed' as const;
  readonly #breaker: CircuitBreaker;
  readonly #trialGen: number;
  readonly shadowed: boolean;
  #released = false;

  constructor(breaker: CircuitBreaker, trialGen: number, shadowed: boolean) {
    this.#breaker = breaker;
    this.#trialGen = trialGen;
    this.shadowed = shadowed;
  }

  get trial(): boolean {
    return this.#trialGen !== 0;
  }

  release(outcome: ReleaseOutcome): void {
    if (this.#released) return;
    this.#released = true;
    this.#breaker._release(outcome, this.#trialGen);
  }
}

export class CircuitBreaker {
  readonly name: string;
  readonly config: BreakerConfig;
  readonly #accrual: Accrual | null;
  readonly #classify: Classifier;
  #inFlight = 0;
  #attempts = 0;
  #successes = 0;
  #failures = 0;
  #ignored = 0;
  #rejections = 0;
  #shortCircuits = 0;
  #shadowRejections = 0;
  #listener: ((from: CircuitState, to: CircuitState) => void) | undefined;

  constructor(name: string, config: BreakerConfig, deps: CircuitBreakerDeps) {
    validateBreakerConfig(config);
    this.name = name;
    this.config = config;
    this.#classify = createClassifier(config.classifier);
    this.#accrual = config.enabled
      ? (deps.accrual?.(deps.clock) ?? new FailureAccrual(deps.clock, config))
      : null;
    if (this.#accrual) {
      this.#accrual.onTransition = (from, to) => {
        if (stateChannel.hasSubscribers) stateChannel.publish({ service: name, from, to });
        try {
          this.#listener?.(from, to);
        } catch {
          // a faulty observer must not break the gate (tryAcquire/release never throw)
        }
      };
    }
  }

  /** Current circuit state ('closed' when the breaker is disabled). */
  get state(): CircuitState {
    return this.#accrual?.state ?? 'closed';
  }

  /** Calls currently holding a permit. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Set a listener for state transitions (tracing, logs). */
  set onTransition(fn: ((from: CircuitState, to: CircuitState) => void) | undefined) {
    this.#listener = fn;
  }

  /** Ask to make one call. Synchronous; never throws. */
  tryAcquire(): Admission {
    this.#attempts++;
    const shadow = !this.config.enforced;
    let shadowed = false;
    const accrual = this.#accrual;
    const decision = accrual === null ? ALLOW : accrual.check();
    if (decision === REJECT) {
      if (!shadow) {
        this.#shortCircuits++;
        return { kind: 'rejected', reason: 'open', retryAfterMs: accrual!.retryAfterMs() };
      }
      shadowed = true;
    }
    if (this.#inFlight >= this.config.maxConcurrentRequests) {
      accrual?.recordRejection();
      if (!shadow) {
        this.#rejections++;
        return BULKHEAD_REJECTION;
      }
      shadowed = true;
    }
    if (shadowed) this.#shadowRejections++;
    this.#inFlight++;
    const trialGen = decision === TRIAL ? accrual!.startTrial() : 0;
    return new GatePermit(this, trialGen, shadowed);
  }

  /** @internal called by a permit exactly once. */
  _release(outcome: ReleaseOutcome, trialGen: number): void {
    this.#inFlight--;
    if (outcome === 'ignored') {
      this.#ignored++;
      if (trialGen !== 0) this.#accrual?.abandonTrial(trialGen);
      return;
    }
    const verdict = typeof outcome === 'string' ? outcome : this.#classify(outcome);
    if (verdict === 'success') this.#successes++;
    else this.#failures++;
    this.#accrual?.record(verdict, trialGen, typeof outcome === 'string' ? undefined : outcome.durationMs);
  }

  /** A point-in-time copy of the counters (allocates; for metrics scrapes, not the hot path). */
  counters(): BreakerCounters {
    return {
      state: this.state,
      attempts: this.#attempts,
      successes: this.#successes,
      failures: this.#failures,
      ignored: this.#ignored,
      rejections: this.#rejections,
      shortCircuits: this.#shortCircuits,
      shadowRejections: this.#shadowRejections,
      stateChanges: this.#accrual?.stateChanges ?? 0,
      inFlight: this.#inFlight,
      windowRequests: this.#accrual?.windowRequests ?? 0,
      windowErrors: this.#accrual?.windowErrors ?? 0,
    };
  }
}

/** Throws a RangeError naming the first invalid field (config parsing reports all of them earlier). */
export function validateBreakerConfig(c: BreakerConfig): void {
  const positiveInt = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min)
      throw new RangeError(`${name} must be an integer >= ${min} (got ${v})`);
  };
  positiveInt('requestVolumeThreshold', c.requestVolumeThreshold, 0);
  positiveInt('sleepWindowMs', c.sleepWindowMs, 1);
  positiveInt('rollingWindowMs', c.rollingWindowMs, 1);
  positiveInt('rollingBuckets', c.rollingBuckets, 1);
  positiveInt('maxConcurrentRequests', c.maxConcurrentRequests, 1);
  if (!(c.errorThresholdPercentage >= 0 && c.errorThresholdPercentage <= 100)) {
    throw new RangeError(`errorThresholdPercentage must be 0-100 (got ${c.errorThresholdPercentage})`);
  }
  if (c.rollingWindowMs % c.rollingBuckets !== 0) {
    throw new RangeError('rollingWindowMs must be a multiple of rollingBuckets');
  }
  if (c.forceOpen && c.forceClosed) throw new RangeError('forceOpen and forceClosed are mutually exclusive');
}
