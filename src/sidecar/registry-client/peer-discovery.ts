/**
 * @module sidecar/registry-client/peer-discovery
 * `servicecomb.registry.autodiscovery: true` (as in the original chassis): every `intervalMs` the
 * client reads `GET /v4/{project}/registry/health`, which lists every live registry replica (each
 * registers itself as SERVICECENTER), and makes those replicas the learned part of the address
 * pool. The configured seeds are never dropped; a failed or empty read keeps the last good list.
 * The first read happens at once. Reads go through the same failover transport as every call.
 */
import type { Clock, TimerHandle } from '../../shared/clock.ts';
import type { RegistryTransport } from './http-transport.ts';

export interface PeerDiscoveryOptions {
  transport: RegistryTransport;
  /** `/v4/{project}/registry` */
  base: string;
  clock: Clock;
  intervalMs: number;
  /** Per-read timeout, ms. */
  timeoutMs?: number;
  /** Told after each read that changed the pool (tests, logs). */
  onChange?: (addresses: readonly string[]) => void;
}

export interface PeerDiscovery {
  /** One read now (also what the timer runs); resolves when the pool is updated or the read failed. */
  refresh(): Promise<void>;
  stop(): void;
}

export function startPeerDiscovery(opts: PeerDiscoveryOptions): PeerDiscovery {
  if (!(opts.intervalMs > 0)) throw new RangeError('autodiscovery intervalMs must be > 0');
  let stopped = false;
  let inFlight: Promise<void> | null = null;
  const refresh = (): Promise<void> => {
    inFlight ??= (async () => {
      try {
        const res = await opts.transport.request({
          method: 'GET',
          path: `${opts.base}/health`,
          timeoutMs: opts.timeoutMs,
        });
        if (stopped || res.status !== 200) return;
        const learned = replicaAddresses(res.text);
        if (learned.length === 0) return;
        if (opts.transport.pool.setLearned(learned)) opts.onChange?.(opts.transport.pool.addresses);
      } catch {
        // Every address failed: keep what we have; the next tick tries again.
      } finally {
        inFlight = null;
      }
    })();
    return inFlight;
  };
  const timer: TimerHandle = opts.clock.setInterval(() => void refresh(), opts.intervalMs);
  void refresh();
  return {
    refresh,
    stop() {
      stopped = true;
      timer.cancel();
    },
  };
}

/**
 * The `http(s)://host:port` of every UP instance's endpoints in a health answer
 * (`{"instances":[{"endpoints":["rest://10.0.0.1:30100/"],...}]}`). `rest://…?sslEnabled=true`
 * becomes https. Anything malformed is skipped.
 */
export function replicaAddresses(text: string): string[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [];
  }
  const instances = (body as { instances?: unknown })?.instances;
  if (!Array.isArray(instances)) return [];
  const out: string[] = [];
  for (const inst of instances) {
    if (typeof inst !== 'object' || inst === null) continue;
    const { status, endpoints } = inst as { status?: unknown; endpoints?: unknown };
    if (status !== undefined && status !== 'UP') continue;
    if (!Array.isArray(endpoints)) continue;
    for (const ep of endpoints) {
      const a = typeof ep === 'string' ? endpointToAddress(ep) : '';
      if (a !== '' && !out.includes(a)) out.push(a);
    }
  }
  return out;
}

function endpointToAddress(ep: string): string {
  let u: URL;
  try {
    u = new URL(ep);
  } catch {
    return '';
  }
  const scheme = u.protocol.slice(0, -1);
  if (scheme !== 'rest' && scheme !== 'http' && scheme !== 'https') return '';
  if (u.hostname === '' || u.port === '') return '';
  const tls = scheme === 'https' || u.searchParams.get('sslEnabled') === 'true';
  return `${tls ? 'https' : 'http'}://${u.host}`;
}
