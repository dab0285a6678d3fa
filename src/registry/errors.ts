/**
 * @module registry/errors
 * ServiceComb's error catalogue (spec §1.3). Handlers throw `RegistryError(code, detail)`; the
 * HTTP layer answers `{"errorCode":"<code>","errorMessage":...,"detail"?:...}` with status
 * code/1000 — which is why "not found" is a 400, exactly as service-center does it.
 */

export const REGISTRY_ERRORS = {
  400001: 'Invalid parameter(s)',
  400002: 'Server is Unhealthy',
  400010: 'Micro-service already exists',
  400012: 'Micro-service does not exist',
  400013: 'Micro-service has deployed instance(s)',
  400016: 'Schema does not exist',
  400017: 'Instance does not exist',
  400018: 'Tag does not exist',
  400023: 'Consumer(s) depends on this micro-service',
  400026: 'Micro-service version does not exist',
  400100: 'Not enough quota',
  403001: 'Forbidden',
  413001: 'Request body too large',
  500003: 'Internal server error',
  500011: 'Registry service is unavailable',
} as const;

export type RegistryErrorCode = keyof typeof REGISTRY_ERRORS;

const BRAND = Symbol.for('mesher.RegistryError');

export class RegistryError extends Error {
  readonly code: RegistryErrorCode;
  readonly detail: string;

  constructor(code: RegistryErrorCode, detail = '') {
    super(`${REGISTRY_ERRORS[code]}${detail ? `: ${detail}` : ''}`);
    this.name = 'RegistryError';
    this.code = code;
    this.detail = detail;
  }

  get [BRAND](): true {
    return true;
  }

  get status(): number {
    return Math.floor(this.code / 1000);
  }

  toBody(): { errorCode: string; errorMessage: string; detail?: string } {
    const body: { errorCode: string; errorMessage: string; detail?: string } = {
      errorCode: String(this.code),
      errorMessage: REGISTRY_ERRORS[this.code],
    };
    if (this.detail) body.detail = this.detail;
    return body;
  }
}

export function isRegistryError(err: unknown): err is RegistryError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
}

/** 400001 with a detail naming the field. */
export function invalid(field: string, why: string): RegistryError {
  return new RegistryError(400001, `invalid field '${field}': ${why}`);
}
