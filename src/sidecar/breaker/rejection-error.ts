/**
 * @module sidecar/breaker/rejection-error
 * Turn a gate rejection into the MeshError the rescue module renders: an open circuit is
 * 503 CIRCUIT_OPEN with `Retry-After` (whole seconds, rounded up, at least 1); a full bulkhead is
 * 503 BULKHEAD_FULL without one (a slot may free up any moment).
 */
import { MeshError } from '../../shared/errors.ts';
import type { Rejection } from './types.ts';

/** `Retry-After` value for a delay in ms: whole seconds, rounded up, at least "1". */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

export function breakerRejectionError(service: string, rejection: Rejection): MeshError {
  if (rejection.reason === 'bulkhead') return new MeshError('BULKHEAD_FULL', { service });
  return new MeshError('CIRCUIT_OPEN', {
    service,
    headers: { 'retry-after': retryAfterSeconds(rejection.retryAfterMs) },
  });
}
