// A span collector that accepts and discards: OTLP/HTTP (`POST /v1/traces`) or Zipkin v2 JSON
// (`POST /api/v2/spans`), so the sidecar's exporter really encodes and sends (the cost the
// tracing-100% scenario measures) without a real collector's own CPU on the machine. Counts what it
// got; `GET /stats` answers {"requests":N,"bytes":N}. Bodies are drained, never kept, so memory is
// bounded whatever arrives. Plain JS, run on `node` pinned to the load core.
// Usage: node trace-sink.mjs; prints "listening PORT" (ephemeral port on 127.0.0.1) when ready.
import http from 'node:http';

let requests = 0;
let bytes = 0;
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ requests, bytes }));
    return;
  }
  if (req.method !== 'POST') {
    res.writeHead(405);
    res.end();
    return;
  }
  req.on('data', (d) => {
    bytes += d.length;
  });
  req.on('end', () => {
    requests++;
    // OTLP/HTTP JSON's success answer is an ExportTraceServiceResponse, `{}` is a valid one;
    // Zipkin answers 202 with no body. 200 + `{}` satisfies both exporters.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  req.on('error', () => res.destroy());
});
server.keepAliveTimeout = 300_000;
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
