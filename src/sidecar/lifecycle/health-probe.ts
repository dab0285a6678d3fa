/**
 * @module sidecar/lifecycle/health-probe
 * Runs one local health check once: an HTTP GET (rest) judged by status and optional body regex, or
 * a TCP connect. The timeout runs on the injected Clock; the socket is always destroyed before the
 * promise settles, so nothing outlives a probe. Never rejects: every failure is a result with a
 * reason (`status 500`, `ECONNREFUSED`, `timed out after 2000 ms`, `body does not match /ok/`).
 */
import http from 'node:http';
import net from 'node:net';
import type { Clock } from '../../shared/clock.ts';
import { type HealthCheckSpec, MAX_BODY_BYTES } from './health-check-config.ts';

export interface ProbeOutcome {
  readonly ok: boolean;
  /** Why it failed, or what passed (`200`, `connected`). */
  readonly detail: string;
}

/** Runs a spec once. Replaceable in tests of the scheduler; the default talks to real sockets. */
export type HealthProbe = (spec: HealthCheckSpec) => Promise<ProbeOutcome>;

function errorText(err: Error & { code?: string }): string {
  return err.code ?? err.message;
}

function tcpCheck(spec: HealthCheckSpec, clock: Clock): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: spec.host, port: spec.port });
    const timer = clock.setTimeout(
      () => done({ ok: false, detail: `timed out after ${spec.timeoutMs} ms` }),
      spec.timeoutMs,
    );
    let settled = false;
    function done(r: ProbeOutcome): void {
      if (settled) return;
      settled = true;
      timer.cancel();
      socket.destroy();
      resolve(r);
    }
    socket.once('connect', () => done({ ok: true, detail: 'connected' }));
    socket.once('error', (err) => done({ ok: false, detail: errorText(err) }));
  });
}

function restCheck(spec: HealthCheckSpec, clock: Clock): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const req = http.request({
      host: spec.host,
      port: spec.port,
      path: spec.uri,
      method: 'GET',
      // A fresh connection per check: a pooled socket could hide a dead listener.
      agent: false,
      headers: { 'user-agent': 'mesher-health-check', connection: 'close', ...spec.headers },
    });
    const timer = clock.setTimeout(
      () => done({ ok: false, detail: `timed out after ${spec.timeoutMs} ms` }),
      spec.timeoutMs,
    );
    function done(r: ProbeOutcome): void {
      if (settled) return;
      settled = true;
      timer.cancel();
      req.destroy();
      resolve(r);
    }
    req.once('error', (err) => done({ ok: false, detail: errorText(err) }));
    req.once('response', (res) => {
      const status = res.statusCode ?? 0;
      if (!spec.status.test(status)) {
        res.resume();
        done({ ok: false, detail: `status ${status} does not match ${spec.status.text}` });
        return;
      }
      const body = spec.body;
      if (body === undefined) {
        res.resume();
        done({ ok: true, detail: String(status) });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const judge = () => {
        const text = Buffer.concat(chunks).toString('utf8');
        done(
          body.test(text)
            ? { ok: true, detail: String(status) }
            : { ok: false, detail: `body does not match ${String(body)}` },
        );
      };
      res.on('data', (c: Buffer) => {
        if (size >= MAX_BODY_BYTES) return;
        const part = c.subarray(0, MAX_BODY_BYTES - size);
        chunks.push(part);
        size += part.length;
        // Enough read: judge now rather than wait for an endless body.
        if (size >= MAX_BODY_BYTES) judge();
      });
      res.once('end', judge);
      res.once('error', (err) => done({ ok: false, detail: errorText(err) }));
    });
    req.end();
  });
}

/** The real probe: HTTP GET or TCP connect to 127.0.0.1:<port>, bounded by the spec's timeout. */
export function createHealthProbe(clock: Clock): HealthProbe {
  return (spec) => (spec.protocol === 'rest' ? restCheck(spec, clock) : tcpCheck(spec, clock));
}
