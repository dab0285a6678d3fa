/**
 * @module sidecar/upstream/errors
 * Maps socket-level failures of an upstream call (before any response byte) to mesh error codes.
 * Connect failures and resets are told apart because retries (issue 4) treat them differently:
 * a refused connect never reached the application, a reset may have.
 */
import { type ErrorCode, MeshError } from '../../shared/errors.ts';
import type { CallContext } from '../chain/types.ts';

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Classify an error raised while sending `call` to its target. */
export function upstreamError(err: unknown, call: CallContext, connected: boolean): MeshError {
  // Not every library's code is a string (a number would break the prefix test below).
  const raw = (err as { code?: unknown } | null)?.code;
  const code = typeof raw === 'string' ? raw : '';
  let mesh: ErrorCode;
  if (!connected || CONNECT_CODES.has(code)) {
    mesh = call.direction === 'inbound' ? 'LOCAL_APP_UNAVAILABLE' : 'UPSTREAM_CONNECT';
  } else if (code.startsWith('HPE_') || code === 'UND_ERR_INFO') {
    mesh = 'UPSTREAM_PROTOCOL';
  } else {
    mesh = 'UPSTREAM_RESET';
  }
  return new MeshError(mesh, { service: call.service, cause: err });
}
