/**
 * @module sidecar/chain/rescue
 * The ONE place where errors become responses (STYLE.md practice 10). A `MeshError` keeps its
 * catalogue status, code and headers; anything else is an INTERNAL error whose details are logged,
 * never sent. Every proxy-made response carries `x-mesher-error: <CODE>`, `content-type:
 * application/json` and the body `{"code","message","service"}`.
 */
import { ERROR_HEADER, isMeshError, MeshError } from '../../shared/errors.ts';
import { createLogger } from '../../shared/log.ts';
import type { Outcome } from './types.ts';

const log = createLogger('sidecar.rescue');

/** Normalise anything thrown into a MeshError (unexpected errors become INTERNAL and are logged). */
export function toMeshError(err: unknown, service?: string): MeshError {
  if (isMeshError(err)) return err;
  log.error({ err, service }, 'unexpected error in the proxy chain');
  return new MeshError('INTERNAL', { service, cause: err });
}

function headersFor(err: MeshError, body: Buffer): string[] {
  const headers = [
    ERROR_HEADER,
    err.code,
    'content-type',
    'application/json',
    'content-length',
    String(body.length),
  ];
  if (err.headers) {
    for (const name of Object.keys(err.headers)) headers.push(name, err.headers[name]!);
  }
  return headers;
}

function bodyFor(err: MeshError, service: string | undefined): Buffer {
  const body = err.toBody();
  if (body.service === undefined && service !== undefined && service !== '') body.service = service;
  return Buffer.from(JSON.stringify(body));
}

/** Turn a thrown value into the Outcome the client sees. `service` fills in the body when the error has none. */
export function rescue(err: unknown, service?: string): Outcome {
  const e = toMeshError(err, service);
  const body = bodyFor(e, service);
  return { status: e.status, headers: headersFor(e, body), body, errorCode: e.code };
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * The same response as raw HTTP/1.1 bytes, for places that only have a socket (client parse
 * errors, failed upgrades and CONNECT tunnels). Always `Connection: close`.
 */
export function rescueToBytes(err: unknown, service?: string): Buffer {
  const out = rescue(err, service);
  let head = `HTTP/1.1 ${out.status} ${REASONS[out.status] ?? 'Error'}\r\n`;
  for (let i = 0; i < out.headers.length; i += 2) head += `${out.headers[i]}: ${out.headers[i + 1]}\r\n`;
  head += 'connection: close\r\n\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), out.body as Buffer]);
}
