/**
 * @module sidecar/breaker/accrual
 * The failure-accrual state machine (Hystrix semantics, written as three explicit states):
 *
 *   closed ──(window ≥ requestVolumeThreshold requests and error% ≥ threshold)──▶ open
 *   open ──(sleepWindowMs elapsed; next caller becomes the one trial)──▶ halfOpen
 *   halfOpen ──(trial succeeds)──▶ closed, statistics reset
 *   halfOpen ──(trial fails)──▶ open, sleep window restarts
 *
 * Exactly one trial runs at a time. A trial that reports nothing for a whole sleep window is
 * presumed lost (its late report is ignored) and the next caller becomes a new trial, so a leaked
 * permit cannot wedge a circuit open forever. A trial released as 'ignored' (client went away)
 * simply frees the trial slot.
 *
 * Errors = failures + bulkhead rejections (as in Hystrix); open-circuit rejections are not
 * recorded. All methods are O(1) and allocation-free.
 */
import type { Clock } from '../../shared/clock.ts';
import { RollingCounter } from './rolling-counter.ts';
import type { BreakerConfig, CircuitState, Verdict } from './types.ts';

const REQUESTS = 0;
const ERRORS = 1;

/** Result of `check()`: let it through, reject it, or it may become the half-open trial. */
export const ALLOW = 0;
export const REJECT = 1;
export const TRIAL = 2;
export type CheckResult = typeof ALLOW | typeof REJECT | typeof TRIAL;

type AccrualConfig = Pick<
  BreakerConfig,
  | 'forceOpen'
  | 'forceClosed'
  | 'requestVolumeThreshold'
  | 'errorThresholdPercentage'
  | 'sleepWindowMs'
  | 'rollingWindowMs'
  | 'rollingBuckets'
>;

/**
 * What the gate (./circuit-breaker.ts) asks of an accrual state machine. `FailureAccrual` is the
 * Hystrix one; ./sliding-accrual.ts is the resilience4j one the marker policies use.
 */
export interface Accrual {
  readonly state: CircuitState;
  readonly stateChanges: number;
  readonly windowRequests: number;
  readonly windowErrors: number;
  onTransition: ((from: CircuitState, to: CircuitState) => void) | undefined;
  check(): CheckResult;
  startTrial(): number;
  retryAfterMs(): number;
  record(verdict: Verdict, trialGen: number, durationMs?: number): void;
  abandonTrial(trialGen: number): void;
  recordRejection(): void;
}

export class FailureAccrual implements Accrual {
  readonly #clock: Clock;
  readonly #cfg: AccrualConfig;
  readonly #window: RollingCounter;
  #state: CircuitState = 'closed';
  #openedAt = 0;
  #trialInFlight = false;
  #trialStartedAt = 0;
  /** Generation of the current trial; a permit reports with the generation it was given. */
  #trialGen = 0;
  #stateChanges = 0;
  /** Called on every transition (for tracing/metrics); must not throw. */
  onTransition: ((from: CircuitState, to: CircuitState) => void) | undefined;

  constructor(clock: Clock, cfg: AccrualConfig) {
    this.#clock = clock;
    this.#cfg = cfg;
    this.#window = new RollingCounter(clock, {
      buckets: cfg.rollingBuckets,
      bucketMs: cfg.rollingWindowMs / cfg.rollingBuckets,
      fields: 2,
    });
    if (cfg.forceOpen) this.#state = 'open';
  }

  get state(): CircuitState {
    return this.#state;
  }

  get stateChanges(): number {
    return this.#stateChanges;
  }

  get windowRequests(): number {
    return this.#window.sum(REQUESTS);
  }

  get windowErrors(): number {
    return this.#window.sum(ERRORS);
  }

  /**
   * May a call go now? Moves open → halfOpen once the sleep window has passed, but does not take
   * the trial slot: the gate calls `startTrial()` after its other checks (bulkhead) pass.
   */
  check(): CheckResult {
    if (this.#cfg.forceOpen) return REJECT;
    if (this.#cfg.forceClosed) return ALLOW;
    switch (this.#state) {
      case 'closed':
        return ALLOW;
      case 'open':
        if (this.#clock.now() - this.#openedAt < this.#cfg.sleepWindowMs) return REJECT;
        this.#transition('halfOpen');
        return TRIAL;
      case 'halfOpen':
        if (!this.#trialInFlight) return TRIAL;
        // A trial silent for a whole sleep window is presumed lost; let a new one start.
        return this.#clock.now() - this.#trialStartedAt >= this.#cfg.sleepWindowMs ? TRIAL : REJECT;
    }
  }

  /** Take the trial slot; returns the generation the trial's result must report with. */
  startTrial(): number {
    this.#trialInFlight = true;
    this.#trialStartedAt = this.#clock.now();
    return ++this.#trialGen;
  }

  /** Milliseconds until a rejected caller might get through. */
  retryAfterMs(): number {
    if (this.#cfg.forceOpen) return this.#cfg.sleepWindowMs;
    if (this.#state === 'open')
      return Math.max(1, this.#openedAt + this.#cfg.sleepWindowMs - this.#clock.now());
    // halfOpen with a trial running: its verdict is usually quick; suggest a short wait.
    return Math.min(1000, this.#cfg.sleepWindowMs);
  }

  /** Record the result of a call. `trialGen` is 0 for ordinary calls. */
  record(verdict: Verdict, trialGen: number): void {
    this.#window.add(REQUESTS);
    if (verdict === 'failure') this.#window.add(ERRORS);
    if (trialGen !== 0) {
      if (trialGen !== this.#trialGen || this.#state !== 'halfOpen') return; // stale trial
      this.#trialInFlight = false;
      if (verdict === 'success') {
        this.#window.reset();
        this.#transition('closed');
      } else {
        this.#open();
      }
      return;
    }
    // Checked after successes too: the error share can reach the threshold when the volume does.
    this.#maybeTrip();
  }

  /** A trial that ended without a verdict (client went away): free the slot, stay half-open. */
  abandonTrial(trialGen: number): void {
    if (trialGen === this.#trialGen) this.#trialInFlight = false;
  }

  /** A bulkhead rejection counts as an error (Hystrix semantics). */
  recordRejection(): void {
    this.#window.add(REQUESTS);
    this.#window.add(ERRORS);
    this.#maybeTrip();
  }

  #maybeTrip(): void {
    if (this.#state !== 'closed' || this.#cfg.forceClosed) return;
    const requests = this.#window.sum(REQUESTS);
    if (requests < this.#cfg.requestVolumeThreshold || requests === 0) return;
    const errors = this.#window.sum(ERRORS);
    if (errors === 0) return; // a 0% threshold still needs at least one error
    if (Math.round((errors * 100) / requests) >= this.#cfg.errorThresholdPercentage) this.#open();
  }

  #open(): void {
    this.#openedAt = this.#clock.now();
    this.#trialInFlight = false;
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
