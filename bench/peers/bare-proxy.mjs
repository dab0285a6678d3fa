// Peer: the bare Node.js keep-alive reverse proxy (node:http server + http.Agent), the floor any
// Node-based proxy is compared with. Plain JS on purpose: it runs on `node` with no loader, like
// the built mesher in dist/, so its CPU and RSS are not inflated by tsx.
// Usage: node bare-proxy.mjs <listenPort> <backendPort>; prints "listening PORT" when ready.
import http from 'node:http';

const [listenPort, backendPort] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024, maxFreeSockets: 1024 });

const server = http.createServer((req, res) => {
  const up = http.request(
    { host: '127.0.0.1', port: backendPort, method: req.method, path: req.url, headers: req.headers, agent },
    (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    },
  );
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(up);
});
server.keepAliveTimeout = 300_000;
server.listen(listenPort, '127.0.0.1', () => console.log(`listening ${listenPort}`));
process.on('SIGTERM', () => process.exit(0));
