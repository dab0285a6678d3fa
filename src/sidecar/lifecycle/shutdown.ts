/**
 * @module sidecar/lifecycle/shutdown
 * The graceful-shutdown sequence, as plain sequential steps on the injected Clock:
 *
 *   1. mark draining      readiness answers 503, health checks and config watching stop
 *   2. deregister         DELETE the instance first, so peers stop picking it (watch events
 *                         reach them within milliseconds; pollers at their next refresh)
 *   3. drain period       listeners KEEP ACCEPTING and serving for `drainMs`: a peer that still has
 *                         the instance cached must not meet a refused connection or a reset
 *   (3b. before close)    optional hook: `mesher run` stops its app here and waits for it
 *   4. close listeners    stop accepting; in-flight requests get `inFlightTimeoutMs`, then every
 *                         remaining connection is cut
 *   5. release            discovery, registry client, telemetry
 *
 * The original deregistered and closed at once (no drain), never drained its loopback listener and
 * had no deadline; the hard deadline lives with the process (./signals.ts).
 */
import type { Clock, TimerHandle } from '../../shared/clock.ts';
import type { Logger } from '../../shared/log.ts';

export interface ShutdownSteps {
  /** Readiness → 503, stop health checks and config watching. Must not throw. */
  markDraining(): void;
  /** Deregister the instance (bounded by the registration's own timeout). */
  deregister(): Promise<void>;
  /**
   * After the drain period, before the listeners close (`mesher run`: signal the app and wait for
   * it to exit, so the app keeps its proxy for its own shutdown).
   */
  beforeClose?(): Promise<void>;
  /** Stop accepting, wait up to `inFlightTimeoutMs` for in-flight requests, cut the rest. */
  closeListeners(inFlightTimeoutMs: number): Promise<void>;
  /** Release everything else. */
  release(): Promise<void>;
}

export interface ShutdownTimings {
  readonly drainMs: number;
  readonly inFlightTimeoutMs: number;
}

export interface ShutdownReport {
  /** Clock ms from the start of the shutdown to each milestone. */
  readonly deregisteredAtMs: number;
  readonly drainEndedAtMs: number;
  readonly closedAtMs: number;
  /** The drain period was cut short by `endDrain` (e.g. the app of `mesher run` exited). */
  readonly drainCut: boolean;
}

export interface ShutdownHandle {
  readonly done: Promise<ShutdownReport>;
  /** End the drain period now (nothing is left to serve). Harmless at any other time. */
  endDrain(): void;
}

/** Wait `ms` on `clock`, or until `cut()` is called. Resolves with true when cut short. */
function cuttableWait(clock: Clock, ms: number): { wait: Promise<boolean>; cut: () => void } {
  let timer: TimerHandle | undefined;
  let resolveWait: (cut: boolean) => void = () => {};
  const wait = new Promise<boolean>((resolve) => {
    resolveWait = resolve;
    if (ms <= 0) resolve(false);
    else timer = clock.setTimeout(() => resolve(false), ms);
  });
  return {
    wait,
    cut: () => {
      timer?.cancel();
      resolveWait(true);
    },
  };
}

export function runShutdown(
  steps: ShutdownSteps,
  timings: ShutdownTimings,
  deps: { clock: Clock; log: Logger },
): ShutdownHandle {
  const { clock, log } = deps;
  const t0 = clock.now();
  const since = () => clock.now() - t0;
  let cutRequested = false;
  let cutNow: () => void = () => {
    cutRequested = true;
  };
  const done = (async (): Promise<ShutdownReport> => {
    steps.markDraining();
    try {
      await steps.deregister();
    } catch (err) {
      // The registry may be down: peers then learn from failed connects / lease expiry. Keep going.
      log.warn({ err }, 'deregistration failed; draining anyway');
    }
    const deregisteredAtMs = since();
    log.info({ drainMs: timings.drainMs }, 'deregistered; draining (still accepting)');
    const drain = cuttableWait(clock, cutRequested ? 0 : timings.drainMs);
    cutNow = drain.cut;
    const drainCut = (await drain.wait) || cutRequested;
    const drainEndedAtMs = since();
    if (steps.beforeClose) {
      try {
        await steps.beforeClose();
      } catch (err) {
        log.warn({ err }, 'before-close step failed; closing anyway');
      }
    }
    log.info({ inFlightTimeoutMs: timings.inFlightTimeoutMs, drainCut }, 'drain over; closing listeners');
    await steps.closeListeners(timings.inFlightTimeoutMs);
    await steps.release();
    const closedAtMs = since();
    log.info({ deregisteredAtMs, drainEndedAtMs, closedAtMs }, 'sidecar stopped');
    return { deregisteredAtMs, drainEndedAtMs, closedAtMs, drainCut };
  })();
  return { done, endDrain: () => cutNow() };
}
