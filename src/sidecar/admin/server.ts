/**
 * @module sidecar/admin/server
 * The `rest-admin` listener: parses the request line, calls the router, writes JSON. A handler
 * that throws answers 500 JSON; the process never crashes on admin traffic.
 */
import http, { type IncomingMessage, type Server } from 'node:http';
import { createLogger } from '../../shared/log.ts';
import { isTextReply } from './metrics.ts';
import type { AdminRouter } from './router.ts';

const log = createLogger('sidecar.admin');

const MAX_BODY = 64 * 1024;
const TOO_LARGE = Symbol('too large');

/** The body of a non-GET admin request, bounded; GET/HEAD bodies are discarded. */
function readBody(req: IncomingMessage, method: string): Promise<string | undefined | typeof TOO_LARGE> {
  if (method === 'GET' || method === 'HEAD') {
    req.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_BODY ? TOO_LARGE : Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(TOO_LARGE));
  });
}

export function createAdminServer(router: AdminRouter): Server {
  const server = http.createServer({ maxHeaderSize: 16384, headersTimeout: 10_000, requestTimeout: 30_000 });
  server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const method = req.method ?? 'GET';
    readBody(req, method)
      .then((body) =>
        body === TOO_LARGE
          ? {
              status: 413,
              body: {
                code: 'PAYLOAD_TOO_LARGE',
                message: `Admin request bodies are limited to ${MAX_BODY} bytes`,
              },
            }
          : router.handle({
              method,
              path: url.pathname,
              query: url.searchParams,
              ...(body === undefined ? {} : { body }),
            }),
      )
      .catch((err: unknown) => {
        log.error({ err }, 'admin handler failed');
        return {
          status: 500,
          body: { code: 'INTERNAL', message: 'Admin handler failed' },
          headers: undefined,
        };
      })
      .then((reply) => {
        // A handler that sets its own content-type and returns text (Prometheus metrics) is sent
        // as-is; everything else is JSON.
        const text = isTextReply(reply);
        const body = text ? reply.body : JSON.stringify(reply.body);
        res.writeHead(reply.status, {
          'content-type': 'application/json',
          ...reply.headers,
          ...(text ? {} : { 'content-type': 'application/json' }),
          'content-length': Buffer.byteLength(body),
          'cache-control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      });
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  return server;
}
