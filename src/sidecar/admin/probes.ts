/**
 * @module sidecar/admin/probes
 * Running health/readiness probes with a deadline, and the built-in TCP probe used for "local app
 * reachable". A probe that throws or overruns counts as failed, with the reason in its detail.
 */
import net from 'node:net';
import type { HostPort } from '../config/types.ts';
import type { Probe, ProbeResult } from './types.ts';

export interface ProbeReport {
  readonly ok: boolean;
  readonly checks: Record<string, { ok: boolean; detail?: unknown }>;
}

function normalise(r: ProbeResult): { ok: boolean; detail?: unknown } {
  return typeof r === 'boolean'
    ? { ok: r }
    : r.detail === undefined
      ? { ok: r.ok }
      : { ok: r.ok, detail: r.detail };
}

async function runOne(probe: Probe, timeoutMs: number): Promise<{ ok: boolean; detail?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<{ ok: boolean; detail: string }>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([Promise.resolve().then(probe).then(normalise), deadline]);
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** Run every probe concurrently; ok only when all pass. */
export async function runProbes(
  probes: Readonly<Record<string, Probe>>,
  timeoutMs: number,
): Promise<ProbeReport> {
  const names = Object.keys(probes);
  const results = await Promise.all(names.map((n) => runOne(probes[n]!, timeoutMs)));
  const checks: ProbeReport['checks'] = {};
  let ok = true;
  names.forEach((n, i) => {
    checks[n] = results[i]!;
    if (!results[i]!.ok) ok = false;
  });
  return { ok, checks };
}

/** A probe that succeeds when a TCP connection to `addr` opens within `timeoutMs`. */
export function tcpProbe(addr: HostPort, timeoutMs = 1000): Probe {
  return () =>
    new Promise<ProbeResult>((resolve) => {
      const socket = net.connect({ host: addr.host, port: addr.port });
      const done = (r: ProbeResult) => {
        socket.destroy();
        resolve(r);
      };
      socket.setTimeout(timeoutMs, () =>
        done({ ok: false, detail: `connect to ${addr.host}:${addr.port} timed out` }),
      );
      socket.once('connect', () => done({ ok: true, detail: `${addr.host}:${addr.port}` }));
      socket.once('error', (err: Error & { code?: string }) =>
        done({ ok: false, detail: `${addr.host}:${addr.port}: ${err.code ?? err.message}` }),
      );
    });
}
