/**
 * @module bench/hot-path/wakeups
 * Event-loop wake-ups of a proxy without stopping it (strace does, and distorts the count): the
 * main thread's voluntary context switches from /proc/PID/status. A Node main thread sleeps only
 * in epoll_wait, so each voluntary switch is one time the loop blocked and was woken again (by a
 * socket or a timer). Worker threads (libuv pool, V8 GC helpers) are not counted.
 */
import { readFileSync } from 'node:fs';

/** The main thread's voluntary_ctxt_switches; NaN when the process is gone. */
export function voluntarySwitches(pid: number): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^voluntary_ctxt_switches:\s+(\d+)/m);
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
