/**
 * @module clock
 * Time and timers behind one small interface, so every time-dependent piece (leases, windows,
 * backoff, token buckets) takes a Clock and tests move a ManualClock forward instead of sleeping.
 */

export interface TimerHandle {
  /** Cancel the timer; calling it twice is harmless. */
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch (wall clock; ManualClock starts where the test says). */
  now(): number;
  /** Run `fn` once after `ms`. Real timers are unref'd: a pending timer never keeps the process alive. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Run `fn` every `ms` until cancelled. */
  setInterval(fn: () => void, ms: number): TimerHandle;
}

/** The process clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  setInterval(fn, ms) {
    const t = setInterval(fn, ms);
    t.unref();
    return { cancel: () => clearInterval(t) };
  },
};

interface ManualTimer {
  id: number;
  at: number;
  every: number; // 0 = one-shot
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when told to. `advance(ms)` fires due timers in time order, each seeing
 * `now()` equal to its own due time, exactly as a real clock would have.
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: ManualTimer[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.#add(fn, ms, 0);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.#add(fn, ms, Math.max(1, ms));
  }

  /** Number of timers still pending (useful to assert nothing leaks). */
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Move time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.#now + Math.max(0, ms);
    for (;;) {
      const next = this.#nextDue(target);
      if (!next) break;
      this.#now = next.at;
      if (next.every > 0) next.at += next.every;
      else next.cancelled = true;
      next.fn();
    }
    this.#now = target;
    this.#timers = this.#timers.filter((t) => !t.cancelled);
  }

  /** Set the wall clock without firing timers (simulates a jump, e.g. a process that was down). */
  set(ms: number): void {
    this.#now = ms;
  }

  #add(fn: () => void, ms: number, every: number): TimerHandle {
    const timer: ManualTimer = {
      id: this.#seq++,
      at: this.#now + Math.max(0, ms),
      every,
      fn,
      cancelled: false,
    };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  #nextDue(limit: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.#timers) {
      if (t.cancelled || t.at > limit) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.id < best.id)) best = t;
    }
    return best;
  }
}

/** A source of uniform randomness in [0, 1); injected where jitter or sampling is used. */
export type Random = () => number;
export const systemRandom: Random = Math.random;
