/**
 * @module sidecar/ingress
 * Public surface of the edge gateway's rules: `parseIngress` once per config version, then
 * `matchIngress` per external request (src/sidecar/listeners/ingress.ts).
 */
export { expandRedirect, matchIngress } from './match.ts';
export { EMPTY_INGRESS, INGRESS_LIMITS, INGRESS_RULES_KEY, INGRESS_TYPE_KEY, parseIngress } from './parse.ts';
export type * from './types.ts';
