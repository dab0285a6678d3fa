/**
 * @module sidecar/balancer/errors
 * Configuration errors of the balancer family: an unknown strategy name, a bad strategy option, or
 * a name registered twice.
 * These are thrown while config is loaded (never on the request path), so they are not MeshErrors
 * (those are answers to callers); each carries a stable `code` and is branded so the check works
 * across package copies.
 */

const BRAND = Symbol.for('mesher.BalancerConfigError');

export type BalancerConfigErrorCode = 'UNKNOWN_BALANCER' | 'INVALID_BALANCER_OPTION' | 'DUPLICATE_BALANCER';

export class BalancerConfigError extends Error {
  readonly code: BalancerConfigErrorCode;

  constructor(code: BalancerConfigErrorCode, message: string) {
    super(message);
    this.name = 'BalancerConfigError';
    this.code = code;
  }

  get [BRAND](): true {
    return true;
  }
}

export function isBalancerConfigError(err: unknown): err is BalancerConfigError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
}
