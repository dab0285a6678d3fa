/**
 * @module sidecar/ratelimit/rate-limited-error
 * The MeshError for a refused token: 429 RATE_LIMITED with `Retry-After` in whole seconds
 * (rounded up, at least 1). `service` is the limited key's service (target or source).
 */
import { MeshError } from '../../shared/errors.ts';
import { retryAfterSeconds } from '../breaker/rejection-error.ts';

export function rateLimitedError(service: string, retryAfterMs: number): MeshError {
  return new MeshError('RATE_LIMITED', {
    service,
    headers: { 'retry-after': retryAfterSeconds(retryAfterMs) },
  });
}
