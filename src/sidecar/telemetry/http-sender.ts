/**
 * @module sidecar/telemetry/http-sender
 * POSTs encoded span batches to a collector (OTLP/HTTP `/v1/traces` or Zipkin `/api/v2/spans`)
 * over one keep-alive connection. Rejects on connection errors, on a timeout and on non-2xx, so
 * the exporter counts the batch as dropped; the response body is drained and ignored.
 */
import http from 'node:http';
import type { SpanSender } from './exporter.ts';

export interface HttpSender {
  readonly send: SpanSender;
  close(): void;
}

export function createHttpSender(url: URL, contentType: string, timeoutMs = 10_000): HttpSender {
  if (url.protocol !== 'http:') {
    throw new RangeError(`tracing collector must be an http:// URL (got ${url.protocol})`);
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1, timeout: timeoutMs });
  const send: SpanSender = (body) =>
    new Promise((resolve, reject) => {
      const req = http.request(
        url,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': contentType, 'content-length': body.length },
          timeout: timeoutMs,
        },
        (res) => {
          res.resume();
          const status = res.statusCode ?? 0;
          res.once('end', () =>
            status >= 200 && status < 300 ? resolve() : reject(new Error(`collector answered ${status}`)),
          );
          res.once('error', reject);
        },
      );
      req.once('timeout', () => req.destroy(new Error('collector timed out')));
      req.once('error', reject);
      req.end(body);
    });
  return { send, close: () => agent.destroy() };
}
