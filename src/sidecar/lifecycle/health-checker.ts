/**
 * @module sidecar/lifecycle/health-checker
 * Schedules the local health checks and keeps one state per check (the original shared one status
 * across checks, so two checks flapped it). The local app is healthy only when EVERY check passes.
 *
 * - Every check starts `failing` (not yet seen healthy) and runs at once on `start()` — not after
 *   one interval, as the original did.
 * - Until a check has passed for the first time it is retried every `min(interval, 1s)`, so an
 *   app that starts after its sidecar (`mesher run`) is seen within a second.
 * - A passing check turns failing after `failureThreshold` consecutive failures; a failing one
 *   turns passing after `successThreshold` consecutive successes.
 * - The next run is scheduled when the previous one finished: probes of one check never overlap.
 * - `onChange` listeners hear every change of the aggregate (healthy ↔ unhealthy), synchronously
 *   after the probe result that caused it.
 */
import { type Clock, systemClock, type TimerHandle } from '../../shared/clock.ts';
import { createLogger, type Logger } from '../../shared/log.ts';
import type { HealthCheckSpec } from './health-check-config.ts';
import { createHealthProbe, type HealthProbe, type ProbeOutcome } from './health-probe.ts';

/** Retry period of a check that has never passed yet (capped by its interval). */
export const STARTUP_RETRY_MS = 1000;

export interface CheckStatus {
  readonly name: string;
  /** `rest 127.0.0.1:8080/health` or `tcp 127.0.0.1:8080`. */
  readonly target: string;
  readonly passing: boolean;
  /** Number of completed probes. */
  readonly runs: number;
  readonly consecutiveFailures: number;
  readonly consecutiveSuccesses: number;
  readonly lastDetail?: string;
  /** Clock time of the last completed probe. */
  readonly lastCheckedAt?: number;
}

export interface HealthReport {
  /** Every check passes. */
  readonly healthy: boolean;
  readonly checks: readonly CheckStatus[];
}

export interface LocalHealthChecker {
  /** Run every check now and keep them scheduled. Resolves after the first round with the report. */
  start(): Promise<HealthReport>;
  report(): HealthReport;
  healthy(): boolean;
  /** Hear aggregate changes. Returns an unsubscribe function. */
  onChange(listener: (healthy: boolean, report: HealthReport) => void): () => void;
  /** Resolves when no probe is in flight (tests: after `clock.advance`). */
  idle(): Promise<void>;
  /** Cancel timers; results of probes still in flight are dropped. Safe to call twice. */
  stop(): void;
}

export interface LocalHealthCheckerOptions {
  readonly checks: readonly HealthCheckSpec[];
  readonly clock?: Clock;
  /** Default: the real HTTP/TCP probe on the same clock. */
  readonly probe?: HealthProbe;
  readonly logger?: Logger;
}

interface CheckState {
  readonly spec: HealthCheckSpec;
  passing: boolean;
  everPassed: boolean;
  runs: number;
  failures: number;
  successes: number;
  lastDetail?: string;
  lastCheckedAt?: number;
  timer?: TimerHandle;
  inFlight?: Promise<void>;
}

function targetOf(spec: HealthCheckSpec): string {
  return spec.protocol === 'rest'
    ? `rest ${spec.host}:${spec.port}${spec.uri}`
    : `tcp ${spec.host}:${spec.port}`;
}

export function createLocalHealthChecker(opts: LocalHealthCheckerOptions): LocalHealthChecker {
  const clock = opts.clock ?? systemClock;
  const probe = opts.probe ?? createHealthProbe(clock);
  const log = opts.logger ?? createLogger('sidecar.health-check');
  const states: CheckState[] = opts.checks.map((spec) => ({
    spec,
    passing: false,
    everPassed: false,
    runs: 0,
    failures: 0,
    successes: 0,
  }));
  const listeners = new Set<(healthy: boolean, report: HealthReport) => void>();
  let stopped = false;
  let started: Promise<HealthReport> | undefined;
  let lastHealthy = false;

  const allPassing = () => states.length > 0 && states.every((s) => s.passing);

  function report(): HealthReport {
    return {
      healthy: allPassing(),
      checks: states.map((s) => ({
        name: s.spec.name,
        target: targetOf(s.spec),
        passing: s.passing,
        runs: s.runs,
        consecutiveFailures: s.failures,
        consecutiveSuccesses: s.successes,
        ...(s.lastDetail === undefined ? {} : { lastDetail: s.lastDetail }),
        ...(s.lastCheckedAt === undefined ? {} : { lastCheckedAt: s.lastCheckedAt }),
      })),
    };
  }

  function apply(s: CheckState, r: ProbeOutcome): void {
    s.runs++;
    s.lastDetail = r.detail;
    s.lastCheckedAt = clock.now();
    if (r.ok) {
      s.successes++;
      s.failures = 0;
      if (!s.passing && s.successes >= s.spec.successThreshold) {
        s.passing = true;
        s.everPassed = true;
        log.info({ check: s.spec.name, target: targetOf(s.spec) }, 'local health check passing');
      }
    } else {
      s.failures++;
      s.successes = 0;
      if (s.passing && s.failures >= s.spec.failureThreshold) {
        s.passing = false;
        log.warn(
          { check: s.spec.name, target: targetOf(s.spec), reason: r.detail },
          'local health check failing',
        );
      }
    }
    const healthy = allPassing();
    if (healthy === lastHealthy) return;
    lastHealthy = healthy;
    const rep = report();
    for (const l of listeners) {
      try {
        l(healthy, rep);
      } catch (err) {
        log.error({ err }, 'health listener threw');
      }
    }
  }

  function schedule(s: CheckState): void {
    if (stopped) return;
    const wait = s.everPassed ? s.spec.intervalMs : Math.min(s.spec.intervalMs, STARTUP_RETRY_MS);
    s.timer = clock.setTimeout(() => {
      s.timer = undefined;
      void run(s);
    }, wait);
  }

  function run(s: CheckState): Promise<void> {
    const p = probe(s.spec)
      .catch((err: unknown): ProbeOutcome => ({ ok: false, detail: String(err) }))
      .then((r) => {
        s.inFlight = undefined;
        if (stopped) return;
        apply(s, r);
        schedule(s);
      });
    s.inFlight = p;
    return p;
  }

  return {
    start() {
      started ??= Promise.all(states.map(run)).then(report);
      return started;
    },
    report,
    healthy: allPassing,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async idle() {
      // A finished probe may schedule nothing new synchronously, so one pass is enough.
      await Promise.all(states.map((s) => s.inFlight));
    },
    stop() {
      stopped = true;
      for (const s of states) s.timer?.cancel();
      listeners.clear();
    },
  };
}
