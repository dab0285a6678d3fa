/**
 * @module api-client/kv-wire
 * The config center's KV as it travels (snake_case JSON, ServiceComb Kie's shape) decoded into a
 * `Kv`. Shared by the API client and the sidecar's long-poll client; it imports nothing at run
 * time, so the sidecar can use it without loading the API client's HTTP stack.
 */
import type { Kv } from './config-center.ts';

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Decode one KV; null when it is not an object with a string `id` and `key`. */
export function decodeKv(v: unknown): Kv | null {
  if (typeof v !== 'object' || v === null) return null;
  const d = v as Record<string, unknown>;
  if (typeof d.id !== 'string' || typeof d.key !== 'string') return null;
  const labels: Record<string, string> = {};
  if (typeof d.labels === 'object' && d.labels !== null)
    for (const [k, x] of Object.entries(d.labels as Record<string, unknown>)) labels[k] = String(x);
  return {
    id: d.id,
    key: d.key,
    value: typeof d.value === 'string' ? d.value : '',
    valueType: typeof d.value_type === 'string' ? d.value_type : 'text',
    labels,
    status: d.status === 'disabled' ? 'disabled' : 'enabled',
    createRevision: num(d.create_revision),
    updateRevision: num(d.update_revision),
    updateTime: num(d.update_time),
  };
}
