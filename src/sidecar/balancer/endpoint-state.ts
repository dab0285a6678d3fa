/**
 * @module sidecar/balancer/endpoint-state
 * What every balancer remembers about one endpoint: calls in flight, a smoothed latency and the
 * current run of failures. One object per endpoint key, kept across `update()` while the key stays,
 * dropped when it goes. It also holds the endpoint's frozen `ok` pick result, so `pick()` returns a
 * prebuilt object instead of allocating one per call.
 */
import type { Endpoint } from '../discovery/types.ts';
import type { CallReport, EndpointStats, PickResult } from './types.ts';

/** Weight of the newest sample in the latency EWMA (per sample, not per unit of time). */
export const LATENCY_EWMA_ALPHA = 0.3;
/**
 * A failed call counts as at least this slow, so an endpoint that fails fast (connection refused)
 * does not look like the quickest one and attract traffic (the "black hole" effect).
 */
export const FAILURE_PENALTY_MS = 1_000;
/** Reported latencies are clamped to [0, this] so a bogus report cannot poison the average. */
export const MAX_LATENCY_MS = 600_000;

export class EndpointState {
  endpoint: Endpoint;
  result: PickResult;
  inFlight = 0;
  /** Smoothed latency in ms; -1 until the first report. */
  ewmaMs = -1;
  /** Clock time of the last report (ms). */
  lastReportMs = 0;
  consecutiveFailures = 0;
  /**
   * Bumped by strategies that act on a run of failures (SessionStickiness), so whoever remembered
   * the old value can tell the endpoint has failed since.
   */
  failureEpoch = 0;

  constructor(endpoint: Endpoint) {
    this.endpoint = endpoint;
    this.result = Object.freeze({ kind: 'ok', endpoint });
  }

  /** Point at a newer object for the same key (its properties may have changed). */
  refresh(endpoint: Endpoint): void {
    if (endpoint === this.endpoint) return;
    this.endpoint = endpoint;
    this.result = Object.freeze({ kind: 'ok', endpoint });
  }

  start(): void {
    this.inFlight++;
  }

  finish(report: CallReport, nowMs: number): void {
    // Never below zero: a finish for a call started before a remove/re-add of the same key lands here.
    if (this.inFlight > 0) this.inFlight--;
    let latency = Number(report.latencyMs);
    if (!(latency >= 0)) latency = 0; // NaN, negative, non-numeric
    if (latency > MAX_LATENCY_MS) latency = MAX_LATENCY_MS;
    if (report.ok === true) {
      this.consecutiveFailures = 0;
    } else {
      this.consecutiveFailures++;
      if (latency < FAILURE_PENALTY_MS) latency = FAILURE_PENALTY_MS;
    }
    this.ewmaMs = this.ewmaMs < 0 ? latency : this.ewmaMs + LATENCY_EWMA_ALPHA * (latency - this.ewmaMs);
    this.lastReportMs = nowMs;
  }

  stats(): EndpointStats {
    return {
      key: this.endpoint.key,
      inFlight: this.inFlight,
      latencyMs: this.ewmaMs < 0 ? null : this.ewmaMs,
      consecutiveFailures: this.consecutiveFailures,
    };
  }
}
