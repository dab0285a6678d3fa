import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeRegistryApi, flush, testSidecarConfig } from '../../../test/support/fake-registry-api.ts';
import { ManualClock } from '../../shared/clock.ts';
import { RegistryError, SC_ERROR } from '../registry-client/errors.ts';
import type { MicroService, MicroServiceInstance } from '../registry-client/types.ts';
import { createRegistration } from './registration.ts';

const silent = { info() {}, warn() {}, error() {}, debug() {} } as never;

function setup(over: Parameters<typeof testSidecarConfig>[0] = {}, random = () => 1) {
  const api = new FakeRegistryApi();
  const clock = new ManualClock();
  const config = testSidecarConfig(over);
  const reg = createRegistration({
    api,
    config,
    clock,
    random,
    instanceId: 'inst-1',
    frameworkVersion: '9.9.9',
    logger: silent,
  });
  return { api, clock, config, reg };
}

test('start() returns before any registry call completes, then registers service and instance', async () => {
  const { api, reg } = setup({
    service: { properties: { owner: 'team-a' }, instanceProperties: { zone: 'z1' } },
    registry: { heartbeatIntervalMs: 10_000 },
    flat: { 'region.name': 'r1', 'region.availableZone': 'az1' },
  });
  reg.start();
  assert.equal(reg.status().registered, false);
  const st = await reg.whenRegistered();
  assert.equal(st.registered, true);
  assert.equal(st.instanceId, 'inst-1');
  assert.deepEqual(
    api.calls.map((c) => c.method),
    ['existence', 'createService', 'registerInstance'],
  );
  const ms = api.calls[1]!.args[0] as MicroService;
  assert.equal(ms.registerBy, 'SIDECAR');
  assert.deepEqual(ms.framework, { name: 'mesher', version: '9.9.9' });
  assert.equal(ms.alias, 'demo:client');
  assert.deepEqual(ms.properties, { owner: 'team-a' });
  const inst = api.calls[2]!.args[1] as MicroServiceInstance;
  assert.deepEqual(inst.endpoints, ['rest://127.0.0.2:30101']);
  assert.equal(inst.hostName, 'host-1');
  assert.deepEqual(inst.properties, { zone: 'z1' });
  assert.deepEqual(inst.healthCheck, { mode: 'push', interval: 10, times: 3 });
  assert.deepEqual(inst.dataCenterInfo, { name: 'r1', region: 'r1', availableZone: 'az1' });
  assert.deepEqual([...api.services.keys()], [st.serviceId]);
  await reg.stop();
});

test('registry down at start: retries with capped exponential backoff, then registers', async () => {
  const { api, clock, reg } = setup({}, () => 1); // random 1 → the full ceiling each time
  api.down = true;
  reg.start();
  await flush();
  assert.equal(api.count('existence'), 1);
  assert.match(reg.status().lastError ?? '', /down/);
  const expected = [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000];
  for (const d of expected) {
    const before = api.count('existence');
    clock.advance(d - 1);
    await flush();
    assert.equal(api.count('existence'), before, `no retry before ${d} ms`);
    clock.advance(1);
    await flush();
    assert.equal(api.count('existence'), before + 1, `retry after ${d} ms`);
  }
  api.down = false;
  clock.advance(30_000);
  await flush();
  assert.equal(reg.status().registered, true);
  assert.equal(reg.status().lastError, undefined);
  await reg.stop();
  assert.equal(clock.pending, 0);
});

test('jitter keeps retries within [d/2, d]', async () => {
  const { api, clock, reg } = setup({}, () => 0);
  api.down = true;
  reg.start();
  await flush();
  clock.advance(499);
  await flush();
  assert.equal(api.count('existence'), 1);
  clock.advance(1);
  await flush();
  assert.equal(api.count('existence'), 2);
  await reg.stop();
});

test('heartbeats every interval; 400017 re-registers service and instance under the same id', async () => {
  const { api, clock, reg } = setup({ registry: { heartbeatIntervalMs: 5000 } });
  reg.start();
  await reg.whenRegistered();
  clock.advance(5000);
  await flush();
  clock.advance(5000);
  await flush();
  assert.equal(api.count('heartbeat'), 2);
  assert.equal(reg.status().lastHeartbeatOk, clock.now());
  const changes: boolean[] = [];
  reg.onChange((s) => changes.push(s.registered));
  api.forgetEverything(); // registry restarted without data
  clock.advance(5000);
  await flush();
  assert.equal(api.count('createService'), 2);
  assert.equal(api.count('registerInstance'), 2);
  const again = api.calls.filter((c) => c.method === 'registerInstance')[1]!.args[1] as MicroServiceInstance;
  assert.equal(again.instanceId, 'inst-1');
  assert.equal(reg.status().registered, true);
  assert.deepEqual(changes, [false, true]);
  assert.ok([...api.instances.values()].some((m) => m.has('inst-1')));
  await reg.stop();
});

test('a failing heartbeat (registry unreachable) keeps the registration and tries again next interval', async () => {
  const { api, clock, reg } = setup({ registry: { heartbeatIntervalMs: 5000 } });
  reg.start();
  await reg.whenRegistered();
  api.down = true;
  clock.advance(5000);
  await flush();
  assert.equal(reg.status().registered, true);
  assert.match(reg.status().lastError ?? '', /down/);
  api.down = false;
  clock.advance(5000);
  await flush();
  assert.equal(api.count('heartbeat'), 2);
  assert.equal(reg.status().lastError, undefined);
  await reg.stop();
});

test('consumer-only: registers the microservice, no instance, and re-creates it if it disappears', async () => {
  const { api, clock, reg } = setup({ advertise: null, registry: { heartbeatIntervalMs: 5000 } });
  reg.start();
  const st = await reg.whenRegistered();
  assert.equal(st.consumerOnly, true);
  assert.equal(st.instanceId, undefined);
  assert.ok(st.serviceId);
  assert.equal(api.count('registerInstance'), 0);
  api.forgetEverything();
  clock.advance(5000);
  await flush();
  assert.equal(api.count('getService'), 1);
  assert.equal(api.count('createService'), 2);
  assert.equal(reg.status().registered, true);
  await reg.stop();
  assert.equal(api.count('deregisterInstance'), 0);
});

test('an existing service gets its properties brought in line with the config', async () => {
  const { api, reg } = setup({ service: { properties: { a: '1' } } });
  api.addService('demo', 'client', { version: '1.0.0', properties: { old: 'x' } });
  reg.start();
  const st = await reg.whenRegistered();
  assert.equal(api.count('createService'), 0);
  assert.deepEqual(api.services.get(st.serviceId!)!.properties, { a: '1' });
  await reg.stop();
});

test('stop() deregisters, cancels timers, and rejects pending whenRegistered', async () => {
  const { api, clock, reg } = setup();
  reg.start();
  await reg.whenRegistered();
  await reg.stop();
  assert.equal(api.count('deregisterInstance'), 1);
  assert.equal(reg.status().registered, false);
  assert.equal(clock.pending, 0);
  await assert.rejects(reg.whenRegistered(), /stopped/);
});

test('stop() during an in-flight instance registration still deregisters that instance id', async () => {
  const { api, clock, reg } = setup();
  const release = api.hold('registerInstance');
  reg.start();
  const waiting = reg.whenRegistered();
  await flush();
  assert.equal(api.count('registerInstance'), 1);
  const stopping = reg.stop();
  release();
  await stopping;
  await assert.rejects(waiting, /stopped/);
  const dereg = api.calls.find((c) => c.method === 'deregisterInstance');
  assert.deepEqual(dereg?.args.slice(1), ['inst-1']);
  assert.equal(clock.pending, 0);
});

test('stop() while the registry is down returns promptly and leaves no timer', async () => {
  const { api, clock, reg } = setup();
  api.down = true;
  reg.start();
  await flush();
  await reg.stop();
  assert.equal(clock.pending, 0);
});

test('setStatus: applied at once when registered, remembered for registration otherwise', async () => {
  const { api, reg } = setup();
  await reg.setStatus('DOWN');
  reg.start();
  await reg.whenRegistered();
  const inst = api.calls.find((c) => c.method === 'registerInstance')!.args[1] as MicroServiceInstance;
  assert.equal(inst.status, 'DOWN');
  await reg.setStatus('UP');
  assert.deepEqual(api.calls.at(-1)!.args.slice(2), ['UP']);
  assert.equal(reg.status().instanceStatus, 'UP');
  await reg.stop();
});

test('setStatus on a forgotten instance triggers re-registration', async () => {
  const { api, reg } = setup();
  reg.start();
  await reg.whenRegistered();
  api.failNext(
    'setInstanceStatus',
    new RegistryError('registry', 'gone', { errorCode: SC_ERROR.INSTANCE_NOT_EXISTS, status: 400 }),
  );
  await reg.setStatus('DOWN');
  await reg.whenRegistered();
  assert.equal(api.count('registerInstance'), 2);
  await reg.stop();
});

test('reportLost re-registers immediately; ignored when not registered', async () => {
  const { api, reg } = setup();
  reg.reportLost('nothing yet');
  assert.equal(api.calls.length, 0);
  reg.start();
  await reg.whenRegistered();
  reg.reportLost('consumer unknown');
  assert.equal(reg.status().registered, false);
  await reg.whenRegistered();
  assert.equal(api.count('existence'), 2);
  await reg.stop();
});
