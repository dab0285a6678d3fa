/**
 * @module bench/registry/open-loop
 * A precise open-loop request scheduler for the registry benchmark's find phase. Request k is due
 * at start + k/rate; the driver sleeps with setTimeout until about 1 ms before the due time, then
 * spins on setImmediate (which still lets the event loop read responses) until the due time, so
 * timer lateness stays out of the figures as far as the driver can manage. Latency counts from the
 * due time, not the actual send, so a stalled driver or server is still charged to the requests it
 * delayed (no coordinated omission); the driver's own share is reported separately as send
 * lateness (actual send − due). The first `warmupS` seconds run at the same rate but are not
 * recorded (warm connections, warm code on both sides).
 */

export interface OpenLoopOptions {
  /** Requests per second. */
  readonly rate: number;
  /** Recorded seconds (after the warm-up). */
  readonly seconds: number;
  /** Unrecorded seconds at the same rate before the recorded window. */
  readonly warmupS: number;
  /** Clock in ms (performance.now by default; injectable for tests). */
  readonly now?: () => number;
  /** Most requests in flight at once; beyond it the driver waits (and the wait counts as latency). */
  readonly maxInFlight?: number;
  /** setImmediate spin before each due time, ms (default SPIN_MS). */
  readonly spinMs?: number;
}

export interface OpenLoopResult {
  readonly ok: number;
  readonly failed: number;
  readonly firstError?: string;
  /** Recorded window length in seconds. */
  readonly seconds: number;
  /** Per recorded request: completion − due, in ms. */
  readonly latencies: number[];
  /** Per recorded request: actual send − due, in ms (the driver's own lateness). */
  readonly sendLateness: number[];
  /** Per recorded request: completion − actual send, in ms (what the server and wire took). */
  readonly fromSend: number[];
}

/** How long before the due time the setTimeout sleep ends and the spin begins (ms, default). */
export const SPIN_MS = 1;

/**
 * Resolve no earlier than `due` (per `now`): setTimeout to `spinMs` before, then setImmediate turns
 * until the due time. Resolves at once when `due` has passed.
 */
export async function waitUntil(
  due: number,
  now: () => number = () => performance.now(),
  spinMs = SPIN_MS,
): Promise<void> {
  const sleep = due - now() - spinMs;
  if (sleep >= 1) await new Promise<void>((r) => setTimeout(r, Math.floor(sleep)));
  if (now() >= due) return;
  // one promise for the whole spin (a promise per turn made the driver's own GC show in the tail)
  await new Promise<void>((resolve) => {
    const turn = (): void => {
      if (now() >= due) resolve();
      else setImmediate(turn);
    };
    setImmediate(turn);
  });
}

/**
 * Run `send` open loop per `opts`. `send` returns true for a good answer or a string saying what
 * was wrong; a throw counts as a failure with its message.
 */
export async function runOpenLoop(
  opts: OpenLoopOptions,
  send: () => Promise<boolean | string>,
): Promise<OpenLoopResult> {
  if (!(opts.rate > 0)) throw new RangeError(`open loop needs a positive rate, got ${opts.rate}`);
  const now = opts.now ?? (() => performance.now());
  const maxInFlight = opts.maxInFlight ?? 10_000;
  const interval = 1000 / opts.rate;
  const start = now();
  const recordFrom = start + opts.warmupS * 1000;
  const end = recordFrom + opts.seconds * 1000;
  const latencies: number[] = [];
  const sendLateness: number[] = [];
  const fromSend: number[] = [];
  let ok = 0;
  let failed = 0;
  let firstError: string | undefined;
  const inFlight = new Set<Promise<void>>();
  for (let k = 0; ; k++) {
    const due = start + k * interval;
    if (due >= end) break;
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    await waitUntil(due, now, opts.spinMs ?? SPIN_MS);
    const recorded = due >= recordFrom;
    const sentAt = now();
    if (recorded) sendLateness.push(sentAt - due);
    const p: Promise<void> = send().then(
      (r) => {
        if (!recorded) return;
        const t = now();
        latencies.push(t - due);
        fromSend.push(t - sentAt);
        if (r === true) ok++;
        else {
          failed++;
          firstError ??= typeof r === 'string' ? r : 'unexpected answer';
        }
      },
      (err: unknown) => {
        if (!recorded) return;
        const t = now();
        latencies.push(t - due);
        fromSend.push(t - sentAt);
        failed++;
        firstError ??= err instanceof Error ? err.message : String(err);
      },
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }
  await Promise.all(inFlight);
  return { ok, failed, firstError, seconds: opts.seconds, latencies, sendLateness, fromSend };
}
