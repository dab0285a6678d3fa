/**
 * @module sidecar/ratelimit/rate-limited-error
 * The MeshError for a refused token: 429 RATE_LIMITED with `Retry-After` in whole seconds
 * (rounded up, at least 1). `service` is the limited key's service (target or source); a marker
 * limiter passes a message naming the policy (`rateLimiting policy "userLogin"`).
 */
import { MeshError } from '../../shared/errors.ts';
import { retryAfterSeconds } from '../breaker/rejection-error.ts';

export function rateLimitedError(service: string, retryAfterMs: number, message?: string): MeshError {
  return new MeshError('RATE_LIMITED', {
    service,
    headers: { 'retry-after': retryAfterSeconds(retryAfterMs) },
    ...(message === undefined ? {} : { message }),
  });
}
