/**
 * @module sidecar/fault/fault-injector
 * Per-request fault decision for the consumer side (the original's
 * `cse.governance.Consumer.<svc>.policy.fault.protocols.rest.*`): with probability
 * `delay.percent`/100 wait `delay.fixedDelayMs`, then with probability `abort.percent`/100 answer
 * `abort.httpStatus` instead of calling upstream (the step throws MeshError FAULT_INJECTED with that
 * status). Randomness is injected, so tests are deterministic; each enabled fault draws exactly one
 * random number per request. Returns a shared frozen NO_FAULT object when nothing is injected.
 */
import type { Random } from '../../shared/clock.ts';

export interface FaultConfig {
  /** Percent of requests (0-100) delayed by fixedDelayMs. */
  readonly delayPercent: number;
  readonly delayFixedMs: number;
  /** Percent of requests (0-100) aborted with httpStatus. */
  readonly abortPercent: number;
  readonly abortHttpStatus: number;
}

export interface FaultDecision {
  /** Wait this long before going on (0 = no delay). */
  readonly delayMs: number;
  /** Answer with this status instead of calling upstream; undefined = call upstream. */
  readonly abortStatus?: number;
}

export const NO_FAULT: FaultDecision = Object.freeze({ delayMs: 0 });

export function validateFaultConfig(c: FaultConfig): void {
  for (const [n, v] of [
    ['delay.percent', c.delayPercent],
    ['abort.percent', c.abortPercent],
  ] as const) {
    if (!(v >= 0 && v <= 100)) throw new RangeError(`${n} must be 0-100 (got ${v})`);
  }
  if (!(Number.isInteger(c.delayFixedMs) && c.delayFixedMs >= 0))
    throw new RangeError('delay.fixedDelay must be an integer >= 0');
  if (c.delayPercent > 0 && c.delayFixedMs < 1)
    throw new RangeError('delay.fixedDelay must be >= 1 ms when delay.percent > 0');
  if (
    c.abortPercent > 0 &&
    !(Number.isInteger(c.abortHttpStatus) && c.abortHttpStatus >= 200 && c.abortHttpStatus <= 599)
  ) {
    throw new RangeError('abort.httpStatus must be 200-599 when abort.percent > 0');
  }
}

/** True when the config can ever inject anything (the chain builder may then skip the step). */
export function faultActive(c: FaultConfig): boolean {
  return (c.delayPercent > 0 && c.delayFixedMs > 0) || c.abortPercent > 0;
}

export class FaultInjector {
  readonly config: FaultConfig;
  readonly #random: Random;
  #delayed = 0;
  #aborted = 0;

  constructor(config: FaultConfig, deps: { readonly random: Random }) {
    validateFaultConfig(config);
    this.config = config;
    this.#random = deps.random;
  }

  decide(): FaultDecision {
    const c = this.config;
    let delayMs = 0;
    if (c.delayPercent > 0 && (c.delayPercent >= 100 || this.#random() * 100 < c.delayPercent)) {
      delayMs = c.delayFixedMs;
      this.#delayed++;
    }
    if (c.abortPercent > 0 && (c.abortPercent >= 100 || this.#random() * 100 < c.abortPercent)) {
      this.#aborted++;
      return { delayMs, abortStatus: c.abortHttpStatus };
    }
    return delayMs === 0 ? NO_FAULT : { delayMs };
  }

  counters(): { delayed: number; aborted: number } {
    return { delayed: this.#delayed, aborted: this.#aborted };
  }
}
