/**
 * @module test/support/upstream
 * A scriptable HTTP test upstream on 127.0.0.1:0. Each request picks its behaviour by headers:
 *   x-test-status: N          answer with status N (default 200)
 *   x-test-delay-ms: N        wait N ms before answering
 *   x-test-body-bytes: N      answer with N bytes of 'x' (streamed in 64 KiB chunks)
 *   x-test-reset: before      destroy the socket without answering (also any other value)
 *   x-test-reset: mid-body    send the head and part of the body, then destroy the socket
 *   x-test-echo: 1            answer JSON {id, method, url, rawHeaders, body} (body as utf8)
 *   x-test-echo: digest       answer JSON {id, method, url, rawHeaders, bytes, sha256} of the body
 *   x-test-cookies: 1         add two Set-Cookie headers (a=1, b=2)
 * Every response carries `x-upstream-id: <id>` (default body: the id) so tests can count which
 * instance served. WebSocket upgrades are accepted and echo each message as `<id>:<message>`.
 */
import { createHash } from 'node:crypto';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { WebSocketServer } from 'ws';

export interface TestUpstream {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly server: Server;
  /** Requests answered (or reset) so far. */
  readonly requests: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Requests whose client went away before the answer completed. */
  readonly aborted: number;
  close(): Promise<void>;
}

export interface TestUpstreamOptions {
  readonly id?: string;
  /** Server keep-alive timeout (Node default 5000). */
  readonly keepAliveTimeoutMs?: number;
}

const CHUNK = Buffer.alloc(64 * 1024, 'x');

function writeBytes(res: ServerResponse, n: number, destroyAfter?: number): void {
  let left = n;
  let sent = 0;
  const pump = () => {
    while (left > 0) {
      if (destroyAfter !== undefined && sent >= destroyAfter) {
        res.socket?.destroy();
        return;
      }
      const size = Math.min(left, CHUNK.length);
      left -= size;
      sent += size;
      if (!res.write(size === CHUNK.length ? CHUNK : CHUNK.subarray(0, size))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

export async function startUpstream(opts: TestUpstreamOptions = {}): Promise<TestUpstream> {
  const id = opts.id ?? 'upstream';
  let requests = 0;
  let connections = 0;
  let aborted = 0;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer({ keepAliveTimeout: opts.keepAliveTimeoutMs ?? 5000 });
  server.on('connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });

  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const h = req.headers;
    const reset = h['x-test-reset'];
    if (reset !== undefined && reset !== 'mid-body') {
      req.socket.destroy();
      return;
    }
    const status = Number(h['x-test-status'] ?? 200);
    const echo = h['x-test-echo'];
    if (echo !== undefined) {
      const chunks: Buffer[] = [];
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
        if (echo === 'digest') hash.update(c);
        else chunks.push(c);
      });
      req.on('end', () => {
        const base = { id, method: req.method, url: req.url, rawHeaders: req.rawHeaders };
        const body =
          echo === 'digest'
            ? { ...base, bytes, sha256: hash.digest('hex') }
            : { ...base, body: Buffer.concat(chunks).toString('utf8') };
        res.writeHead(status, { 'content-type': 'application/json', 'x-upstream-id': id });
        res.end(JSON.stringify(body));
      });
      return;
    }
    req.resume();
    const bodyBytes = h['x-test-body-bytes'];
    if (bodyBytes !== undefined) {
      const n = Number(bodyBytes);
      res.writeHead(status, {
        'content-type': 'application/octet-stream',
        'x-upstream-id': id,
        'content-length': n,
      });
      writeBytes(res, n, reset === 'mid-body' ? Math.floor(n / 2) : undefined);
      return;
    }
    if (reset === 'mid-body') {
      res.writeHead(status, { 'content-length': 1000, 'x-upstream-id': id });
      res.write('partial');
      setImmediate(() => req.socket.destroy());
      return;
    }
    if (h['x-test-cookies'] !== undefined) res.setHeader('set-cookie', ['a=1', 'b=2']);
    res.writeHead(status, { 'content-type': 'text/plain', 'x-upstream-id': id });
    res.end(id);
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    requests++;
    res.once('close', () => {
      if (!res.writableFinished) aborted++;
    });
    const delay = Number(req.headers['x-test-delay-ms'] ?? 0);
    if (delay > 0) {
      const t = setTimeout(() => {
        timers.delete(t);
        if (!res.destroyed) answer(req, res);
      }, delay);
      timers.add(t);
    } else answer(req, res);
  });

  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `${id}:${data.toString()}`));
  });
  server.on('upgrade', (req, socket, head) => {
    requests++;
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    id,
    host: '127.0.0.1',
    port,
    server,
    get requests() {
      return requests;
    },
    get connections() {
      return connections;
    },
    get aborted() {
      return aborted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const c of wss.clients) c.terminate();
        wss.close();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Send raw bytes to 127.0.0.1:port and collect everything the server sends until it closes the
 * connection (or `idleMs` passes without data). For inputs real clients refuse to produce.
 */
export function rawExchange(port: number, data: string | Buffer, idleMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(idleMs, () => socket.destroy());
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => (chunks.length > 0 ? undefined : reject(err)));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.write(data);
  });
}

/** The JSON an upstream answers to `x-test-echo: 1` (the fields header tests read). */
export interface Echo {
  url: string;
  rawHeaders: string[];
}

/** The first value of header `name` (lower case) that the upstream received, as sent. */
export function headerOf(echo: Echo, name: string): string | undefined {
  for (let i = 0; i < echo.rawHeaders.length; i += 2)
    if (echo.rawHeaders[i]!.toLowerCase() === name) return echo.rawHeaders[i + 1];
  return undefined;
}

/** The body of a raw HTTP/1.1 response text (de-chunked when Transfer-Encoding is chunked). */
export function bodyOf(text: string): string {
  const split = text.indexOf('\r\n\r\n');
  const head = text.slice(0, split);
  let rest = text.slice(split + 4);
  if (!/^transfer-encoding:\s*chunked/im.test(head)) return rest;
  let out = '';
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, eol), 16);
    if (!(size > 0)) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}
