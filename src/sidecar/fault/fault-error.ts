/**
 * @module sidecar/fault/fault-error
 * The MeshError for an injected abort: code FAULT_INJECTED with the configured status (the
 * original answered the bare status with body "injecting abort"; mesher marks it as proxy-made
 * with `x-mesher-error: FAULT_INJECTED` like every other proxy answer).
 */
import { MeshError } from '../../shared/errors.ts';

export function faultAbortError(service: string, status: number): MeshError {
  return new MeshError('FAULT_INJECTED', { service, status, message: 'injecting abort' });
}
