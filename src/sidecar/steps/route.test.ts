// The route step, alone and in a small real-socket mesh: server1's sidecar (inbound + outbound
// listeners built from the production listener, chain and transport pieces, plus the route step
// and a load-balance step that honours the decision, as the lead will wire it) in front of an app
// that calls server2, whose v1 and v2 instances are real upstreams on 127.0.0.1:0.
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { endpointOf, FakeDirectory, FakeRoundRobin } from '../../../test/support/fake-directory.ts';
import { startUpstream, type TestUpstream } from '../../../test/support/upstream.ts';
import { ManualClock } from '../../shared/clock.ts';
import { compose, Slot } from '../chain/compose.ts';
import type { CallContext, Outcome, Step } from '../chain/types.ts';
import type { Endpoint, ServiceDirectory } from '../discovery/types.ts';
import { createInboundCallFactory } from '../listeners/inbound.ts';
import { createOutboundCallFactory } from '../listeners/outbound.ts';
import { createEdgeServer } from '../listeners/server.ts';
import { routedSnapshot } from '../routing/filter.ts';
import { parseRouteTable } from '../routing/parse.ts';
import { PropagationStore, parsePropagation } from '../routing/propagation.ts';
import { DEFAULT_DECISION } from '../routing/table.ts';
import { createHttpAgentUpstream } from '../upstream/http-agent.ts';
import { createLocalTarget } from './local-target.ts';
import { callerOf, createRoute, ROUTE_CHANNEL, routeDecisionOf } from './route.ts';
import { createTransport } from './transport.ts';

const ok: Outcome = { status: 200, headers: [], body: null };
const fakeCall = (direction: 'inbound' | 'outbound', headers: string[] = []) =>
  ({
    direction,
    kind: 'request',
    method: 'GET',
    service: 'server2',
    path: '/',
    headers,
  }) as unknown as CallContext;

test('outbound: the decision is recorded on the call; inbound calls and untouched calls have none', async () => {
  const { table } = parseRouteTable({
    'servicecomb.routeRule.server2': [
      { match: { headers: { 'x-canary': { exact: 'v2' } } }, route: [{ tags: { version: '2.0.0' } }] },
    ],
  });
  const step = createRoute({ table, identity: { service: 'server1' } });
  const canary = fakeCall('outbound', ['X-Canary', 'v2']);
  await step(canary, async () => ok);
  assert.equal(routeDecisionOf(canary)?.routeKey, 'version=2.0.0');
  const plain = fakeCall('outbound');
  await step(plain, async () => ok);
  assert.equal(routeDecisionOf(plain), DEFAULT_DECISION);
  const inbound = fakeCall('inbound', ['X-Canary', 'v2']);
  await step(inbound, async () => ok);
  assert.equal(routeDecisionOf(inbound), undefined);
  // A reload passes the router on; the new step decides with the new table.
  const next = createRoute({
    table: parseRouteTable({}).table,
    identity: { service: 'server1' },
    previous: step.router,
  });
  const later = fakeCall('outbound', ['X-Canary', 'v2']);
  await next(later, async () => ok);
  assert.equal(routeDecisionOf(later), DEFAULT_DECISION);
});

test('every outbound decision is published on the mesher:route:decision channel', async () => {
  const { table } = parseRouteTable({
    'servicecomb.routeRule.server2': [{ route: [{ tags: { version: '2' } }] }],
  });
  const step = createRoute({ table, identity: { service: 'server1' } });
  const seen: unknown[] = [];
  const listener = (msg: unknown) => seen.push(msg);
  diagnostics_channel.subscribe(ROUTE_CHANNEL, listener);
  try {
    const call = fakeCall('outbound');
    await step(call, async () => ok);
    await step(fakeCall('inbound'), async () => ok);
    assert.deepEqual(seen, [{ call, decision: routeDecisionOf(call), propagated: 0 }]);
  } finally {
    diagnostics_channel.unsubscribe(ROUTE_CHANNEL, listener);
  }
});

test('callerOf: our name, version, app and every property (instance properties win)', () => {
  const c = callerOf({
    name: 's',
    version: '1.2.0',
    app: 'shop',
    properties: { zone: 'a', tier: 'gold' },
    instanceProperties: { zone: 'b' },
  });
  assert.deepEqual(c, {
    service: 's',
    version: '1.2.0',
    app: 'shop',
    properties: { zone: 'b', tier: 'gold' },
  });
  assert.ok(Object.isFrozen(c));
});

/**
 * The load-balance step as the lead will adapt it: pick among the decision's subset, one balancer
 * per (service, routeKey), fed only when the routed snapshot changes.
 */
function routedLoadBalance(directory: ServiceDirectory): Step {
  const balancers = new Map<string, { b: FakeRoundRobin; fed: unknown }>();
  return async (call, next) => {
    const decision = routeDecisionOf(call) ?? DEFAULT_DECISION;
    const app = decision.app ?? call.app;
    const snapshot = directory.peek(call.service, app) ?? (await directory.lookup(call.service, app));
    const routed = routedSnapshot(snapshot, decision);
    const key = `${call.service}\u0000${app ?? ''}\u0000${decision.routeKey}`;
    let entry = balancers.get(key);
    if (entry === undefined) {
      entry = { b: new FakeRoundRobin(), fed: undefined };
      balancers.set(key, entry);
    }
    if (entry.fed !== routed) {
      entry.b.update(routed.endpoints);
      entry.fed = routed;
    }
    const picked = entry.b.pick();
    assert.equal(picked.kind, 'ok');
    const endpoint = (picked as { endpoint: Endpoint }).endpoint;
    call.endpoint = endpoint;
    call.target = endpoint;
    return next(call);
  };
}

interface Mesh {
  inbound: number;
  outbound: number;
  v1: TestUpstream;
  v2: TestUpstream;
  close(): Promise<void>;
}

const listen = (server: http.Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );

/** The app behind server1: calls server2 through its sidecar, forwarding only `forward` headers. */
function startApp(outboundPort: () => number, forward: readonly string[]): http.Server {
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const headers: Record<string, string> = {};
    for (const h of forward) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const out = http.request(
      { host: '127.0.0.1', port: outboundPort(), path: 'http://server2/hello', headers, agent },
      (up) => {
        up.resume();
        up.on('end', () => res.end(String(up.headers['x-upstream-id'])));
      },
    );
    out.on('error', () => res.writeHead(599).end());
    out.end();
  });
  server.on('close', () => agent.destroy());
  return server;
}

async function startMesh(
  rules: unknown,
  flat: Record<string, unknown>,
  forward: readonly string[],
): Promise<Mesh> {
  const v1 = await startUpstream({ id: 'v1' });
  const v2 = await startUpstream({ id: 'v2' });
  const directory = new FakeDirectory();
  directory.set('server2', [
    { ...endpointOf(v1, 'i-v1'), version: '1.0.0' },
    { ...endpointOf(v2, 'i-v2'), version: '2.0.0' },
  ]);
  const { table, issues } = parseRouteTable({ 'servicecomb.routeRule.server2': rules });
  assert.deepEqual(issues, []);
  const propagation = new PropagationStore(parsePropagation(flat).config, new ManualClock());
  const route = createRoute({ table, identity: { service: 'server1' }, propagation });
  const upstream = createHttpAgentUpstream();
  const transport = createTransport(upstream);
  let outboundPort = 0;
  const app = startApp(() => outboundPort, forward);
  const appPort = await listen(app);
  const outbound = createEdgeServer(
    {},
    new Slot({
      makeCall: createOutboundCallFactory({ service: 'server1' }),
      handler: compose([route, routedLoadBalance(directory), transport]),
    }),
  );
  const inbound = createEdgeServer(
    {},
    new Slot({
      makeCall: createInboundCallFactory({ service: 'server1' }),
      handler: compose([
        route,
        createLocalTarget({ localApp: { host: '127.0.0.1', port: appPort }, servicePorts: {} }),
        transport,
      ]),
    }),
  );
  outboundPort = await listen(outbound.server);
  const inboundPort = await listen(inbound.server);
  const close = (s: http.Server) =>
    new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  return {
    inbound: inboundPort,
    outbound: outboundPort,
    v1,
    v2,
    async close() {
      await Promise.all([close(inbound.server), close(outbound.server), close(app)]);
      upstream.close();
      await Promise.all([v1.close(), v2.close()]);
    },
  };
}

const clientAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; id: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent: clientAgent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, id: String(res.headers['x-upstream-id']), body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const TRACE = (n: number) => `00-${n.toString(16).padStart(32, '0')}-00f067aa0ba902b7-01`;

const CANARY_RULES = [
  {
    precedence: 2,
    match: { headers: { 'x-canary': { exact: 'v2' } } },
    route: [{ tags: { version: '2.0.0' } }],
  },
  { precedence: 1, route: [{ tags: { version: '1.0.0' } }] },
];

let mesh: Mesh;
let split: Mesh;

before(async () => {
  mesh = await startMesh(CANARY_RULES, { 'servicecomb.router.propagate': ['x-canary'] }, ['traceparent']);
  split = await startMesh(
    [
      {
        route: [
          { tags: { version: '1.0.0' }, weight: 80 },
          { tags: { version: '2.0.0' }, weight: 20 },
        ],
      },
    ],
    {},
    [],
  );
});

after(async () => {
  await mesh?.close();
  await split?.close();
  clientAgent.destroy();
});

test('header-based routing over real sockets: x-canary: v2 reaches v2, everything else v1', async () => {
  for (let i = 0; i < 4; i++) {
    assert.equal((await get(mesh.outbound, 'http://server2/a', { 'x-canary': 'v2' })).id, 'v2');
    assert.equal((await get(mesh.outbound, 'http://server2/a', { 'x-canary': 'v1' })).id, 'v1');
    assert.equal((await get(mesh.outbound, 'http://server2/a')).id, 'v1');
  }
});

test('a 20/80 split measured over 1,000 requests through the proxy is exactly 200/800', async () => {
  const before2 = split.v2.requests;
  const seen = { v1: 0, v2: 0 } as Record<string, number>;
  for (let batch = 0; batch < 100; batch++) {
    const res = await Promise.all(Array.from({ length: 10 }, () => get(split.outbound, 'http://server2/x')));
    for (const r of res) seen[r.id] = (seen[r.id] ?? 0) + 1;
  }
  assert.deepEqual(seen, { v1: 800, v2: 200 });
  assert.equal(split.v2.requests - before2, 200);
});

test('the canary follows the call chain: server1 app forwards only traceparent, its call to server2 stays on v2', async () => {
  const canary = await get(mesh.inbound, '/work', { 'x-canary': 'v2', traceparent: TRACE(1) });
  assert.equal(canary.status, 200);
  assert.equal(canary.body, 'v2');
  const stable = await get(mesh.inbound, '/work', { traceparent: TRACE(2) });
  assert.equal(stable.body, 'v1');
  // Without a correlation id the sidecar cannot tell which request the call belongs to: v1.
  const lost = await get(mesh.inbound, '/work', { 'x-canary': 'v2' });
  assert.equal(lost.body, 'v1');
});

test('a route whose subset is empty answers 503 NO_ENDPOINTS', async () => {
  const m = await startMesh([{ route: [{ tags: { version: '9.9.9' } }] }], {}, []);
  try {
    const r = await new Promise<{ status: number; code: string | undefined }>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: m.outbound, path: 'http://server2/x', agent: false },
        (res) => {
          res.resume();
          const code = res.headers['x-mesher-error'];
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, code: typeof code === 'string' ? code : undefined }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(r, { status: 503, code: 'NO_ENDPOINTS' });
  } finally {
    await m.close();
  }
});
