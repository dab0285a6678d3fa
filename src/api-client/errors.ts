/**
 * @module api-client/errors
 * The one error type the typed client throws. It carries the HTTP status and the server's own
 * error code, whichever envelope the server used:
 * - registry (ServiceComb v4): `{"errorCode": "400012", "errorMessage": "...", "detail": "..."}`
 * - config center (Kie): `{"error_code": 404001, "error_msg": "..."}`
 * - sidecar admin / proxy: `{"code": "NOT_FOUND", "message": "..."}`
 * Transport failures use status 0 and code `UNREACHABLE` or `TIMEOUT`; an answer that is not
 * what the API promises uses `BAD_RESPONSE`. Branded, so `isApiError` works across copies.
 */

const BRAND = Symbol.for('mesher.ApiError');

/** Codes the client itself uses when there is no server code to carry. */
export type ClientErrorCode = 'UNREACHABLE' | 'TIMEOUT' | 'ABORTED' | 'BAD_URL' | 'BAD_RESPONSE';

export class ApiError extends Error {
  /** HTTP status, or 0 when no answer arrived. */
  readonly status: number;
  /** The server's error code (`400012`, `404001`, `NOT_FOUND`) or a client code. */
  readonly code: string;
  /** The URL called (without query), for one-line reports. */
  readonly url: string;

  constructor(status: number, code: string, message: string, url: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.url = url;
  }

  get [BRAND](): true {
    return true;
  }
}

export function isApiError(err: unknown): err is ApiError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
}

/** Build an ApiError from a non-2xx answer, reading whichever envelope the body has. */
export function errorFromBody(status: number, body: unknown, text: string, url: string): ApiError {
  if (typeof body === 'object' && body !== null) {
    const b = body as Record<string, unknown>;
    if (b.errorCode !== undefined) {
      const detail = typeof b.detail === 'string' && b.detail ? `: ${b.detail}` : '';
      return new ApiError(status, String(b.errorCode), `${String(b.errorMessage ?? 'error')}${detail}`, url);
    }
    if (b.error_code !== undefined)
      return new ApiError(status, String(b.error_code), String(b.error_msg ?? 'error'), url);
    if (typeof b.code === 'string') return new ApiError(status, b.code, String(b.message ?? b.code), url);
  }
  const short = text.trim().split('\n')[0]?.slice(0, 200) ?? '';
  return new ApiError(status, String(status), short || `HTTP ${status}`, url);
}
