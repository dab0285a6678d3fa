/**
 * @module sidecar/egress
 * Public surface of egress: parse `egressRule.*` / `egress.passthrough` once per config version,
 * then `matchEgress` / `resolveEgress` per call to an external hostname.
 */
export { matchEgress, normaliseHost, resolveEgress } from './match.ts';
export { checkHost, EGRESS_LIMITS, parseEgress } from './parse.ts';
export type * from './types.ts';
