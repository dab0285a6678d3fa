/**
 * @module sidecar/registry-client/errors
 * The one error type the registry client rejects with. `kind` says what went wrong at which layer;
 * a business error keeps the registry's own `errorCode` (a string, as on the wire), so callers can
 * tell "the registry says the service does not exist" (400012) from "no registry answered".
 * Branded with Symbol.for so `isRegistryError` works across copies of the module.
 */

export type RegistryErrorKind =
  /** The registry answered with an error envelope (`errorCode` is set) or another non-2xx status. */
  | 'registry'
  /** No registry could be reached (connection refused/reset, DNS, TLS). */
  | 'unreachable'
  /** The per-call timeout elapsed. */
  | 'timeout'
  /** The registry answered something we cannot use (bad JSON, oversized body). */
  | 'protocol'
  /** The caller aborted the call. */
  | 'aborted';

/** The service-center error codes the sidecar acts on. */
export const SC_ERROR = {
  INVALID_PARAMS: '400001',
  SERVICE_NOT_EXISTS: '400012',
  INSTANCE_NOT_EXISTS: '400017',
  SERVICE_VERSION_NOT_EXISTS: '400026',
  UNAVAILABLE: '500011',
} as const;

const BRAND = Symbol.for('mesher.RegistryError');

export interface RegistryErrorOptions {
  errorCode?: string;
  status?: number;
  /** The registry address the error came from (the last one tried). */
  address?: string;
  detail?: string;
  cause?: unknown;
}

export class RegistryError extends Error {
  readonly kind: RegistryErrorKind;
  readonly errorCode: string | undefined;
  readonly status: number | undefined;
  readonly address: string | undefined;
  readonly detail: string | undefined;

  constructor(kind: RegistryErrorKind, message: string, opts: RegistryErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RegistryError';
    this.kind = kind;
    this.errorCode = opts.errorCode;
    this.status = opts.status;
    this.address = opts.address;
    this.detail = opts.detail;
  }

  get [BRAND](): true {
    return true;
  }

  /** True for failures worth trying another address for (connection trouble, timeouts, 5xx). */
  get transient(): boolean {
    return (
      this.kind === 'unreachable' ||
      this.kind === 'timeout' ||
      (this.kind === 'registry' && (this.status ?? 0) >= 500)
    );
  }
}

export function isRegistryError(err: unknown, errorCode?: string): err is RegistryError {
  if (typeof err !== 'object' || err === null) return false;
  if ((err as Record<symbol, unknown>)[BRAND] !== true) return false;
  return errorCode === undefined || (err as RegistryError).errorCode === errorCode;
}

/** Wrap anything thrown by a RegistryApi implementation into a RegistryError (defensive). */
export function toRegistryError(err: unknown): RegistryError {
  if (isRegistryError(err)) return err;
  return new RegistryError('protocol', err instanceof Error ? err.message : String(err), { cause: err });
}
