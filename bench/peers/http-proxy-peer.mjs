// Peer: npm `http-proxy` (the most used Node.js proxy library) with a keep-alive agent, as a
// reverse proxy to the backend. Plain JS for the same reason as bare-proxy.mjs.
// Usage: node http-proxy-peer.mjs <listenPort> <backendPort>; prints "listening PORT" when ready.
import http from 'node:http';
import httpProxy from 'http-proxy';

const [listenPort, backendPort] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024, maxFreeSockets: 1024 });
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${backendPort}`, agent });
proxy.on('error', (_err, _req, res) => {
  if (res && 'headersSent' in res && !res.headersSent) res.writeHead(502);
  res?.end();
});
const server = http.createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 300_000;
server.listen(listenPort, '127.0.0.1', () => console.log(`listening ${listenPort}`));
process.on('SIGTERM', () => process.exit(0));
