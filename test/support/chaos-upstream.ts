/**
 * A test application whose behaviour the test switches at run time (the chaos test's "one instance
 * starts returning 500s, one becomes slow"): mode `ok` answers 200 with its id, `error` answers
 * 500, `slow` waits `slowMs` first. Counts requests per mode. Listens on 127.0.0.1:0.
 */
import http, { type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type ChaosMode = 'ok' | 'error' | 'slow';

export interface ChaosUpstream {
  readonly id: string;
  readonly port: number;
  readonly server: Server;
  mode: ChaosMode;
  slowMs: number;
  /** Requests received so far. */
  readonly requests: number;
  close(): Promise<void>;
}

export async function startChaosUpstream(id: string): Promise<ChaosUpstream> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let requests = 0;
  const state = { mode: 'ok' as ChaosMode, slowMs: 1000 };
  const server = http.createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    requests++;
    req.resume();
    const answer = (status: number) => {
      res.writeHead(status, { 'content-type': 'text/plain', 'x-upstream-id': id });
      res.end(id);
    };
    if (state.mode === 'error') return answer(500);
    if (state.mode === 'slow') {
      const t = setTimeout(() => {
        timers.delete(t);
        if (!res.destroyed) answer(200);
      }, state.slowMs);
      timers.add(t);
      return;
    }
    answer(200);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    id,
    port,
    server,
    get mode() {
      return state.mode;
    },
    set mode(m: ChaosMode) {
      state.mode = m;
    },
    get slowMs() {
      return state.slowMs;
    },
    set slowMs(ms: number) {
      state.slowMs = ms;
    },
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
