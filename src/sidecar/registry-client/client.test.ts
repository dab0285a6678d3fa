import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { createRegistryClient } from './client.ts';
import { isRegistryError, type RegistryError, SC_ERROR } from './errors.ts';
import type { WatchEvent } from './types.ts';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

interface Stub {
  url: string;
  server: Server;
  seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }>;
  handler: Handler;
}

const servers: Server[] = [];
after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function stub(handler: Handler): Promise<Stub> {
  const st: Stub = { url: '', server: createServer(), seen: [], handler };
  st.server.on('request', (req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      st.seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      st.handler(req, body, res);
    });
  });
  await new Promise<void>((r) => st.server.listen(0, '127.0.0.1', r));
  servers.push(st.server);
  st.url = `http://127.0.0.1:${(st.server.address() as AddressInfo).port}`;
  return st;
}

/** An address where nothing listens (connection refused). */
async function deadAddress(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
  res.end(JSON.stringify(body));
}

const cfg = (addresses: string[]) => ({ addresses, project: 'proj', domain: 'dom' });

test('sends X-Domain-Name and the project path; parses serviceId', async () => {
  const s = await stub((_req, _b, res) => json(res, 200, { serviceId: 'abc' }));
  const c = createRegistryClient(cfg([s.url]));
  try {
    assert.equal(
      await c.existence({ appId: 'a', serviceName: 'n', version: '1.0.0', environment: '' }),
      'abc',
    );
    const r = s.seen[0]!;
    assert.equal(r.headers['x-domain-name'], 'dom');
    assert.match(
      r.url,
      /^\/v4\/proj\/registry\/existence\?type=microservice&appId=a&serviceName=n&version=1\.0\.0&env=$/,
    );
    assert.equal(await c.createService({ appId: 'a', serviceName: 'n', version: '1.0.0' }), 'abc');
    assert.deepEqual(JSON.parse(s.seen[1]!.body), {
      service: { appId: 'a', serviceName: 'n', version: '1.0.0' },
    });
    assert.equal(s.seen[1]!.headers['content-type'], 'application/json');
  } finally {
    await c.close();
  }
});

test('business errors keep the registry errorCode; existence/getService map "not found" to null', async () => {
  const s = await stub((req, _b, res) => {
    if (req.url!.includes('/heartbeat')) {
      json(res, 400, { errorCode: '400017', errorMessage: 'Instance does not exist' });
    } else {
      json(res, 400, { errorCode: '400012', errorMessage: 'Micro-service does not exist' });
    }
  });
  const c = createRegistryClient(cfg([s.url]));
  try {
    assert.equal(await c.existence({ appId: 'a', serviceName: 'n', version: '1', environment: '' }), null);
    assert.equal(await c.getService('x'), null);
    await assert.rejects(c.heartbeat('s', 'i'), (e: RegistryError) => {
      assert.ok(isRegistryError(e, SC_ERROR.INSTANCE_NOT_EXISTS));
      assert.equal(e.kind, 'registry');
      assert.equal(e.status, 400);
      return true;
    });
    await assert.rejects(c.findInstances({ appId: 'a', serviceName: 'n' }), (e) =>
      isRegistryError(e, SC_ERROR.SERVICE_NOT_EXISTS),
    );
    assert.equal(s.seen.length, 4, '4xx answers are not retried on another address');
  } finally {
    await c.close();
  }
});

test('find: X-ConsumerId, rev, X-Resource-Revision, and 304 as notModified', async () => {
  const s = await stub((req, _b, res) => {
    const u = new URL(req.url!, 'http://x');
    if (u.searchParams.get('rev') === 'r1') {
      res.writeHead(304, { 'x-resource-revision': 'r1' });
      res.end();
      return;
    }
    json(
      res,
      200,
      { instances: [{ instanceId: 'i1', hostName: 'h', endpoints: ['rest://1.2.3.4:5'] }] },
      {
        'x-resource-revision': 'r1',
      },
    );
  });
  const c = createRegistryClient(cfg([s.url]));
  try {
    const r = await c.findInstances({
      appId: 'a',
      serviceName: 'n',
      consumerId: 'me',
      environment: 'testing',
    });
    assert.equal(r.notModified, false);
    assert.equal(r.rev, 'r1');
    assert.equal(r.notModified === false && r.instances[0]!.instanceId, 'i1');
    assert.equal(s.seen[0]!.headers['x-consumerid'], 'me');
    assert.match(s.seen[0]!.url, /env=testing/);
    assert.deepEqual(await c.findInstances({ appId: 'a', serviceName: 'n', rev: 'r1' }), {
      notModified: true,
      rev: 'r1',
    });
    assert.equal(s.seen[1]!.headers['x-consumerid'], undefined);
  } finally {
    await c.close();
  }
});

test('batch query maps updated / notModified / failed back to request order', async () => {
  const s = await stub((_req, _b, res) =>
    json(res, 200, {
      services: {
        updated: [
          { rev: 'r0', instances: [{ instanceId: 'i', hostName: 'h' }] },
          { index: 3, rev: 'r3' },
        ],
        notModified: [1],
        failed: [
          { indexes: [2], error: { errorCode: '400012', errorMessage: 'Micro-service does not exist' } },
        ],
      },
    }),
  );
  const c = createRegistryClient(cfg([s.url]));
  try {
    const items = ['a', 'b', 'c', 'd', 'e'].map((n) => ({
      appId: 'x',
      serviceName: n,
      rev: n === 'b' ? 'rb' : undefined,
    }));
    const r = await c.batchFind(items, 'me');
    assert.equal(r[0]!.kind, 'updated');
    assert.equal(r[0]!.kind === 'updated' && r[0]!.instances.length, 1);
    assert.equal(r[1]!.kind, 'notModified');
    assert.equal(r[2]!.kind === 'failed' && r[2]!.error.errorCode, '400012');
    assert.equal(r[3]!.kind === 'updated' && r[3]!.rev, 'r3');
    assert.equal(r[4]!.kind === 'failed' && r[4]!.error.kind, 'protocol');
    assert.match(s.seen[0]!.url, /\/instances\/action\?type=query$/);
    assert.equal(s.seen[0]!.headers['x-consumerid'], 'me');
    const body = JSON.parse(s.seen[0]!.body);
    assert.deepEqual(body.services[1], { service: { appId: 'x', serviceName: 'b' }, rev: 'rb' });
  } finally {
    await c.close();
  }
});

test('failover: a dead first address is skipped and the healthy one remembered', async () => {
  const dead = await deadAddress();
  const s = await stub((_req, _b, res) => json(res, 200, { service: { serviceId: 's' } }));
  const c = createRegistryClient(cfg([dead, s.url]));
  try {
    assert.equal(c.currentAddress(), dead);
    assert.ok(await c.getService('s'));
    assert.equal(c.currentAddress(), s.url);
    assert.ok(await c.getService('s'));
    assert.equal(s.seen.length, 2);
  } finally {
    await c.close();
  }
});

test('failover on 5xx; a 5xx everywhere surfaces with its errorCode', async () => {
  const bad = await stub((_req, _b, res) =>
    json(res, 500, { errorCode: '500011', errorMessage: 'Registry service is unavailable' }),
  );
  const good = await stub((_req, _b, res) => json(res, 200, {}));
  const c = createRegistryClient(cfg([bad.url, good.url]));
  const c2 = createRegistryClient(cfg([bad.url]));
  try {
    await c.heartbeat('s', 'i');
    assert.equal(bad.seen.length, 1);
    assert.equal(good.seen.length, 1);
    await assert.rejects(
      c2.heartbeat('s', 'i'),
      (e: RegistryError) => e.errorCode === '500011' && e.transient,
    );
  } finally {
    await c.close();
    await c2.close();
  }
});

test('a request on a connection the registry dropped is repeated once on a fresh connection', async () => {
  let n = 0;
  const s = await stub((_req, _b, res) => {
    if (n++ === 0) res.socket?.destroy();
    else json(res, 200, {});
  });
  const c = createRegistryClient(cfg([s.url]));
  try {
    await c.heartbeat('s', 'i');
    assert.equal(s.seen.length, 2);
  } finally {
    await c.close();
  }
});

test('every address unreachable → kind "unreachable"; slow registry → kind "timeout"', async () => {
  const dead1 = await deadAddress();
  const dead2 = await deadAddress();
  const c = createRegistryClient(cfg([dead1, dead2]));
  const slow = await stub(() => {
    /* never answers */
  });
  const c2 = createRegistryClient(cfg([slow.url]), { timeoutMs: 150 });
  try {
    await assert.rejects(c.heartbeat('s', 'i'), (e: RegistryError) => e.kind === 'unreachable');
    const t0 = Date.now();
    await assert.rejects(c2.heartbeat('s', 'i'), (e: RegistryError) => e.kind === 'timeout');
    assert.ok(Date.now() - t0 < 2000);
    await assert.rejects(
      c2.heartbeat('s', 'i', { timeoutMs: 50 }),
      (e: RegistryError) => e.kind === 'timeout',
    );
  } finally {
    await c.close();
    await c2.close();
  }
});

test('an oversized or non-JSON answer is a protocol error, not a crash', async () => {
  const s = await stub((req, _b, res) => {
    if (req.url!.includes('big')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"service":"${'x'.repeat(4096)}"}`);
    } else {
      res.writeHead(200);
      res.end('<html>');
    }
  });
  const c = createRegistryClient(cfg([s.url]), { maxResponseBytes: 1024 });
  try {
    await assert.rejects(c.getService('big'), (e: RegistryError) => e.kind === 'protocol');
    await assert.rejects(c.getService('html'), (e: RegistryError) => e.kind === 'protocol');
  } finally {
    await c.close();
  }
});

test('watch: receives events over WebSocket with X-Domain-Name; close() stops callbacks', async () => {
  const http = await stub((_req, _b, res) => json(res, 200, {}));
  const wss = new WebSocketServer({ server: http.server });
  const headers: Array<string | string[] | undefined> = [];
  const paths: string[] = [];
  wss.on('connection', (ws, req) => {
    headers.push(req.headers['x-domain-name']);
    paths.push(req.url!);
    ws.send(
      JSON.stringify({
        action: 'CREATE',
        key: { appId: 'a', serviceName: 'p', version: '1.0.0' },
        instance: { instanceId: 'i1', hostName: 'h' },
      }),
    );
  });
  const c = createRegistryClient(cfg([http.url]));
  try {
    const events: WatchEvent[] = [];
    let opened = 0;
    let closed = 0;
    const got = new Promise<void>((resolve) => {
      const h = c.watch('me', {
        onOpen: () => opened++,
        onEvent: (e) => {
          events.push(e);
          h.close();
          resolve();
        },
        onClose: () => closed++,
      });
    });
    await got;
    assert.equal(opened, 1);
    assert.equal(events[0]!.instance.instanceId, 'i1');
    assert.deepEqual(headers, ['dom']);
    assert.deepEqual(paths, ['/v4/proj/registry/microservices/me/watcher']);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(closed, 0, 'no callback after close()');
  } finally {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    await c.close();
  }
});

test('watch: "service does not exist" becomes a 400012 close; a dead address an unreachable close', async () => {
  const http = await stub((_req, _b, res) => json(res, 200, {}));
  const wss = new WebSocketServer({ server: http.server });
  wss.on('connection', (ws) => {
    ws.send('service does not exist');
    ws.close();
  });
  const c = createRegistryClient(cfg([http.url]));
  const dead = createRegistryClient(cfg([await deadAddress()]));
  try {
    const err = await new Promise<RegistryError | undefined>((resolve) => {
      c.watch('ghost', { onOpen() {}, onEvent() {}, onClose: resolve });
    });
    assert.equal(err?.errorCode, SC_ERROR.SERVICE_NOT_EXISTS);
    const err2 = await new Promise<RegistryError | undefined>((resolve) => {
      dead.watch('x', { onOpen() {}, onEvent() {}, onClose: resolve });
    });
    assert.equal(err2?.kind, 'unreachable');
  } finally {
    wss.close();
    await c.close();
    await dead.close();
  }
});

test('watch: a peer that completed the handshake but went silent is detected by client pings', async () => {
  // A "registry" that accepts the WebSocket upgrade and then never answers anything (no pongs).
  const sockets: Socket[] = [];
  const tcp = createTcpServer((sock) => {
    sockets.push(sock);
    sock.once('data', (buf) => {
      const key = /sec-websocket-key: *(.+)\r\n/i.exec(buf.toString())?.[1]?.trim() ?? '';
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      sock.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
    });
  });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(tcp.address() as AddressInfo).port}`;
  const c = createRegistryClient(cfg([url]), { watchPingIntervalMs: 50 });
  try {
    let opened = false;
    const t0 = Date.now();
    const err = await new Promise<RegistryError | undefined>((resolve) => {
      c.watch('me', { onOpen: () => (opened = true), onEvent() {}, onClose: resolve });
    });
    assert.equal(opened, true);
    assert.equal(err?.kind, 'timeout');
    assert.ok(Date.now() - t0 < 2000);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => tcp.close(r));
    await c.close();
  }
});
