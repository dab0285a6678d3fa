/**
 * The pool agent: idle sockets expire through one sweep timer on the injected clock (no socket
 * timer while a socket carries requests), the server's Keep-Alive hint lowers the limit, and the
 * connect timeout applies to the connections the pool opens.
 */
import assert from 'node:assert/strict';
import http, { type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { keepAliveHintMs, PoolAgent, wasConnected } from './pool-agent.ts';

let server: Server;
let port: number;
let connections = 0;

before(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/hint') res.setHeader('keep-alive', 'timeout=3');
    res.end('ok');
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function get(agent: http.Agent, path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      const socket = res.socket as net.Socket;
      res.resume();
      res.once('end', () => resolve(socket));
    });
    req.once('error', reject);
  });
}

const freeCount = (a: http.Agent) => Object.values(a.freeSockets).reduce((n, l) => n + (l?.length ?? 0), 0);
const settle = () => new Promise((r) => setImmediate(r)); // the agent takes sockets back on 'free'

test('keepAliveHintMs reads timeout=N from the raw headers, any case', () => {
  assert.equal(keepAliveHintMs(['Content-Length', '2', 'Keep-Alive', 'timeout=5, max=100']), 5000);
  assert.equal(keepAliveHintMs(['keep-alive', 'max=3']), undefined);
  assert.equal(keepAliveHintMs(['content-type', 'text/plain']), undefined);
});

test('an idle socket is swept after idleTimeoutMs on the clock, and a busy one has no socket timer', async () => {
  const clock = new ManualClock();
  const agent = new PoolAgent({
    maxSockets: 4,
    maxFreeSockets: 4,
    idleTimeoutMs: 4000,
    connectTimeoutMs: 5000,
    clock,
  });
  try {
    const before = connections;
    const socket = await get(agent, '/a');
    assert.equal(socket.timeout ?? 0, 0, 'no per-socket timeout');
    await settle();
    await get(agent, '/b');
    await settle();
    assert.equal(connections, before + 1, 'reused');
    assert.equal(freeCount(agent), 1);
    clock.advance(3500);
    assert.equal(freeCount(agent), 1, 'not idle long enough');
    clock.advance(1000);
    assert.equal(freeCount(agent), 0, 'swept between the limit and limit + idleTimeoutMs/8');
    assert.equal(clock.pending, 0, 'the sweeper stops when nothing is pooled');
    await get(agent, '/c');
    assert.equal(connections, before + 2, 'a new connection after the sweep');
  } finally {
    agent.destroy();
  }
});

test("the server's Keep-Alive hint (minus 1 s) lowers the idle limit", async () => {
  const clock = new ManualClock();
  const agent = new PoolAgent({
    maxSockets: 4,
    maxFreeSockets: 4,
    idleTimeoutMs: 10_000,
    connectTimeoutMs: 5000,
    clock,
  });
  try {
    await get(agent, '/hint'); // timeout=3 → 2 s
    await settle();
    assert.equal(freeCount(agent), 1);
    clock.advance(2000 + 1250);
    assert.equal(freeCount(agent), 0);
  } finally {
    agent.destroy();
  }
});

test('the connect timeout destroys a connection that never completes; the socket is not marked connected', async () => {
  // A listener whose accept backlog is full never completes new handshakes... not portable; instead
  // a connect timeout of 1 ms against a port that answers only after the timer has fired.
  const clock = new ManualClock();
  const agent = new PoolAgent({
    maxSockets: 4,
    maxFreeSockets: 4,
    idleTimeoutMs: 4000,
    connectTimeoutMs: 5000,
    clock,
  });
  try {
    const socket = agent.createConnection({ host: '127.0.0.1', port, connectTimeoutMs: 50 });
    const closed = new Promise<Error | undefined>((r) => {
      let error: Error | undefined;
      socket.once('error', (e) => (error = e));
      socket.once('close', () => r(error));
    });
    assert.equal(clock.pending, 1, 'connect timer armed');
    clock.advance(50); // fires before the event loop could complete the connect
    const err = await closed;
    assert.equal((err as NodeJS.ErrnoException | undefined)?.code, 'ETIMEDOUT');
    assert.equal(wasConnected(socket), false);
    const ok = agent.createConnection({ host: '127.0.0.1', port });
    await new Promise((r) => ok.once('connect', r));
    assert.equal(wasConnected(ok), true);
    assert.equal(clock.pending, 0, 'connected: the timer is gone');
    ok.destroy();
  } finally {
    agent.destroy();
  }
});

test('a refused connection is not counted as connected', async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const closedPort = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const agent = new PoolAgent({
    maxSockets: 1,
    maxFreeSockets: 1,
    idleTimeoutMs: 1000,
    connectTimeoutMs: 1000,
  });
  try {
    const s = agent.createConnection({ host: '127.0.0.1', port: closedPort });
    await new Promise((r) => s.once('error', r));
    assert.equal(wasConnected(s), false);
  } finally {
    agent.destroy();
  }
});
