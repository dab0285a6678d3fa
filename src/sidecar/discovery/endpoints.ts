/**
 * @module sidecar/discovery/endpoints
 * Registry instances → data-plane endpoints. Only UP instances count; of their endpoint strings
 * only `rest://host:port[/path][?sslEnabled=true]` is used (grpc://, highway://, rest-admin://…
 * are skipped). The result is sorted by key so equal sets compare equal.
 */
import type { MicroServiceInstance } from '../registry-client/types.ts';
import type { Endpoint } from './types.ts';

export interface ParsedEndpoint {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
}

const ENDPOINT_RE =
  /^([a-z][a-z0-9+.-]*):\/\/(\[[0-9a-f:.]+\]|[^:/?#[\]\s]+):(\d{1,5})(?:\/[^?#\s]*)?(?:\?([^#\s]*))?$/i;

/** Parse a `rest://` endpoint; undefined for other protocols or malformed strings. */
export function parseRestEndpoint(raw: string): ParsedEndpoint | undefined {
  const m = ENDPOINT_RE.exec(raw.trim());
  if (!m || m[1]!.toLowerCase() !== 'rest') return undefined;
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  let host = m[2]!;
  if (host.startsWith('[')) host = host.slice(1, -1);
  const query = new URLSearchParams(m[4] ?? '');
  return { host, port, tls: (query.get('sslEnabled') ?? '').toLowerCase() === 'true' };
}

export function isUp(instance: MicroServiceInstance): boolean {
  const s = instance.status ?? 'UP';
  return typeof s === 'string' && s.toUpperCase() === 'UP';
}

/** The string-valued entries of a plain object, frozen (anything else → {}). */
function stringMap(v: unknown): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  }
  return Object.freeze(out);
}

/** The usable endpoints of `instances`, sorted by key, at most one per host:port per instance. */
export function toEndpoints(instances: Iterable<MicroServiceInstance>, app: string): Endpoint[] {
  const out: Endpoint[] = [];
  for (const inst of instances) {
    // The registry is a remote party: take nothing about the shape of its answer for granted.
    if (typeof inst.instanceId !== 'string' || inst.instanceId === '' || !isUp(inst)) continue;
    if (!Array.isArray(inst.endpoints)) continue;
    const seen = new Set<string>();
    for (const raw of inst.endpoints) {
      if (typeof raw !== 'string') continue;
      const p = parseRestEndpoint(raw);
      if (!p) continue;
      const key = `${inst.instanceId}@${p.host}:${p.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const dc = inst.dataCenterInfo;
      const endpoint: Endpoint = {
        key,
        instanceId: inst.instanceId,
        serviceId: typeof inst.serviceId === 'string' ? inst.serviceId : '',
        host: p.host,
        port: p.port,
        tls: p.tls,
        version: typeof inst.version === 'string' ? inst.version : '',
        app,
        properties: stringMap(inst.properties),
        ...(typeof dc?.region === 'string' &&
        typeof dc.availableZone === 'string' &&
        dc.region &&
        dc.availableZone
          ? { zone: Object.freeze({ region: dc.region, availableZone: dc.availableZone }) }
          : {}),
      };
      out.push(Object.freeze(endpoint));
    }
  }
  out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return out;
}

/** A string that changes whenever anything the data plane reads from the endpoints changes. */
export function signatureOf(endpoints: readonly Endpoint[]): string {
  return JSON.stringify(endpoints);
}
