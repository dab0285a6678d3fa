/**
 * @module sidecar/steps/deadline-queue
 * Cheap timeouts for the hot path. A Node timer per request (create, unref, clear) cost about 1 µs;
 * most attempt timeouts share one duration (the service's `perTryMs`), so entries of the same
 * duration go into a list that is already sorted by deadline (each is added at the tail), and ONE
 * clock timer per duration watches it. The list is intrusive and doubly linked: an entry is its
 * own handle, `cancel()` unlinks it in O(1), so a cancelled entry is garbage at once and memory is
 * exactly the timers pending. (The first version kept cancelled entries in an array until a
 * compaction every ~1,000 cancels, so they survived scavenges and were promoted to the old space,
 * and allocated a handle and a closure per timer besides the entry.)
 *
 * The timer is not moved when the head is cancelled: it fires at the deadline it was armed for,
 * runs what is due and re-arms for the new head (if any). So a busy queue whose attempts end well
 * before their timeout wakes the event loop about once per duration, not once per request.
 *
 * Timers fire no earlier than their deadline; a re-armed queue fires at most `slackMs` late.
 */
import type { Clock, TimerHandle } from '../../shared/clock.ts';

/** One pending timeout: list node and handle at once (one allocation per timer). */
class Entry implements TimerHandle {
  prev: Entry | undefined = undefined;
  next: Entry | undefined = undefined;
  fn: (() => void) | undefined;
  readonly at: number;
  readonly #list: Fifo;

  constructor(list: Fifo, at: number, fn: () => void) {
    this.#list = list;
    this.at = at;
    this.fn = fn;
  }

  cancel(): void {
    if (this.fn === undefined) return;
    this.fn = undefined;
    this.#list.unlink(this);
  }
}

class Fifo {
  readonly #clock: Clock;
  readonly #slackMs: number;
  #head: Entry | undefined;
  #tail: Entry | undefined;
  #size = 0;
  #timer: TimerHandle | undefined;

  constructor(clock: Clock, slackMs: number) {
    this.#clock = clock;
    this.#slackMs = slackMs;
  }

  add(fn: () => void, ms: number): TimerHandle {
    const entry = new Entry(this, this.#clock.now() + ms, fn);
    const tail = this.#tail;
    if (tail === undefined) this.#head = entry;
    else {
      tail.next = entry;
      entry.prev = tail;
    }
    this.#tail = entry;
    this.#size++;
    if (this.#timer === undefined) this.#arm(entry.at, 0);
    return entry;
  }

  unlink(e: Entry): void {
    const { prev, next } = e;
    if (prev === undefined) this.#head = next;
    else prev.next = next;
    if (next === undefined) this.#tail = prev;
    else next.prev = prev;
    e.prev = undefined;
    e.next = undefined;
    this.#size--;
  }

  #arm(at: number, slack: number): void {
    this.#timer = this.#clock.setTimeout(() => this.#fire(), Math.max(0, at - this.#clock.now(), slack));
  }

  #fire(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    for (let e = this.#head; e !== undefined && e.at <= now; e = this.#head) {
      const fn = e.fn!;
      e.fn = undefined;
      this.unlink(e);
      fn();
    }
    // A callback may have added an entry (and armed the timer) already.
    if (this.#head !== undefined && this.#timer === undefined) this.#arm(this.#head.at, this.#slackMs);
  }

  get size(): number {
    return this.#size;
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
