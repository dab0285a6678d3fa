/**
 * Issue 6 item 4 on real sockets: `/v1/mesher/instances` shows, per instance, what the balancer
 * uses (in flight, EWMA latency, failures in a row, weights), the outlier ejection (until when,
 * why) and the circuit state; `/v1/mesher/errors` lists recent proxy errors with their reasons.
 */
import assert from 'node:assert/strict';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { ProxyAgent, request } from 'undici';
import { startRegistry } from '../../src/registry/main.ts';
import type { Sidecar } from '../../src/sidecar/main.ts';
import { fileClosers } from '../support/closers.ts';
import { registerProvider, startTestSidecar } from '../support/mesh.ts';
import { startUpstream } from '../support/upstream.ts';

const closers = fileClosers();

/** An instance that answers 500 to everything. */
async function failingServer(): Promise<Server> {
  const server = http.createServer((_req, res) => {
    res.writeHead(500, { 'x-upstream-id': 'bad' });
    res.end('broken');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => server.close(r)));
  return server;
}

// biome-ignore lint/suspicious/noExplicitAny: admin JSON, asserted field by field
async function admin(sidecar: Sidecar, path: string): Promise<{ status: number; body: any }> {
  const res = await request(`http://127.0.0.1:${sidecar.addresses.admin!.port}${path}`);
  return { status: res.statusCode, body: await res.body.json() };
}

describe('introspection (issue 6 item 4)', () => {
  test('/v1/mesher/instances shows balancer stats, ejection with its reason, and the circuit state', {
    timeout: 60_000,
  }, async () => {
    const registry = await startRegistry({ port: 0, dataDir: null });
    closers.push(() => registry.close());
    const good = await Promise.all(['g1', 'g2'].map((id) => startUpstream({ id })));
    for (const u of good) closers.push(() => u.close());
    const bad = await failingServer();
    for (const u of good)
      await registerProvider(registry.url, { name: 'inv', endpoint: `rest://127.0.0.1:${u.port}` });
    const badPort = (bad.address() as AddressInfo).port;
    const { instanceId: badId } = await registerProvider(registry.url, {
      name: 'inv',
      endpoint: `rest://127.0.0.1:${badPort}`,
    });
    const consumer = await startTestSidecar({
      name: 'invclient',
      registryUrl: registry.url,
      chassisExtra: [
        '  loadbalance:',
        '    strategy: { name: RoundRobin }',
        '  outlierDetection:',
        '    consecutiveFailures: 2',
      ].join('\n'),
    });
    closers.push(() => consumer.close());
    const proxy = new ProxyAgent({
      uri: `http://127.0.0.1:${consumer.addresses.outbound.port}`,
      proxyTunnel: false,
    });
    closers.push(() => proxy.close());
    for (let i = 0; i < 12; i++) {
      const res = await request('http://inv/x', { dispatcher: proxy });
      await res.body.text();
      assert.equal(res.statusCode, 200, 'retries hide the failing instance');
    }
    const { status, body } = await admin(consumer, '/v1/mesher/instances?service=inv');
    assert.equal(status, 200);
    const svc = body.services[0];
    assert.equal(svc.serviceName, 'inv');
    assert.deepEqual(svc.strategies, [{ route: '*', strategy: 'RoundRobin' }]);
    assert.equal(svc.circuit.state, 'closed');
    assert.equal(svc.outlier.known, 3, 'the cap counts the 3 registered instances');
    assert.equal(svc.endpoints.length, 3);
    const badEp = svc.endpoints.find((e: { instanceId: string }) => e.instanceId === badId);
    assert.ok(badEp, JSON.stringify(svc.endpoints));
    assert.equal(badEp.ejection.ejected, true, JSON.stringify(badEp));
    assert.equal(badEp.ejection.reason, 'consecutiveFailures');
    assert.equal(badEp.ejection.detail, '2 failures in a row');
    assert.ok(Date.parse(badEp.ejection.ejectedUntil) > Date.now(), badEp.ejection.ejectedUntil);
    assert.equal(badEp.circuit, 'closed');
    const [lb] = badEp.balancers;
    assert.equal(lb.route, '*');
    assert.equal(lb.strategy, 'RoundRobin');
    assert.equal(lb.inFlight, 0);
    assert.equal(lb.consecutiveFailures, 2);
    assert.ok(lb.latencyMs >= 1000, `failures count as slow in the EWMA: ${lb.latencyMs}`);
    for (const ep of svc.endpoints.filter((e: { instanceId: string }) => e.instanceId !== badId)) {
      assert.equal(ep.ejection.ejected, false);
      assert.equal(ep.balancers[0].consecutiveFailures, 0);
      assert.equal(typeof ep.balancers[0].latencyMs, 'number');
    }
  });

  test('/v1/mesher/errors lists recent proxy errors, newest first, with code, status and reason', {
    timeout: 60_000,
  }, async () => {
    const registry = await startRegistry({ port: 0, dataDir: null });
    closers.push(() => registry.close());
    const up = await startUpstream({ id: 'v1' });
    closers.push(() => up.close());
    await registerProvider(registry.url, { name: 'errsvc', endpoint: `rest://127.0.0.1:${up.port}` });
    const consumer = await startTestSidecar({
      name: 'errclient',
      registryUrl: registry.url,
      chassisExtra: '  routeRule:\n    errsvc: |\n      - route: [{ tags: { version: 9.9.9 } }]',
    });
    closers.push(() => consumer.close());
    const proxy = new ProxyAgent({
      uri: `http://127.0.0.1:${consumer.addresses.outbound.port}`,
      proxyTunnel: false,
    });
    closers.push(() => proxy.close());
    const ghost = await request('http://ghost/x', { dispatcher: proxy });
    await ghost.body.text();
    assert.equal(ghost.statusCode, 404);
    const none = await request('http://errsvc/x', { dispatcher: proxy });
    await none.body.text();
    assert.equal(none.statusCode, 503);
    const { status, body } = await admin(consumer, '/v1/mesher/errors');
    assert.equal(status, 200);
    assert.ok(body.total >= 2);
    const [newest, older] = body.errors;
    assert.equal(newest.code, 'NO_ENDPOINTS');
    assert.equal(newest.status, 503);
    assert.equal(newest.service, 'errsvc');
    assert.match(newest.message, /version=9\.9\.9/, 'the reason names the route tags');
    assert.equal(older.code, 'SERVICE_NOT_FOUND');
    assert.equal(older.status, 404);
    assert.ok(older.message.length > 0);
    assert.ok(!Number.isNaN(Date.parse(newest.time)));
    const bad = await admin(consumer, '/v1/mesher/errors?limit=0');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'BAD_LIMIT');
  });
});
