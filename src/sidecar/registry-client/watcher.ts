/**
 * @module sidecar/registry-client/watcher
 * One WebSocket connection to `…/microservices/{consumerId}/watcher`: parses each text frame as a
 * watch event and hands it on. A text frame that is not an event (service-center sends
 * "service does not exist" and closes when the consumer id is unknown) becomes a 400012 error on
 * close. Client pings detect a silently dead peer. Reconnecting is the owner's job (discovery),
 * so that backoff runs on the injected clock there.
 */
import WebSocket from 'ws';
import { RegistryError, SC_ERROR } from './errors.ts';
import type { WatchEvent, WatchHandle, WatchHandlers } from './types.ts';

export interface OpenWatchOptions {
  /** Registry origin (`http://h:p` or `https://h:p`). */
  address: string;
  /** Path of the watcher endpoint. */
  path: string;
  domain: string;
  handshakeTimeoutMs: number;
  maxPayloadBytes: number;
  /** 0 disables client pings. */
  pingIntervalMs: number;
  handlers: WatchHandlers;
}

export function openWatch(o: OpenWatchOptions): WatchHandle {
  const url = o.address.replace(/^http/, 'ws') + o.path;
  let done = false;
  let opened = false;
  let closeError: RegistryError | undefined;
  let pingTimer: NodeJS.Timeout | undefined;
  let awaitingPong = false;

  const ws = new WebSocket(url, {
    headers: { 'x-domain-name': o.domain },
    handshakeTimeout: o.handshakeTimeoutMs,
    maxPayload: o.maxPayloadBytes,
    perMessageDeflate: false,
  });

  const finish = () => {
    if (pingTimer) clearInterval(pingTimer);
    if (done) return;
    done = true;
    o.handlers.onClose(closeError ?? (opened ? undefined : unreachable(o.address, 'closed before open')));
  };

  ws.on('open', () => {
    if (done) return;
    opened = true;
    if (o.pingIntervalMs > 0) {
      pingTimer = setInterval(() => {
        if (awaitingPong) {
          closeError = new RegistryError('timeout', 'registry watch: no pong', { address: o.address });
          ws.terminate();
          return;
        }
        awaitingPong = true;
        ws.ping();
      }, o.pingIntervalMs);
      pingTimer.unref();
    }
    o.handlers.onOpen();
  });
  ws.on('pong', () => {
    awaitingPong = false;
  });
  ws.on('message', (data, isBinary) => {
    if (done || isBinary) return;
    const text = data.toString();
    const event = parseEvent(text);
    if (event) {
      try {
        o.handlers.onEvent(event);
      } catch {
        // a listener bug must not kill the socket
      }
      return;
    }
    if (/does not exist|required the serviceID/i.test(text)) {
      closeError = new RegistryError('registry', `registry watch: ${text.slice(0, 200)}`, {
        errorCode: SC_ERROR.SERVICE_NOT_EXISTS,
        status: 400,
        address: o.address,
      });
    }
  });
  ws.on('unexpected-response', (_req, res) => {
    const status = res.statusCode ?? 0;
    closeError = new RegistryError(
      status >= 500 ? 'registry' : 'protocol',
      `registry watch: HTTP ${status} instead of an upgrade`,
      { status, address: o.address },
    );
    res.resume();
    ws.terminate();
  });
  ws.on('error', (err) => {
    closeError ??=
      err.message.includes('Max payload') ||
      (err as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
        ? new RegistryError('protocol', `registry watch: ${err.message}`, { address: o.address, cause: err })
        : /timed out/i.test(err.message)
          ? new RegistryError('timeout', `registry watch: ${err.message}`, { address: o.address, cause: err })
          : unreachable(o.address, err.message, err);
  });
  ws.on('close', finish);

  return {
    close() {
      if (done) return;
      done = true;
      if (pingTimer) clearInterval(pingTimer);
      ws.terminate();
    },
  };
}

function unreachable(address: string, msg: string, cause?: unknown): RegistryError {
  return new RegistryError('unreachable', `registry watch ${address}: ${msg}`, { address, cause });
}

/** A watch event, or undefined when `text` is not one. */
export function parseEvent(text: string): WatchEvent | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(text) as Partial<WatchEvent>;
    if (
      typeof v.action !== 'string' ||
      typeof v.key !== 'object' ||
      v.key === null ||
      typeof v.key.serviceName !== 'string' ||
      typeof v.instance !== 'object' ||
      v.instance === null
    ) {
      return undefined;
    }
    return {
      action: v.action,
      key: { ...v.key, appId: typeof v.key.appId === 'string' ? v.key.appId : 'default' },
      instance: v.instance,
    };
  } catch {
    return undefined;
  }
}
