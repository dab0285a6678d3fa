/**
 * @module sidecar/upstream/http-agent
 * The upstream transport on Node's own `http.Agent` (chosen over undici after measuring, see
 * docs/proxy.md): one keep-alive agent pools connections per endpoint (host:port), idle sockets
 * close after `idleTimeoutMs`, and a request that fails on a *reused* socket before any response
 * byte is retried once on a fresh connection when that is safe (it has no body, so nothing was
 * consumed from the client). Request and response headers travel as raw flat arrays.
 */
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import net, { type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { CallContext, Outcome, Target } from '../chain/types.ts';
import { filterResponseHeaders } from '../listeners/headers.ts';
import { upstreamError } from './errors.ts';
import type { Upstream, UpstreamOptions } from './types.ts';

/** The upstream request for `call` to `target`: its raw headers as they are (Host included). */
function requestTo(call: CallContext, target: Target, agent: http.Agent | false): ClientRequest {
  return http.request({
    host: target.host,
    port: target.port,
    method: call.method,
    path: call.path,
    headers: call.headers,
    setHost: false,
    agent,
  });
}

export function createHttpAgentUpstream(opts: UpstreamOptions = {}): Upstream {
  const idleTimeoutMs = opts.idleTimeoutMs ?? 4000;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: opts.maxSocketsPerEndpoint ?? 512,
    // As many idle sockets as active ones: with fewer, every burst above the idle cap closes the
    // surplus after its response and reconnects on the next (the benchmark's profile at 512
    // connections showed exactly that churn). Idle sockets still expire after idleTimeoutMs.
    maxFreeSockets: opts.maxIdlePerEndpoint ?? opts.maxSocketsPerEndpoint ?? 512,
    // Applies to free (idle) sockets: the agent destroys a free socket when it times out. It also
    // lowers itself to the server's `Keep-Alive: timeout=N` hint minus one second.
    timeout: idleTimeoutMs,
    scheduling: 'lifo',
  });

  function send(call: CallContext, target: Target, fresh: boolean): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      let connected = false;
      let settled = false;
      const req = requestTo(call, target, fresh ? false : agent);
      const onAbort = () => req.destroy();
      const finish = () => {
        settled = true;
        call.signal.remove(onAbort);
      };
      call.signal.add(onAbort);
      req.on('socket', (socket: Socket) => {
        if (!socket.connecting) {
          connected = true;
          return;
        }
        const timer = setTimeout(
          () => req.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })),
          call.connectTimeoutMs ?? connectTimeoutMs,
        );
        // Both listeners go once either fires: a 'close' listener left on a pooled socket kept the
        // whole first call (request, response, chain closures) reachable for the socket's life.
        const onConnect = () => {
          connected = true;
          clearTimeout(timer);
          socket.removeListener('close', onClose);
        };
        const onClose = () => {
          clearTimeout(timer);
          socket.removeListener('connect', onConnect);
        };
        socket.once('connect', onConnect);
        socket.once('close', onClose);
      });
      req.on('response', (res: IncomingMessage) => {
        finish();
        resolve({ status: res.statusCode ?? 502, headers: filterResponseHeaders(res.rawHeaders), body: res });
      });
      req.on('error', (err) => {
        if (settled) return;
        finish();
        // A keep-alive socket the peer closed just as we reused it: safe to replay on a new
        // connection when no request body was consumed (https://nodejs.org/api/http.html#requestreusedsocket).
        if (req.reusedSocket && !fresh && !call.hasBody && !call.signal.aborted) {
          send(call, target, true).then(resolve, reject);
          return;
        }
        reject(upstreamError(err, call, connected));
      });
      if (call.body !== null && call.hasBody) {
        call.body.pipe(req);
        call.body.once('error', () => req.destroy());
      } else req.end();
    });
  }

  function upgrade(call: CallContext, target: Target): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      let connected = false;
      const req = requestTo(call, target, false); // an upgraded socket leaves the pool anyway
      const onAbort = () => req.destroy();
      call.signal.add(onAbort);
      const done = () => call.signal.remove(onAbort);
      req.once('socket', (s: Socket) => s.once('connect', () => (connected = true)));
      req.once('upgrade', (res: IncomingMessage, socket: Duplex, head: Buffer) => {
        done();
        resolve({
          status: 101,
          headers: filterResponseHeaders(res.rawHeaders, true),
          body: null,
          socket,
          head,
        });
      });
      req.once('response', (res: IncomingMessage) => {
        done();
        resolve({ status: res.statusCode ?? 502, headers: filterResponseHeaders(res.rawHeaders), body: res });
      });
      req.once('error', (err) => {
        done();
        reject(upstreamError(err, call, connected));
      });
      req.end();
    });
  }

  function tunnel(call: CallContext, target: Target): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      const socket = net.connect({ host: target.host, port: target.port });
      const timer = setTimeout(
        () => socket.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })),
        connectTimeoutMs,
      );
      const onAbort = () => socket.destroy();
      call.signal.add(onAbort);
      const done = () => {
        clearTimeout(timer);
        call.signal.remove(onAbort);
      };
      let settled = false;
      socket.once('connect', () => {
        settled = true;
        done();
        resolve({ status: 200, headers: [], body: null, socket });
      });
      // Stays attached after connect (a no-op then) so a late error never goes unhandled; the
      // listener that splices the tunnel adds its own.
      socket.on('error', (err: Error) => {
        if (settled) return;
        settled = true;
        done();
        reject(upstreamError(err, call, false));
      });
    });
  }

  return {
    request: (call, target) => send(call, target, false),
    upgrade,
    tunnel,
    close: () => agent.destroy(),
  };
}
