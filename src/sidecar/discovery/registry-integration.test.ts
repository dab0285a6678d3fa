/**
 * Registration + discovery against the real registry (src/registry/main.ts, in memory, port 0),
 * over real sockets. The sidecar side runs its timers on a ManualClock (heartbeats, refresh,
 * backoff are moved explicitly); registry I/O and watch events are real and awaited by polling.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, test } from 'node:test';
import { testSidecarConfig } from '../../../test/support/fake-registry-api.ts';
import { type RegistryServer, startRegistry } from '../../registry/main.ts';
import { ManualClock } from '../../shared/clock.ts';
import { isMeshError } from '../../shared/errors.ts';
import { createRegistration, type Registration } from '../registration/registration.ts';
import { createRegistryClient } from '../registry-client/client.ts';
import type { RegistryApi } from '../registry-client/types.ts';
import { createServiceDirectory, type ManagedServiceDirectory } from './directory.ts';

const silent = { info() {}, warn() {}, error() {}, debug() {} } as never;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function registry(port = 0): Promise<RegistryServer> {
  const r = await startRegistry({ port, dataDir: null, logger: silent });
  cleanups.push(() => r.close());
  return r;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function waitFor(
  what: string,
  cond: () => boolean,
  tick?: () => void,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    tick?.();
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Sidecar {
  api: RegistryApi & { currentAddress(): string };
  reg: Registration;
  dir: ManagedServiceDirectory;
  clock: ManualClock;
}

function sidecar(
  addresses: string[],
  name: string,
  opts: { advertisePort?: number; watch?: boolean; properties?: Record<string, string> } = {},
): Sidecar {
  const clock = new ManualClock();
  const config = testSidecarConfig({
    service: { name, app: 'itest', properties: opts.properties ?? {} },
    advertise: opts.advertisePort ? { host: '127.0.0.1', port: opts.advertisePort } : null,
    registry: {
      addresses,
      watch: opts.watch ?? false,
      heartbeatIntervalMs: 10_000,
      refreshIntervalMs: 10_000,
    },
  });
  const api = createRegistryClient(config.registry, { timeoutMs: 1000 });
  const reg = createRegistration({ api, config, clock, logger: silent, random: () => 0.5 });
  // The manual clocks run ~100× faster than real time in waitFor(): give "not found" a grace that
  // real-time registry work cannot outlast.
  const dir = createServiceDirectory({
    api,
    config,
    clock,
    registration: reg,
    logger: silent,
    notFoundGraceMs: 3_600_000,
  });
  const s = { api, reg, dir, clock };
  cleanups.push(async () => {
    dir.close();
    await reg.stop();
    await api.close();
  });
  return s;
}

test('a provider registers, a consumer discovers it; what was registered is what the config says', async () => {
  const r = await registry();
  const provider = sidecar([r.url], 'int-server', { advertisePort: 41001, properties: { team: 'a' } });
  const consumer = sidecar([r.url], 'int-client');
  provider.reg.start();
  consumer.reg.start();
  const ps = await provider.reg.whenRegistered();
  const cs = await consumer.reg.whenRegistered();
  assert.equal(cs.consumerOnly, true);
  consumer.dir.start();
  const snap = await consumer.dir.lookup('int-server');
  assert.deepEqual(
    snap.endpoints.map((e) => [e.host, e.port, e.instanceId, e.serviceId, e.app]),
    [['127.0.0.1', 41001, ps.instanceId, ps.serviceId, 'itest']],
  );
  const svc = await consumer.api.getService(ps.serviceId!);
  assert.equal(svc?.registerBy, 'SIDECAR');
  assert.equal(svc?.alias, 'itest:int-server');
  assert.equal(svc?.framework?.name, 'mesher');
  assert.deepEqual(svc?.properties, { team: 'a' });
  await assert.rejects(
    consumer.dir.lookup('int-nothing'),
    (e) => isMeshError(e) && e.code === 'SERVICE_NOT_FOUND',
  );
  // Heartbeats on the manual clock reach the real registry.
  provider.clock.advance(10_000);
  await waitFor('heartbeat', () => (provider.reg.status().lastHeartbeatOk ?? 0) === provider.clock.now());
  assert.equal(provider.reg.status().lastError, undefined);
});

test('watch: instances appearing and disappearing are seen without waiting for the refresh', async () => {
  const r = await registry();
  const p1 = sidecar([r.url], 'watched', { advertisePort: 41011 });
  const consumer = sidecar([r.url], 'watcher', { watch: true });
  p1.reg.start();
  consumer.reg.start();
  consumer.dir.start();
  await p1.reg.whenRegistered();
  await consumer.reg.whenRegistered();
  assert.equal((await consumer.dir.lookup('watched')).endpoints.length, 1);
  await waitFor('watch open', () => consumer.dir.watching);
  const p2 = sidecar([r.url], 'watched', { advertisePort: 41012 });
  p2.reg.start();
  await p2.reg.whenRegistered();
  await waitFor('CREATE event', () => consumer.dir.peek('watched')?.endpoints.length === 2);
  await p1.reg.stop();
  await waitFor('DELETE event', () => consumer.dir.peek('watched')?.endpoints.length === 1);
  assert.equal(consumer.dir.peek('watched')!.endpoints[0]!.port, 41012);
  assert.equal(consumer.clock.pending > 0, true, 'the refresh timer never fired: the watch did it');
});

test('registry killed after start: the cache keeps serving', async () => {
  const r = await registry();
  const p = sidecar([r.url], 'survivor', { advertisePort: 41021 });
  const c = sidecar([r.url], 'survivor-client', { watch: true });
  p.reg.start();
  c.reg.start();
  c.dir.start();
  await p.reg.whenRegistered();
  await c.reg.whenRegistered();
  const snap = await c.dir.lookup('survivor');
  await r.close();
  await waitFor('watch closed', () => !c.dir.watching);
  c.clock.advance(10_000); // a refresh against the dead registry
  await c.dir.refresh();
  assert.equal(await c.dir.lookup('survivor'), snap);
  assert.equal(snap.endpoints.length, 1);
  p.clock.advance(10_000); // a heartbeat against the dead registry
  await waitFor('heartbeat failure', () => p.reg.status().lastError !== undefined);
  assert.equal(p.reg.status().registered, true);
});

test('registry down at start: start() returns at once; registration completes once it appears', async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const p = sidecar([url], 'late', { advertisePort: 41031 });
  const c = sidecar([url], 'late-client');
  const t0 = Date.now();
  p.reg.start();
  c.reg.start();
  c.dir.start();
  // Returned before its first attempt could fail (that needs a round trip to the dead port); the
  // time bound is generous: a busy CI machine took over 50 ms for three synchronous start() calls.
  assert.equal(p.reg.status().lastError, undefined, 'start() did not wait for a registry call');
  assert.ok(Date.now() - t0 < 1000, `start() did not block (${Date.now() - t0} ms)`);
  await waitFor('first failure', () => p.reg.status().lastError !== undefined);
  await assert.rejects(c.dir.lookup('late'), (e) => isMeshError(e) && e.code === 'NO_ENDPOINTS');
  await registry(port);
  const tick = () => {
    p.clock.advance(1000);
    c.clock.advance(1000);
  };
  await waitFor('registered', () => p.reg.status().registered && c.reg.status().registered, tick);
  const snap = await c.dir.lookup('late');
  assert.equal(snap.endpoints[0]!.port, 41031);
});

test('failover: the first address is dead, the second serves registration and discovery', async () => {
  const dead = `http://127.0.0.1:${await freePort()}`;
  const r = await registry();
  const p = sidecar([dead, r.url], 'fo-server', { advertisePort: 41041 });
  const c = sidecar([dead, r.url], 'fo-client', { watch: true });
  p.reg.start();
  c.reg.start();
  c.dir.start();
  await p.reg.whenRegistered();
  await c.reg.whenRegistered();
  assert.equal(p.api.currentAddress(), r.url);
  assert.equal((await c.dir.lookup('fo-server')).endpoints.length, 1);
  await waitFor('watch open on the live address', () => c.dir.watching);
});

test('the registry restarts empty: the provider re-registers under the same instance id', async () => {
  const port = await freePort();
  let r = await startRegistry({ port, dataDir: null, logger: silent });
  const p = sidecar([r.url], 'phoenix', { advertisePort: 41051 });
  p.reg.start();
  const first = await p.reg.whenRegistered();
  await r.close();
  r = await registry(port);
  p.clock.advance(10_000); // heartbeat → 400017 → re-register
  await waitFor(
    're-registered',
    () => p.reg.status().registered && p.reg.status().lastHeartbeatOk === p.clock.now(),
  );
  const c = sidecar([r.url], 'phoenix-client');
  const snap = await c.dir.lookup('phoenix');
  assert.deepEqual(
    snap.endpoints.map((e) => e.instanceId),
    [first.instanceId],
  );
});

test('the registry restarts empty: the consumer re-registers, re-subscribes, and watch events flow again', async () => {
  const port = await freePort();
  let r = await startRegistry({ port, dataDir: null, logger: silent });
  const p = sidecar([r.url], 'reborn', { advertisePort: 41061 });
  const c = sidecar([r.url], 'reborn-client', { watch: true });
  p.reg.start();
  c.reg.start();
  c.dir.start();
  await p.reg.whenRegistered();
  await c.reg.whenRegistered();
  assert.equal((await c.dir.lookup('reborn')).endpoints.length, 1);
  await waitFor('watch open', () => c.dir.watching);
  await r.close();
  r = await registry(port);
  const tick = () => {
    p.clock.advance(1000);
    c.clock.advance(1000);
  };
  // Heartbeats (provider) and the consumer's existence check find the registry empty and
  // re-register; the consumer keeps serving its snapshot meanwhile, and its refreshes (the one on
  // watch reconnect, or the periodic one) record the dependency in the new registry again.
  let dependsAgain = false;
  const providersOf = async (sid: string) => {
    const res = await fetch(`${r.url}/v4/default/registry/microservices/${sid}/providers`);
    const body = (await res.json()) as { providers?: Array<{ serviceName: string }> };
    dependsAgain = (body.providers ?? []).some((x) => x.serviceName === 'reborn');
  };
  await waitFor(
    'both re-registered, watching, dependency recorded again',
    () => {
      const cs = c.reg.status();
      if (cs.registered && cs.serviceId) void providersOf(cs.serviceId).catch(() => undefined);
      return p.reg.status().registered && cs.registered && c.dir.watching && dependsAgain;
    },
    tick,
    10_000,
  );
  assert.equal(c.dir.peek('reborn')?.endpoints.length, 1, 'served throughout');
  const p2 = sidecar([r.url], 'reborn', { advertisePort: 41062 });
  p2.reg.start();
  await p2.reg.whenRegistered();
  await waitFor('CREATE after the restart', () => c.dir.peek('reborn')?.endpoints.length === 2);
});
