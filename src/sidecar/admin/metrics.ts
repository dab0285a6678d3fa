/**
 * @module sidecar/admin/metrics
 * `GET /v1/mesher/metrics` and `GET /metrics`: the sidecar's Prometheus registry in text exposition
 * format 0.0.4. The reply body is a string with its own `content-type`; the admin server must write
 * such a body as-is instead of JSON-encoding it (see `isTextReply`).
 */
import type { AdminHandler, AdminReply } from './types.ts';

/** What the handler needs: the registry's text and its content type (telemetry provides both). */
export interface MetricsSource {
  metricsText(): Promise<string>;
  readonly metricsContentType: string;
}

/** A reply whose body is already text (Prometheus format), not a value to JSON-encode. */
export function isTextReply(reply: AdminReply): reply is AdminReply & { body: string } {
  return typeof reply.body === 'string' && reply.headers?.['content-type'] !== undefined;
}

export function createMetricsHandler(source: MetricsSource): AdminHandler {
  return async () => ({
    status: 200,
    body: await source.metricsText(),
    headers: { 'content-type': source.metricsContentType },
  });
}
