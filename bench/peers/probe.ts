/**
 * @module bench/peers/probe
 * Readiness probes used while starting servers: one plain GET with a short timeout.
 */
import http from 'node:http';

/** True when `url` answers 2xx within `timeoutMs` (optionally sending `host` as the Host header). */
export function httpOk(url: string, host?: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        headers: host ? { host } : {},
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
        res.on('error', () => resolve(false));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** True when a proxy at `origin` forwards the absolute-form request `target` with 2xx. */
export function proxyOk(origin: string, target: string, timeoutMs = 1000): Promise<boolean> {
  const o = new URL(origin);
  const t = new URL(target);
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: o.hostname,
        port: o.port,
        path: target,
        headers: { host: t.host },
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
        res.on('error', () => resolve(false));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
