/**
 * @module sidecar/breaker/sliding-accrual
 * The resilience4j failure-accrual state machine, used by the marker `servicecomb.circuitBreaker`
 * policies (Java chassis 2.x / go-chassis v2) through the same gate as the Hystrix one
 * (`new CircuitBreaker(name, config, { clock, accrual: (c) => new SlidingAccrual(c, spec) })`):
 *
 *   closed ──(window holds ≥ minimumNumberOfCalls calls and failure% ≥ failureRateThreshold
 *             or slow% ≥ slowCallRateThreshold)──▶ open
 *   open ──(waitDurationInOpenStateMs elapsed; checked by the next caller)──▶ halfOpen
 *   halfOpen: up to permittedNumberOfCallsInHalfOpenState trial calls; when all have reported,
 *             the same two rates over those calls decide ──▶ open (wait restarts) or closed (window reset)
 *
 * Windows: `count` = the last `slidingWindowSize` calls (a ring of bytes); `time` = the calls that
 * ended in the last `slidingWindowSize` seconds (a RollingCounter of at most 1000 buckets). As in
 * resilience4j a count window never needs more than its size, so the effective minimum is
 * min(minimumNumberOfCalls, slidingWindowSize). A call is slow when it took at least
 * `slowCallDurationThresholdMs` (a failure can also be slow). A rate threshold trips only when
 * at least one call of its kind was seen (a 0% threshold does not open an idle circuit).
 *
 * Trial permits that never report (leaked) are presumed lost after a whole open-state wait: the
 * half-open round restarts. `forceOpen` rejects everything, `forceClosed` lets everything through.
 * O(1) per call, no allocation after construction.
 */
import type { Clock } from '../../shared/clock.ts';
import { type Accrual, ALLOW, type CheckResult, REJECT, TRIAL } from './accrual.ts';
import { RollingCounter } from './rolling-counter.ts';
import type { CircuitState, Verdict } from './types.ts';

export interface SlidingAccrualSpec {
  /** Percent (0-100). */
  readonly failureRateThreshold: number;
  /** Percent (0-100). */
  readonly slowCallRateThreshold: number;
  readonly slowCallDurationThresholdMs: number;
  readonly minimumNumberOfCalls: number;
  readonly slidingWindowType: 'count' | 'time';
  /** Calls (count) or seconds (time). */
  readonly slidingWindowSize: number;
  readonly waitDurationInOpenStateMs: number;
  readonly permittedNumberOfCallsInHalfOpenState: number;
  readonly forceOpen: boolean;
  readonly forceClosed: boolean;
}

const FAILED = 1;
const SLOW = 2;
const CALLS = 0;
const FAILURES = 1;
const SLOWS = 2;
const MAX_TIME_BUCKETS = 1000;

/** A count window: the last `size` outcomes as bit flags, with running totals. */
class CountWindow {
  readonly #ring: Uint8Array;
  #next = 0;
  calls = 0;
  failures = 0;
  slows = 0;

  constructor(size: number) {
    this.#ring = new Uint8Array(size);
  }

  add(flags: number): void {
    if (this.calls === this.#ring.length) {
      const old = this.#ring[this.#next]!;
      if (old & FAILED) this.failures--;
      if (old & SLOW) this.slows--;
    } else this.calls++;
    this.#ring[this.#next] = flags;
    this.#next = (this.#next + 1) % this.#ring.length;
    if (flags & FAILED) this.failures++;
    if (flags & SLOW) this.slows++;
  }

  reset(): void {
    this.#ring.fill(0);
    this.#next = 0;
    this.calls = 0;
    this.failures = 0;
    this.slows = 0;
  }
}

export class SlidingAccrual implements Accrual {
  readonly #clock: Clock;
  readonly #spec: SlidingAccrualSpec;
  readonly #count: CountWindow | undefined;
  readonly #time: RollingCounter | undefined;
  readonly #minCalls: number;
  #state: CircuitState = 'closed';
  #openedAt = 0;
  /** Half-open round: generation, permits handed out, results in. */
  #gen = 0;
  #trialsStarted = 0;
  #trialCalls = 0;
  #trialFailures = 0;
  #trialSlows = 0;
  #lastTrialAt = 0;
  #stateChanges = 0;
  onTransition: ((from: CircuitState, to: CircuitState) => void) | undefined;

  constructor(clock: Clock, spec: SlidingAccrualSpec) {
    validateSlidingSpec(spec);
    this.#clock = clock;
    this.#spec = spec;
    if (spec.slidingWindowType === 'count') {
      this.#count = new CountWindow(spec.slidingWindowSize);
      this.#minCalls = Math.min(spec.minimumNumberOfCalls, spec.slidingWindowSize);
    } else {
      const buckets = Math.min(spec.slidingWindowSize, MAX_TIME_BUCKETS);
      this.#time = new RollingCounter(clock, {
        buckets,
        bucketMs: (spec.slidingWindowSize * 1000) / buckets,
        fields: 3,
      });
      this.#minCalls = spec.minimumNumberOfCalls;
    }
    if (spec.forceOpen) this.#state = 'open';
  }

  get state(): CircuitState {
    return this.#state;
  }

  get stateChanges(): number {
    return this.#stateChanges;
  }

  get windowRequests(): number {
    return this.#count ? this.#count.calls : this.#time!.sum(CALLS);
  }

  get windowErrors(): number {
    return this.#count ? this.#count.failures : this.#time!.sum(FAILURES);
  }

  /** Slow calls in the window (for the snapshot). */
  get windowSlowCalls(): number {
    return this.#count ? this.#count.slows : this.#time!.sum(SLOWS);
  }

  check(): CheckResult {
    const spec = this.#spec;
    if (spec.forceOpen) return REJECT;
    if (spec.forceClosed) return ALLOW;
    const now = this.#clock.now();
    switch (this.#state) {
      case 'closed':
        return ALLOW;
      case 'open':
        if (now - this.#openedAt < spec.waitDurationInOpenStateMs) return REJECT;
        this.#newRound();
        this.#transition('halfOpen');
        return TRIAL;
      case 'halfOpen':
        if (this.#trialsStarted < spec.permittedNumberOfCallsInHalfOpenState) return TRIAL;
        // Every permit is out; some never reported for a whole wait: presume them lost.
        if (now - this.#lastTrialAt >= spec.waitDurationInOpenStateMs) {
          this.#newRound();
          return TRIAL;
        }
        return REJECT;
    }
  }

  startTrial(): number {
    this.#trialsStarted++;
    this.#lastTrialAt = this.#clock.now();
    return this.#gen;
  }

  retryAfterMs(): number {
    const wait = this.#spec.waitDurationInOpenStateMs;
    if (this.#spec.forceOpen) return wait;
    if (this.#state === 'open') return Math.max(1, this.#openedAt + wait - this.#clock.now());
    return Math.min(1000, wait);
  }

  record(verdict: Verdict, trialGen: number, durationMs?: number): void {
    let flags = verdict === 'failure' ? FAILED : 0;
    if (durationMs !== undefined && durationMs >= this.#spec.slowCallDurationThresholdMs) flags |= SLOW;
    if (trialGen !== 0) {
      if (trialGen !== this.#gen || this.#state !== 'halfOpen') return; // a stale round
      this.#trialCalls++;
      if (flags & FAILED) this.#trialFailures++;
      if (flags & SLOW) this.#trialSlows++;
      if (this.#trialCalls < this.#spec.permittedNumberOfCallsInHalfOpenState) return;
      if (this.#exceeds(this.#trialCalls, this.#trialFailures, this.#trialSlows)) this.#open();
      else {
        this.#count?.reset();
        this.#time?.reset();
        this.#transition('closed');
      }
      return;
    }
    if (this.#count) this.#count.add(flags);
    else {
      const t = this.#time!;
      t.add(CALLS);
      if (flags & FAILED) t.add(FAILURES);
      if (flags & SLOW) t.add(SLOWS);
    }
    if (this.#state !== 'closed' || this.#spec.forceClosed) return;
    const calls = this.windowRequests;
    if (calls < this.#minCalls) return;
    if (this.#exceeds(calls, this.windowErrors, this.windowSlowCalls)) this.#open();
  }

  abandonTrial(trialGen: number): void {
    // The slot comes back: another caller may run the trial instead.
    if (trialGen === this.#gen && this.#state === 'halfOpen' && this.#trialsStarted > this.#trialCalls)
      this.#trialsStarted--;
  }

  /** The marker gate has no bulkhead of its own (./bulkhead.ts is separate): nothing to count. */
  recordRejection(): void {}

  #exceeds(calls: number, failures: number, slows: number): boolean {
    const spec = this.#spec;
    if (calls === 0) return false;
    if (failures > 0 && (failures * 100) / calls >= spec.failureRateThreshold) return true;
    return slows > 0 && (slows * 100) / calls >= spec.slowCallRateThreshold;
  }

  #newRound(): void {
    this.#gen++;
    this.#trialsStarted = 0;
    this.#trialCalls = 0;
    this.#trialFailures = 0;
    this.#trialSlows = 0;
  }

  #open(): void {
    this.#openedAt = this.#clock.now();
    this.#gen++; // late trial reports of the round that just ended are stale
    this.#transition('open');
  }

  #transition(to: CircuitState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#stateChanges++;
    this.onTransition?.(from, to);
  }
}

/** Throws a RangeError naming the first invalid field (config parsing reports all of them earlier). */
export function validateSlidingSpec(s: SlidingAccrualSpec): void {
  const int = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min)
      throw new RangeError(`${name} must be an integer >= ${min} (got ${v})`);
  };
  int('minimumNumberOfCalls', s.minimumNumberOfCalls, 1);
  int('slidingWindowSize', s.slidingWindowSize, 1);
  int('permittedNumberOfCallsInHalfOpenState', s.permittedNumberOfCallsInHalfOpenState, 1);
  if (!(s.waitDurationInOpenStateMs >= 1)) throw new RangeError('waitDurationInOpenStateMs must be >= 1');
  if (!(s.slowCallDurationThresholdMs >= 1)) throw new RangeError('slowCallDurationThresholdMs must be >= 1');
  for (const [n, v] of [
    ['failureRateThreshold', s.failureRateThreshold],
    ['slowCallRateThreshold', s.slowCallRateThreshold],
  ] as const)
    if (!(v >= 0 && v <= 100)) throw new RangeError(`${n} must be 0-100 (got ${v})`);
  if (s.forceOpen && s.forceClosed) throw new RangeError('forceOpen and forceClosed are mutually exclusive');
}
