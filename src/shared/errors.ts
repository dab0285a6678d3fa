/**
 * @module errors
 * The data plane's single catalogue of error codes. Steps throw `MeshError`s; one rescue module
 * turns them into responses, using the status given here, and tags them with `x-mesher-error`.
 * Codes are stable API: never rename or reuse one. `docs/errors.md` lists them.
 *
 * (The registry speaks ServiceComb's numeric `errorCode`s instead; see src/registry/errors.ts.)
 */

export const ERROR_CATALOGUE = {
  BAD_REQUEST: { status: 400, message: 'The proxy could not understand the request' },
  SERVICE_NOT_FOUND: { status: 404, message: 'No service of that name is known to the registry' },
  ROUTE_NOT_FOUND: { status: 404, message: 'No route matches the request' },
  FORBIDDEN_PORT: { status: 403, message: 'The requested local port is not a declared service port' },
  REQUEST_TIMEOUT: { status: 408, message: 'The client did not send the request in time' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is larger than allowed' },
  RATE_LIMITED: { status: 429, message: 'Rate limit exceeded' },
  HEADERS_TOO_LARGE: { status: 431, message: 'Request headers are too large' },
  INTERNAL: { status: 500, message: 'Internal proxy error' },
  UPSTREAM_CONNECT: { status: 502, message: 'Could not connect to the upstream instance' },
  UPSTREAM_RESET: { status: 502, message: 'The upstream closed the connection before responding' },
  UPSTREAM_PROTOCOL: { status: 502, message: 'The upstream sent an invalid response' },
  LOCAL_APP_UNAVAILABLE: { status: 502, message: 'The local application is not reachable' },
  NO_ENDPOINTS: { status: 503, message: 'The service has no usable instance' },
  CIRCUIT_OPEN: { status: 503, message: 'The circuit breaker for this service is open' },
  BULKHEAD_FULL: { status: 503, message: 'Too many concurrent requests to this service' },
  SHUTTING_DOWN: { status: 503, message: 'The proxy is shutting down' },
  UPSTREAM_TIMEOUT: { status: 504, message: 'The upstream did not answer in time' },
  FAULT_INJECTED: { status: 500, message: 'Fault injected by policy' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

const BRAND = Symbol.for('mesher.MeshError');

export interface MeshErrorOptions {
  /** Override the human-readable message (the code stays the machine-readable part). */
  message?: string;
  /** The logical service the error concerns, echoed in the body. */
  service?: string;
  /** Override the catalogue status (fault injection aborts with a configured status). */
  status?: number;
  /** Extra response headers (e.g. Retry-After). */
  headers?: Record<string, string>;
  cause?: unknown;
}

/** An error the proxy answers for itself. Branded, so `isMeshError` works across package copies. */
export class MeshError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly service: string | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, opts: MeshErrorOptions = {}) {
    super(
      opts.message ?? ERROR_CATALOGUE[code].message,
      opts.cause === undefined ? undefined : { cause: opts.cause },
    );
    this.name = 'MeshError';
    this.code = code;
    this.status = opts.status ?? ERROR_CATALOGUE[code].status;
    this.service = opts.service;
    this.headers = opts.headers;
  }

  get [BRAND](): true {
    return true;
  }

  /** The JSON body every proxy-made response carries. */
  toBody(): { code: ErrorCode; message: string; service?: string } {
    return this.service === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, service: this.service };
  }
}

export function isMeshError(err: unknown): err is MeshError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
}

/** The header that marks a response the proxy generated itself. */
export const ERROR_HEADER = 'x-mesher-error';
