/**
 * @module sidecar/policy
 * Public entry of resilience configuration: parse `SidecarConfig.flat` once per config version
 * into frozen per-service policies, then look a service's policy up per call.
 */
export { DEFAULT_RATE_LIMIT, DEFAULT_SERVICE_POLICY } from './defaults.ts';
export { parseResiliencePolicies } from './parse.ts';
export { PerService, type PerServiceOptions, sameConfig } from './per-service.ts';
export { policiesToFlat } from './to-flat.ts';
export type {
  FallbackKind,
  FallbackPolicy,
  PolicyIssue,
  PolicyParseResult,
  ResiliencePolicies,
  ServicePolicy,
  TimeoutPolicy,
} from './types.ts';
export { policyFor } from './types.ts';
