/**
 * @module sidecar/upstream/undici-pool
 * The alternative upstream transport on undici (one Pool per endpoint origin inside an undici
 * Agent), kept so the two can be re-measured (bench/transports.ts; numbers in docs/proxy.md).
 * Plain requests only: upgrades and tunnels are delegated to the http.Agent transport. Not the
 * default: it measured slower on the proxy hot path, and `request()` returns headers as an object
 * (order of different names is lost; repeated names stay as arrays).
 */
import { Agent, errors, request } from 'undici';
import { MeshError } from '../../shared/errors.ts';
import type { CallContext, Outcome, Target } from '../chain/types.ts';
import { filterResponseHeaders } from '../listeners/headers.ts';
import { upstreamError } from './errors.ts';
import { createHttpAgentUpstream } from './http-agent.ts';
import type { Upstream, UpstreamOptions } from './types.ts';

const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
]);

function flatten(headers: Record<string, string | string[] | undefined>): string[] {
  const out: string[] = [];
  for (const name of Object.keys(headers)) {
    const v = headers[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push(name, x);
    else out.push(name, v);
  }
  return out;
}

export function createUndiciUpstream(opts: UpstreamOptions = {}): Upstream {
  const idleTimeoutMs = opts.idleTimeoutMs ?? 4000;
  const dispatcher = new Agent({
    connections: opts.maxSocketsPerEndpoint ?? 512,
    keepAliveTimeout: idleTimeoutMs,
    keepAliveMaxTimeout: idleTimeoutMs,
    connectTimeout: opts.connectTimeoutMs ?? 10_000,
  });
  const raw = createHttpAgentUpstream(opts);

  async function send(call: CallContext, target: Target, retried = false): Promise<Outcome> {
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    call.signal.add(onAbort);
    try {
      const res = await request(`http://${target.host}:${target.port}${call.path}`, {
        dispatcher,
        method: call.method as 'GET',
        headers: call.headers,
        body: call.hasBody ? call.body : null,
        signal: ac.signal,
      });
      return { status: res.statusCode, headers: filterResponseHeaders(flatten(res.headers)), body: res.body };
    } catch (err) {
      call.signal.remove(onAbort);
      if (err instanceof errors.RequestAbortedError) {
        throw new MeshError('UPSTREAM_RESET', { service: call.service, cause: err });
      }
      // A pooled connection the peer closed as we reused it surfaces as a socket error before any
      // response byte; replay once when nothing was consumed from the client (no body).
      const stale = err instanceof errors.SocketError || (err as { code?: string }).code === 'ECONNRESET';
      if (stale && !retried && !call.hasBody && !call.signal.aborted) {
        return send(call, target, true);
      }
      const code = (err as { code?: string }).code;
      const connected = !(err instanceof errors.ConnectTimeoutError) && !CONNECT_FAILURES.has(code ?? '');
      throw upstreamError(err, call, connected);
    }
  }

  return {
    request: (call, target) => send(call, target),
    upgrade: raw.upgrade,
    tunnel: raw.tunnel,
    close: () => {
      raw.close();
      void dispatcher.destroy();
    },
  };
}
