/**
 * @module sidecar/telemetry
 * Public surface of the sidecar's observability: metrics, tracing, access log, recent errors.
 * The wiring calls `createTelemetry`; governance steps take `GovernanceCounters`.
 */
export type { AccessLogEntry } from './access-log.ts';
export { parseTelemetrySettings, type TelemetrySettings } from './config.ts';
export type { CircuitStateName, GovernanceCounters } from './counters.ts';
export type { RecentError } from './recent-errors.ts';
export { createTelemetry, type Telemetry, type TelemetryOptions } from './telemetry.ts';
export { extract, inject, type PropagationFormat } from './trace-context.ts';
