import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Agent, request } from 'undici';
import {
  endpointOf,
  FakeDirectory,
  FakeRoundRobin,
  testSidecarConfig,
} from '../../test/support/fake-directory.ts';
import { startUpstream, type TestUpstream } from '../../test/support/upstream.ts';
import { ManualClock } from '../shared/clock.ts';
import { setLogLevel } from '../shared/log.ts';
import { createDataPlane } from './data-plane.ts';

setLogLevel(process.env.MESHER_LOG_LEVEL ?? 'silent');

let up: TestUpstream;
const directory = new FakeDirectory();

before(async () => {
  up = await startUpstream({ id: 'u' });
  directory.set('up', [endpointOf(up, 'u')]);
});

after(async () => {
  await up.close();
});

async function until(cond: () => boolean): Promise<void> {
  const end = Date.now() + 3000;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Origin-form call through the outbound listener (Host names the service). */
async function call(port: number, headers: Record<string, string> = {}, dispatcher?: Agent) {
  const res = await request(`http://127.0.0.1:${port}/x`, {
    headers: { host: 'up', 'x-test-echo': '1', ...headers },
    ...(dispatcher ? { dispatcher } : {}),
  });
  const body = (await res.body.json()) as { rawHeaders: string[] };
  const i = body.rawHeaders.findIndex((h) => h.toLowerCase() === 'x-cse-src-microservice');
  return { status: res.statusCode, source: body.rawHeaders[i + 1] };
}

test('setConfig swaps the chain: new identity and strategy apply to new calls, in-flight calls finish', async () => {
  const made: string[] = [];
  const config = testSidecarConfig();
  const plane = createDataPlane({
    config,
    directory,
    createBalancer: (s) => {
      made.push(s);
      return new FakeRoundRobin();
    },
  });
  const { outbound } = await plane.listen();
  try {
    assert.equal((await call(outbound.port)).source, 'client');
    const seen = up.requests;
    const slow = call(outbound.port, { 'x-test-delay-ms': '200' });
    await until(() => up.requests > seen); // the slow call is in flight on the old chain
    plane.setConfig({
      ...config,
      service: { ...config.service, name: 'renamed' },
      loadBalance: { strategy: 'Random', perService: {} },
    });
    assert.equal((await call(outbound.port)).source, 'renamed');
    assert.deepEqual(await slow, { status: 200, source: 'client' });
    assert.deepEqual(made, ['RoundRobin', 'Random']);
    // Same strategy again: the balancer (and its state) is kept.
    plane.setConfig({ ...config, loadBalance: { strategy: 'Random', perService: {} } });
    await call(outbound.port);
    assert.deepEqual(made, ['RoundRobin', 'Random']);
  } finally {
    await plane.close();
  }
});

test('close({ drainMs }) lets in-flight calls finish and refuses new ones', async () => {
  const clock = new ManualClock();
  const plane = createDataPlane({
    config: testSidecarConfig(),
    directory,
    createBalancer: () => new FakeRoundRobin(),
    clock,
  });
  const { outbound } = await plane.listen();
  const dispatcher = new Agent();
  try {
    const seen = up.requests;
    const slow = call(outbound.port, { 'x-test-delay-ms': '150' }, dispatcher);
    await until(() => up.requests > seen);
    const closed = plane.close({ drainMs: 10_000 });
    await assert.rejects(request(`http://127.0.0.1:${outbound.port}/x`, { headers: { host: 'up' } }));
    assert.deepEqual(await slow, { status: 200, source: 'client' });
    await closed; // resolved by the drained servers: the (manual) drain deadline never fired
    assert.equal(clock.pending, 0, 'drain timers cancelled');
  } finally {
    await dispatcher.close();
  }
});

test('port 0 listeners report their real ports', async () => {
  const plane = createDataPlane({
    config: testSidecarConfig({
      listeners: {
        outbound: { host: '127.0.0.1', port: 0 },
        inbound: { host: '127.0.0.1', port: 0 },
        advertise: null,
        admin: { host: '127.0.0.1', port: 0 },
      },
    }),
    directory,
    createBalancer: () => new FakeRoundRobin(),
  });
  const r = await plane.listen();
  try {
    for (const a of [r.outbound, r.inbound!, r.admin!]) assert.ok(a.port > 0, `port ${a.port}`);
    assert.equal(new Set([r.outbound.port, r.inbound!.port, r.admin!.port]).size, 3);
  } finally {
    await plane.close();
  }
});
