/**
 * @module registry/watch/watcher
 * WebSocket endpoints (spec §5): the instance watcher, which pushes CREATE/UPDATE/DELETE events
 * for every provider the consumer depends on, and the WebSocket heartbeat. Events come from the
 * catalog synchronously as the store applies a write; each is serialised once and fanned out to
 * the consumers whose dependency rules name the provider. A subscriber whose socket has more than
 * `maxBufferedBytes` unsent is slow: events are dropped for it rather than queued without bound.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { TimerHandle } from '../../shared/clock.ts';
import type { Logger } from '../../shared/log.ts';
import type { InstanceChange } from '../catalog.ts';
import { normalisePath } from '../http/server.ts';
import type { MicroServiceKey } from '../model.ts';
import type { RegistryContext } from '../ops/context.ts';
import { dependentsOf } from '../ops/dependencies.ts';
import { TENANT_RE } from '../validate.ts';

export interface WatcherOptions {
  /** Server ping period until the client pings itself (default 30 s). */
  pingIntervalMs?: number;
  /** Close a socket that showed no sign of life for this long (default 120 s). */
  readTimeoutMs?: number;
  /** Unsent bytes after which events for a subscriber are dropped (default 4 MiB). */
  maxBufferedBytes?: number;
}

interface Subscriber {
  ws: WebSocket;
  tenant: string;
  consumerId: string;
  lastSeen: number;
  clientPings: boolean;
  timer: TimerHandle;
}

const WATCH_RE = /^\/v4\/([^/]*)\/registry\/microservices\/([^/]*)\/watcher$/;
const HEARTBEAT_RE = /^\/v4\/([^/]*)\/registry\/microservices\/([^/]*)\/instances\/([^/]*)\/heartbeat$/;

export class Watcher {
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 64 });
  /** `tenant|consumerId` → subscribers */
  readonly #subs = new Map<string, Set<Subscriber>>();
  readonly #stop: () => void;
  readonly #opts: Required<WatcherOptions>;
  dropped = 0;

  constructor(
    private readonly ctx: RegistryContext,
    private readonly log: Logger,
    opts: WatcherOptions = {},
  ) {
    this.#opts = {
      pingIntervalMs: opts.pingIntervalMs ?? 30_000,
      readTimeoutMs: opts.readTimeoutMs ?? 120_000,
      maxBufferedBytes: opts.maxBufferedBytes ?? 4 * 1024 * 1024,
    };
    this.#stop = ctx.catalog.onInstanceChange((c) => this.#publish(c));
  }

  get subscriberCount(): number {
    let n = 0;
    for (const s of this.#subs.values()) n += s.size;
    return n;
  }

  /** Is this a path we upgrade? (The HTTP router answers a plain GET with 400.) */
  static isWatchPath(path: string): boolean {
    return WATCH_RE.test(path) || HEARTBEAT_RE.test(path);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const { path, apiVersion } = normalisePath(q < 0 ? url : url.slice(0, q));
    const rawDomain =
      apiVersion === 'v3'
        ? (req.headers['x-tenant-name'] ?? req.headers['x-domain-name'])
        : req.headers['x-domain-name'];
    const domain = (Array.isArray(rawDomain) ? rawDomain[0] : rawDomain) || 'default';
    const w = WATCH_RE.exec(path);
    const h = w ? null : HEARTBEAT_RE.exec(path);
    const project = (w?.[1] ?? h?.[1]) || 'default';
    if ((!w && !h) || !TENANT_RE.test(domain) || !TENANT_RE.test(project)) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    const tenant = `${domain}/${project}`;
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', (err) => {
        this.log.debug({ err }, 'websocket error');
        ws.terminate();
      });
      if (w) this.#watch(ws, tenant, safeDecode(w[2]!));
      else this.#heartbeat(ws, tenant, safeDecode(h![2]!), safeDecode(h![3]!));
    });
  }

  async close(): Promise<void> {
    this.#stop();
    for (const set of this.#subs.values())
      for (const s of set) {
        s.timer.cancel();
        s.ws.terminate();
      }
    this.#subs.clear();
    for (const ws of this.#wss.clients) ws.terminate();
    await new Promise<void>((r) => this.#wss.close(() => r()));
  }

  #watch(ws: WebSocket, tenant: string, consumerId: string): void {
    if (!consumerId || !this.ctx.catalog.service(tenant, consumerId)) {
      ws.send(consumerId ? 'service does not exist' : 'required the serviceID');
      ws.close();
      return;
    }
    const key = `${tenant}|${consumerId}`;
    const sub: Subscriber = {
      ws,
      tenant,
      consumerId,
      lastSeen: this.ctx.clock.now(),
      clientPings: false,
      timer: this.ctx.clock.setInterval(() => this.#tick(sub), this.#opts.pingIntervalMs),
    };
    let set = this.#subs.get(key);
    if (!set) {
      set = new Set();
      this.#subs.set(key, set);
    }
    set.add(sub);
    const alive = () => {
      sub.lastSeen = this.ctx.clock.now();
    };
    ws.on('ping', () => {
      sub.clientPings = true;
      alive();
    });
    ws.on('pong', alive);
    ws.on('message', alive); // client data frames are otherwise ignored
    ws.on('close', () => {
      sub.timer.cancel();
      set.delete(sub);
      if (set.size === 0) this.#subs.delete(key);
    });
  }

  #tick(sub: Subscriber): void {
    const now = this.ctx.clock.now();
    if (
      now - sub.lastSeen > this.#opts.readTimeoutMs ||
      !this.ctx.catalog.service(sub.tenant, sub.consumerId)
    ) {
      sub.ws.terminate();
      return;
    }
    if (!sub.clientPings) sub.ws.ping();
  }

  #publish(c: InstanceChange): void {
    if (this.#subs.size === 0) return;
    const consumers = dependentsOf(this.ctx, c.tenant, c.service);
    if (consumers.length === 0) return;
    const s = c.service;
    const key: MicroServiceKey = {
      tenant: c.tenant,
      environment: s.environment ?? '',
      appId: s.appId,
      serviceName: s.serviceName,
      version: s.version,
    };
    if (s.alias) key.alias = s.alias;
    if (!key.environment) delete key.environment;
    let text: string | undefined;
    for (const consumerId of consumers) {
      const set = this.#subs.get(`${c.tenant}|${consumerId}`);
      if (!set) continue;
      text ??= `{"action":"${c.action}","key":${JSON.stringify(key)},"instance":${c.instanceJson}}`;
      for (const sub of set) {
        if (sub.ws.bufferedAmount > this.#opts.maxBufferedBytes) {
          this.dropped++;
          continue;
        }
        sub.ws.send(text);
      }
    }
  }

  #heartbeat(ws: WebSocket, tenant: string, sid: string, iid: string): void {
    const gone = () => ws.close(4001, 'heartbeat reporting failed because the instance does not exist');
    const beat = (): boolean => {
      const e = this.ctx.catalog.instance(tenant, sid, iid);
      return e !== undefined && this.ctx.store.keepAlive(e.lease);
    };
    if (!beat()) {
      gone();
      return;
    }
    const timer = this.ctx.clock.setInterval(() => {
      if (!this.ctx.catalog.instance(tenant, sid, iid)) gone();
      else ws.ping();
    }, this.#opts.pingIntervalMs);
    ws.on('pong', () => {
      if (!beat()) gone();
    });
    ws.on('ping', () => {
      if (!beat()) gone();
    });
    ws.on('close', () => timer.cancel());
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return '';
  }
}
