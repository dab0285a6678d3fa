/**
 * @module sidecar/steps/deadline-queue
 * Cheap timeouts for the hot path. A Node timer per request (create, unref, clear) cost about 1 µs;
 * most attempt timeouts share one duration (the service's `perTryMs`), so entries of the same
 * duration go into a FIFO that is already sorted by deadline, and ONE clock timer per duration
 * watches its head. Cancelling only marks an entry; cancelled entries are dropped when they reach
 * the head, and the FIFO is compacted when they pile up, so memory stays proportional to the
 * calls in flight. Durations beyond `maxQueues` distinct values fall back to plain clock timers.
 *
 * Timers fire no earlier than their deadline; a re-armed queue fires at most `slackMs` late.
 */
import type { Clock, TimerHandle } from '../../shared/clock.ts';

interface Entry {
  readonly at: number;
  fn: (() => void) | undefined;
}

const COMPACT_MIN = 1024;

class Fifo {
  readonly #clock: Clock;
  readonly #slackMs: number;
  #items: Entry[] = [];
  #head = 0;
  #cancelled = 0;
  #timer: TimerHandle | undefined;
  #armedAt = 0;

  constructor(clock: Clock, slackMs: number) {
    this.#clock = clock;
    this.#slackMs = slackMs;
  }

  add(fn: () => void, ms: number): TimerHandle {
    const entry: Entry = { at: this.#clock.now() + ms, fn };
    this.#items.push(entry);
    if (this.#timer === undefined) this.#arm(entry.at, 0);
    return {
      cancel: () => {
        if (entry.fn === undefined) return;
        entry.fn = undefined;
        if (++this.#cancelled > COMPACT_MIN && this.#cancelled * 2 > this.#items.length - this.#head)
          this.#compact();
      },
    };
  }

  #arm(at: number, slack: number): void {
    const now = this.#clock.now();
    this.#armedAt = at;
    this.#timer = this.#clock.setTimeout(() => this.#fire(), Math.max(0, at - now, slack));
  }

  #fire(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    const items = this.#items;
    while (this.#head < items.length && items[this.#head]!.at <= now) {
      const e = items[this.#head]!;
      items[this.#head++] = undefined as unknown as Entry;
      const fn = e.fn;
      if (fn === undefined) this.#cancelled--;
      else {
        e.fn = undefined;
        fn();
      }
    }
    if (this.#head === items.length) {
      this.#items = [];
      this.#head = 0;
      this.#cancelled = 0;
      return;
    }
    if (this.#head > COMPACT_MIN && this.#head * 2 > items.length) this.#compact();
    if (this.#timer === undefined) this.#arm(this.#items[this.#head]!.at, this.#slackMs);
  }

  #compact(): void {
    const live: Entry[] = [];
    const items = this.#items;
    for (let i = this.#head; i < items.length; i++) if (items[i]!.fn !== undefined) live.push(items[i]!);
    this.#items = live;
    this.#head = 0;
    this.#cancelled = 0;
    if (this.#timer !== undefined && live.length > 0 && live[0]!.at > this.#armedAt + this.#slackMs) {
      // the armed head was cancelled: no need to wake before the new head
      this.#timer.cancel();
      this.#arm(live[0]!.at, 0);
    }
  }

  get size(): number {
    return this.#items.length - this.#head - this.#cancelled;
  }
}

export class DeadlineQueue {
  readonly #clock: Clock;
  readonly #queues = new Map<number, Fifo>();
  readonly #maxQueues: number;
  readonly #slackMs: number;

  constructor(clock: Clock, opts: { maxQueues?: number; slackMs?: number } = {}) {
    this.#clock = clock;
    this.#maxQueues = opts.maxQueues ?? 16;
    this.#slackMs = opts.slackMs ?? 5;
  }

  /** Run `fn` once after `ms` (same contract as Clock.setTimeout). */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    let q = this.#queues.get(ms);
    if (q === undefined) {
      if (this.#queues.size >= this.#maxQueues) return this.#clock.setTimeout(fn, ms);
      q = new Fifo(this.#clock, this.#slackMs);
      this.#queues.set(ms, q);
    }
    return q.add(fn, ms);
  }

  /** Live (not cancelled, not fired) entries: for tests and the admin snapshot. */
  get pending(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.size;
    return n;
  }
}
