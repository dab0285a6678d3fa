/**
 * @module demo/apps
 * The three sample applications of the seed's topology, client -> server1 -> server2. They are
 * plain Node HTTP programs with no mesh code at all: they call other services by name through
 * their sidecar's forward proxy (`http://server2/hello` sent in proxy form), exactly what an app
 * does once `http_proxy` points at its sidecar.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AppServer {
  readonly port: number;
  close(): Promise<void>;
}

/** GET through an HTTP proxy in proxy form (`GET http://service/path`), as curl with http_proxy does. */
export function getViaProxy(
  proxyPort: number,
  url: string,
  agent: http.Agent,
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: proxyPort, method: 'GET', path: url, agent, headers: { host: target.host } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function listen(server: http.Server): Promise<AppServer> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** server2: the leaf service. Answers with its own instance name so the summary can count instances. */
export function startServer2(instanceName: string): Promise<AppServer> {
  const server = http.createServer((req, res) => {
    const body = JSON.stringify({ service: 'server2', instance: instanceName, path: req.url });
    res.writeHead(200, { 'content-type': 'application/json', 'x-demo-instance': instanceName });
    res.end(body);
  });
  return listen(server);
}

/** server1: calls server2 through its own sidecar and wraps the answer. */
export function startServer1(instanceName: string, sidecarProxyPort: () => number): Promise<AppServer> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const server = http.createServer((req, res) => {
    getViaProxy(sidecarProxyPort(), 'http://server2/hello', agent).then(
      (down) => {
        const status = down.status === 200 ? 200 : 502;
        res.writeHead(status, { 'content-type': 'application/json', 'x-demo-instance': instanceName });
        res.end(
          JSON.stringify({
            service: 'server1',
            instance: instanceName,
            server2: safeJson(down.body),
            path: req.url,
          }),
        );
      },
      (err: Error) => {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ service: 'server1', error: err.message }));
      },
    );
  });
  const app = listen(server);
  return app.then((a) => ({
    port: a.port,
    close: async () => {
      agent.destroy();
      await a.close();
    },
  }));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface CallStats {
  ok: number;
  failed: number;
  /** "server1/<instance> -> server2/<instance>" -> count */
  paths: Map<string, number>;
  errors: Map<string, number>;
}

/**
 * The client: calls server1 in a loop through its sidecar (no server of its own: a consumer-only
 * service, as in the seed) and tallies which instances served each call.
 */
export function startClientLoop(
  sidecarProxyPort: () => number,
  intervalMs: number,
): { stats: CallStats; stop(): void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const stats: CallStats = { ok: 0, failed: 0, paths: new Map(), errors: new Map() };
  let stopped = false;
  const tick = async (): Promise<void> => {
    if (stopped) return;
    try {
      const r = await getViaProxy(sidecarProxyPort(), 'http://server1/work', agent);
      const body = safeJson(r.body) as { instance?: string; server2?: { instance?: string } };
      if (r.status === 200) {
        stats.ok++;
        const key = `server1/${body.instance ?? '?'} -> server2/${body.server2?.instance ?? '?'}`;
        stats.paths.set(key, (stats.paths.get(key) ?? 0) + 1);
      } else {
        stats.failed++;
        const code = String(r.headers['x-mesher-error'] ?? r.status);
        stats.errors.set(code, (stats.errors.get(code) ?? 0) + 1);
      }
    } catch (err) {
      stats.failed++;
      const msg = (err as Error).message;
      stats.errors.set(msg, (stats.errors.get(msg) ?? 0) + 1);
    }
    if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
  };
  let timer = setTimeout(() => void tick(), 0);
  return {
    stats,
    stop() {
      stopped = true;
      clearTimeout(timer);
      agent.destroy();
    },
  };
}
