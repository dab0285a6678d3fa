/**
 * @module bench/transports
 * Dev tool (not part of the product): compares the http.Agent and undici upstream transports on
 * the proxy hot path, next to a direct call and the Node peer (`http-proxy`). Starts a 1 KiB
 * backend, a data plane per transport and an http-proxy server, and drives each with
 * `concurrency` undici requests in a loop for `seconds`, alternating short slices so machine
 * drift hits both alike. Prints requests per second.
 *
 *   MESHER_LOG_LEVEL=silent node --import tsx bench/transports.ts [seconds] [concurrency]
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import httpProxy from 'http-proxy';
import { Agent, request } from 'undici';
import { createDataPlane } from '../src/sidecar/data-plane.ts';
import { createHttpAgentUpstream } from '../src/sidecar/upstream/http-agent.ts';
import type { Upstream } from '../src/sidecar/upstream/types.ts';
import { createUndiciUpstream } from '../src/sidecar/upstream/undici-pool.ts';
import { endpointOf, testSidecarConfig } from '../test/support/fake-directory.ts';
import { oneEndpointBalancer, oneEndpointDirectory } from './lib/one-endpoint.ts';

const seconds = Number(process.argv[2] ?? 6);
const concurrency = Number(process.argv[3] ?? 64);
const BODY = Buffer.alloc(1024, 'x');

const backend = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
  res.end(BODY);
});
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
const endpoint = endpointOf({ host: '127.0.0.1', port: (backend.address() as AddressInfo).port }, 'b');
const directory = oneEndpointDirectory('backend', endpoint);
const single = () => oneEndpointBalancer(endpoint);
const defaults = testSidecarConfig();
const config = testSidecarConfig({
  confDir: '.',
  service: { ...defaults.service, name: 'bench', version: '1' },
});

async function start(upstream: Upstream) {
  const plane = createDataPlane({ config, directory, createBalancer: single, upstream });
  const { outbound } = await plane.listen();
  return { plane, port: outbound.port };
}

async function drive(port: number, ms: number): Promise<number> {
  const client = new Agent({ connections: concurrency });
  const end = performance.now() + ms;
  let done = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const res = await request(`http://127.0.0.1:${port}/hello`, {
        dispatcher: client,
        headers: { host: 'backend' },
      });
      await res.body.arrayBuffer();
      if (res.statusCode === 200) done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await client.close();
  return done;
}

/** The Node peer from issue 7: a plain http-proxy reverse proxy with a keep-alive agent. */
async function startHttpProxy() {
  const proxy = httpProxy.createProxyServer({
    target: `http://127.0.0.1:${endpoint.port}`,
    agent: new http.Agent({ keepAlive: true, maxSockets: 512 }),
  });
  const server = http.createServer((req, res) => proxy.web(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

const agentSide = await start(createHttpAgentUpstream());
const undiciSide = await start(createUndiciUpstream());
const peer = await startHttpProxy();
const scenarios: Array<[string, number]> = [
  ['direct', endpoint.port],
  ['http-proxy', peer.port],
  ['mesher http.Agent', agentSide.port],
  ['mesher undici', undiciSide.port],
];
for (const [, port] of scenarios) await drive(port, 500); // warm-up
const totals = new Map<string, number>(scenarios.map(([n]) => [n, 0]));
const slices = Math.max(1, Math.round(seconds / scenarios.length));
for (let i = 0; i < slices; i++) {
  for (const [name, port] of scenarios) totals.set(name, totals.get(name)! + (await drive(port, 1000)));
}
for (const [name, n] of totals) console.log(`${name.padEnd(18)} ${Math.round(n / slices)} req/s`);
await agentSide.plane.close();
await undiciSide.plane.close();
peer.server.close();
backend.close();
