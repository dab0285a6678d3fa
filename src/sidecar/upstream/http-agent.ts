/**
 * @module sidecar/upstream/http-agent
 * The upstream transport on Node's own `http.Agent` (chosen over undici after measuring, see
 * docs/proxy.md): one keep-alive agent (./pool-agent.ts) pools connections per endpoint
 * (host:port), idle sockets close after `idleTimeoutMs`, and a request that fails on a *reused* socket before any response
 * byte is retried once on a fresh connection when that is safe (it has no body, so nothing was
 * consumed from the client). Request and response headers travel as raw flat arrays.
 */
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import net, { type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { CallContext, Outcome, Target } from '../chain/types.ts';
import { filterResponseHeaders } from '../listeners/headers.ts';
import { upstreamError } from './errors.ts';
import { armConnectTimeout, PoolAgent, wasConnected } from './pool-agent.ts';
import type { Upstream, UpstreamOptions } from './types.ts';

/**
 * The upstream request for `call` to `target`: its raw headers as they are (Host included).
 * `connectTimeoutMs` travels with the options to the pool's `createConnection`.
 */
function requestTo(
  call: CallContext,
  target: Target,
  agent: http.Agent | false,
  connectTimeoutMs: number,
): ClientRequest {
  return http.request({
    host: target.host,
    port: target.port,
    method: call.method,
    path: call.path,
    headers: call.headers,
    setHost: false,
    agent,
    connectTimeoutMs,
  } as http.RequestOptions);
}

export function createHttpAgentUpstream(opts: UpstreamOptions = {}): Upstream {
  const idleTimeoutMs = opts.idleTimeoutMs ?? 4000;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  // Idle sockets expire through the agent's own sweep (./pool-agent.ts), not per-socket timers.
  const agent = new PoolAgent({
    maxSockets: opts.maxSocketsPerEndpoint ?? 512,
    // As many idle sockets as active ones: with fewer, every burst above the idle cap closes the
    // surplus after its response and reconnects on the next (the benchmark's profile at 512
    // connections showed exactly that churn). Idle sockets still expire after idleTimeoutMs.
    maxFreeSockets: opts.maxIdlePerEndpoint ?? opts.maxSocketsPerEndpoint ?? 512,
    idleTimeoutMs,
    connectTimeoutMs,
    ...(opts.clock === undefined ? {} : { clock: opts.clock }),
  });

  function send(call: CallContext, target: Target, fresh: boolean): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      let settled = false;
      const timeoutMs = call.connectTimeoutMs ?? connectTimeoutMs;
      const req = requestTo(call, target, fresh ? false : agent, timeoutMs);
      const onAbort = () => req.destroy();
      const finish = () => {
        settled = true;
        call.signal.remove(onAbort);
      };
      call.signal.add(onAbort);
      // Pooled connections get their connect timeout from the pool; a fresh one (agent: false) here.
      if (fresh) req.once('socket', (socket: Socket) => armConnectTimeout(socket, timeoutMs));
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
        reject(upstreamError(err, call, wasConnected(req.socket)));
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
      const req = requestTo(call, target, false, connectTimeoutMs); // an upgraded socket leaves the pool anyway
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
