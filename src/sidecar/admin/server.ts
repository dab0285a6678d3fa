/**
 * @module sidecar/admin/server
 * The `rest-admin` listener: parses the request line, calls the router, writes JSON. A handler
 * that throws answers 500 JSON; the process never crashes on admin traffic.
 */
import http, { type Server } from 'node:http';
import { createLogger } from '../../shared/log.ts';
import type { AdminRouter } from './router.ts';

const log = createLogger('sidecar.admin');

export function createAdminServer(router: AdminRouter): Server {
  const server = http.createServer({ maxHeaderSize: 16384, headersTimeout: 10_000, requestTimeout: 30_000 });
  server.on('request', (req, res) => {
    req.resume();
    const url = new URL(req.url ?? '/', 'http://admin');
    router
      .handle({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams })
      .catch((err: unknown) => {
        log.error({ err }, 'admin handler failed');
        return {
          status: 500,
          body: { code: 'INTERNAL', message: 'Admin handler failed' },
          headers: undefined,
        };
      })
      .then((reply) => {
        const body = JSON.stringify(reply.body);
        res.writeHead(reply.status, {
          ...reply.headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'cache-control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      });
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  return server;
}
