import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeRegistryApi, flush, testSidecarConfig } from '../../../test/support/fake-registry-api.ts';
import { ManualClock } from '../../shared/clock.ts';
import { isMeshError } from '../../shared/errors.ts';
import { RegistryError } from '../registry-client/errors.ts';
import type { BatchFindItem } from '../registry-client/types.ts';
import { type ConsumerIdentity, createServiceDirectory } from './directory.ts';
import type { DiscoveryUpdate } from './types.ts';

const silent = { info() {}, warn() {}, error() {}, debug() {} } as never;

function fakeIdentity(serviceId?: string) {
  let st: { registered: boolean; serviceId?: string } = { registered: serviceId !== undefined, serviceId };
  const listeners = new Set<(s: typeof st) => void>();
  const lost: string[] = [];
  const id: ConsumerIdentity & { set(s: typeof st): void; lost: string[] } = {
    status: () => st,
    onChange(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    reportLost: (r) => lost.push(r),
    set(s) {
      st = s;
      for (const l of listeners) l(s);
    },
    lost,
  };
  return id;
}

function setup(opts: { watch?: boolean; consumer?: boolean; max?: number } = {}) {
  const api = new FakeRegistryApi();
  const clock = new ManualClock();
  const consumerId = opts.consumer === false ? undefined : api.addService('demo', 'client');
  const identity = fakeIdentity(consumerId);
  const config = testSidecarConfig({ registry: { refreshIntervalMs: 10_000, watch: opts.watch ?? false } });
  const dir = createServiceDirectory({
    api,
    clock,
    config,
    registration: identity,
    random: () => 1,
    maxTrackedServices: opts.max,
    logger: silent,
  });
  const updates: DiscoveryUpdate[] = [];
  dir.subscribe((u) => updates.push(u));
  return { api, clock, dir, identity, updates, consumerId };
}

const code = (err: unknown) => (isMeshError(err) ? err.code : String(err));

test('first lookup queries once (shared by concurrent callers), later lookups answer from the cache', async () => {
  const { api, dir, consumerId } = setup();
  const sid = api.addService('demo', 'server');
  api.addInstance(sid, { endpoints: ['rest://10.0.0.1:8080'] });
  api.addInstance(sid, { endpoints: ['rest://10.0.0.2:8080?sslEnabled=true'], status: 'DOWN' });
  const release = api.hold('findInstances');
  const all = Promise.all([dir.lookup('server'), dir.lookup('server'), dir.lookup('server', 'demo')]);
  await flush();
  release();
  const [a, b, c] = await all;
  assert.equal(api.count('findInstances'), 1);
  assert.equal(a, b);
  assert.equal(a, c);
  assert.deepEqual(
    a.endpoints.map((e) => `${e.host}:${e.port}`),
    ['10.0.0.1:8080'],
  );
  const q = api.calls.find((x) => x.method === 'findInstances')!.args[0] as { consumerId?: string };
  assert.equal(q.consumerId, consumerId, 'own serviceId is sent as X-ConsumerId');
  assert.ok(api.dependencies.get(consumerId!)?.has(sid), 'the dependency was recorded');
  assert.equal(await dir.lookup('server'), a);
  assert.equal(dir.peek('server'), a);
  assert.equal(api.count('findInstances'), 1);
  assert.deepEqual(
    dir.tracked().map((s) => s.serviceName),
    ['server'],
  );
});

test('unknown service → SERVICE_NOT_FOUND, remembered for the TTL, then asked again', async () => {
  const { api, clock, dir } = setup({ consumer: false });
  await assert.rejects(dir.lookup('nope'), (e) => code(e) === 'SERVICE_NOT_FOUND');
  await assert.rejects(dir.lookup('nope'), (e) => code(e) === 'SERVICE_NOT_FOUND');
  assert.equal(api.count('findInstances'), 1);
  clock.advance(5000);
  const sid = api.addService('demo', 'nope');
  api.addInstance(sid, { endpoints: ['rest://10.0.0.9:1'] });
  assert.equal((await dir.lookup('nope')).endpoints.length, 1);
  assert.equal(api.count('findInstances'), 2);
});

test('invalid names are SERVICE_NOT_FOUND without any registry call', async () => {
  const { api, dir } = setup();
  for (const bad of ['', 'has space', '-x', 'a/b', 'x'.repeat(300)]) {
    await assert.rejects(dir.lookup(bad), (e) => code(e) === 'SERVICE_NOT_FOUND', bad);
  }
  assert.equal(api.calls.length, 0);
});

test('registry unreachable and nothing cached → NO_ENDPOINTS; held briefly; then retried', async () => {
  const { api, clock, dir } = setup();
  api.down = true;
  await assert.rejects(dir.lookup('server'), (e) => code(e) === 'NO_ENDPOINTS');
  await assert.rejects(dir.lookup('server'), (e) => code(e) === 'NO_ENDPOINTS');
  assert.equal(api.count('findInstances'), 1, 'second lookup inside the hold did no I/O');
  api.down = false;
  api.addInstance(api.addService('demo', 'server'), { endpoints: ['rest://10.0.0.1:1'] });
  clock.advance(1000);
  assert.equal((await dir.lookup('server')).endpoints.length, 1);
});

test('periodic refresh uses one batch with rev; unchanged → not modified; changes emit an update, never synchronously', async () => {
  const { api, clock, dir, updates } = setup();
  const s1 = api.addService('demo', 's1');
  const s2 = api.addService('demo', 's2');
  api.addInstance(s1, { endpoints: ['rest://10.0.0.1:1'] });
  api.addInstance(s2, { endpoints: ['rest://10.0.0.2:1'] });
  dir.start();
  await dir.lookup('s1');
  await dir.lookup('s2');
  await flush();
  assert.equal(updates.length, 2);
  clock.advance(10_000);
  await flush();
  assert.equal(api.count('batchFind'), 1);
  const items = api.calls.find((c) => c.method === 'batchFind')!.args[0] as BatchFindItem[];
  assert.equal(items.length, 2);
  assert.ok(
    items.every((i) => typeof i.rev === 'string' && i.rev !== ''),
    'revs sent',
  );
  assert.equal(updates.length, 2, 'nothing changed, nothing emitted');

  api.addInstance(s2, { endpoints: ['rest://10.0.0.3:1'] });
  let syncSeen = false;
  dir.subscribe(() => {
    syncSeen = true;
  });
  clock.advance(10_000);
  assert.equal(syncSeen, false);
  await flush();
  assert.equal(updates.length, 3);
  const u = updates[2]!;
  assert.equal(u.kind, 'reset');
  assert.equal(u.kind === 'reset' && u.snapshot.serviceName, 's2');
  assert.equal(u.kind === 'reset' && u.snapshot.endpoints.length, 2);
  assert.equal(dir.peek('s2')!.endpoints.length, 2);
  dir.close();
  assert.equal(clock.pending, 0);
});

test('registry down after start: the cache keeps serving and nothing is emitted', async () => {
  const { api, clock, dir, updates } = setup();
  api.addInstance(api.addService('demo', 'server'), { endpoints: ['rest://10.0.0.1:1'] });
  dir.start();
  const snap = await dir.lookup('server');
  api.down = true;
  clock.advance(30_000);
  await flush();
  assert.ok(api.count('batchFind') >= 1);
  assert.equal(await dir.lookup('server'), snap);
  assert.equal(dir.peek('server'), snap);
  await flush();
  assert.equal(updates.length, 1);
  const h = dir.health();
  assert.match(h.lastError ?? '', /down/);
  assert.equal(h.trackedServices, 1);
  assert.ok((h.lastOkAt ?? 0) < clock.now());
  dir.close();
});

test('a service the registry forgets is served for the grace period, then doesNotExist + SERVICE_NOT_FOUND', async () => {
  const { api, clock, dir, updates } = setup();
  const sid = api.addService('demo', 'server');
  api.addInstance(sid, { endpoints: ['rest://10.0.0.1:1'] });
  dir.start();
  const snap = await dir.lookup('server');
  api.services.delete(sid);
  for (let t = 0; t < 60_000; t += 10_000) {
    clock.advance(10_000);
    await flush();
    assert.equal(await dir.lookup('server'), snap, `still served at +${t + 10_000} ms`);
  }
  assert.equal(updates.length, 1);
  clock.advance(10_000);
  await flush();
  assert.deepEqual(updates.at(-1), { kind: 'doesNotExist', serviceName: 'server', app: 'demo' });
  await assert.rejects(dir.lookup('server'), (e) => code(e) === 'SERVICE_NOT_FOUND');
  dir.close();
});

test('a service that comes back within the grace period is never dropped', async () => {
  const { api, clock, dir, updates } = setup();
  const sid = api.addService('demo', 'server');
  api.addInstance(sid, { endpoints: ['rest://10.0.0.1:1'], instanceId: 'i1' });
  dir.start();
  await dir.lookup('server');
  api.forgetEverything(); // the registry restarted empty
  clock.advance(30_000);
  await flush();
  api.addInstance(api.addService('demo', 'server'), { endpoints: ['rest://10.0.0.1:1'], instanceId: 'i1' });
  clock.advance(40_000);
  await flush();
  assert.equal(dir.peek('server')!.endpoints.length, 1);
  assert.ok(updates.every((u) => u.kind === 'reset'));
  dir.close();
});

test('watch: events patch the cache without waiting for the refresh', async () => {
  const { api, dir, updates } = setup({ watch: true });
  const sid = api.addService('demo', 'server');
  const i1 = api.addInstance(sid, { endpoints: ['rest://10.0.0.1:1'] });
  dir.start();
  await flush();
  assert.equal(api.openWatchers().length, 1);
  assert.equal(dir.watching, true);
  await dir.lookup('server');
  api.addInstance(sid, { endpoints: ['rest://10.0.0.2:1'] });
  await flush();
  assert.equal(dir.peek('server')!.endpoints.length, 2);
  api.removeInstance(sid, i1);
  await flush();
  assert.deepEqual(
    dir.peek('server')!.endpoints.map((e) => e.host),
    ['10.0.0.2'],
  );
  assert.equal(
    api.count('batchFind'),
    0,
    'no refresh: the watch did it (nothing was tracked when it opened)',
  );
  assert.equal(api.count('findInstances'), 1);
  assert.equal(updates.length, 3);
  dir.close();
  assert.equal(api.openWatchers().length, 0);
});

test('watch: reconnects with backoff after the socket drops, then does a full refresh', async () => {
  const { api, clock, dir } = setup({ watch: true });
  const sid = api.addService('demo', 'server');
  api.addInstance(sid, { endpoints: ['rest://10.0.0.1:1'] });
  dir.start();
  await flush();
  await dir.lookup('server');
  const batches = api.count('batchFind');
  api.down = true;
  api.dropWatchers();
  await flush();
  assert.equal(dir.watching, false);
  // Changes while disconnected are missed by the watch...
  api.down = false;
  api.addInstance(sid, { endpoints: ['rest://10.0.0.2:1'] });
  api.down = true;
  clock.advance(1000); // first retry (random = 1 → full 1 s) fails: registry still down
  await flush();
  assert.equal(api.count('watch'), 2);
  api.down = false;
  clock.advance(1999);
  await flush();
  assert.equal(api.count('watch'), 2, 'second retry waits 2 s');
  clock.advance(1);
  await flush();
  assert.equal(api.count('watch'), 3);
  assert.equal(dir.watching, true);
  // ...and recovered by the full refresh on reconnect.
  assert.ok(api.count('batchFind') > batches);
  const last = api.calls.filter((c) => c.method === 'batchFind').at(-1)!.args[0] as BatchFindItem[];
  assert.equal(last[0]!.rev, undefined, 'full refresh: no rev');
  assert.equal(dir.peek('server')!.endpoints.length, 2);
  dir.close();
  assert.equal(clock.pending, 0);
});

test('watch starts only once registered, and registration makes the refresh record dependencies', async () => {
  const api = new FakeRegistryApi();
  const clock = new ManualClock();
  const identity = fakeIdentity(undefined);
  const dir = createServiceDirectory({
    api,
    clock,
    config: testSidecarConfig({ registry: { watch: true } }),
    registration: identity,
    logger: silent,
  });
  const sid = api.addService('demo', 'server');
  api.addInstance(sid, { endpoints: ['rest://10.0.0.1:1'] });
  dir.start();
  await dir.lookup('server'); // anonymous: not registered yet
  assert.equal(api.count('watch'), 0);
  const me = api.addService('demo', 'client');
  identity.set({ registered: true, serviceId: me });
  await flush();
  assert.equal(api.count('watch'), 1);
  assert.ok(api.dependencies.get(me)?.has(sid), 'dependency recorded by the refresh after registration');
  api.addInstance(sid, { endpoints: ['rest://10.0.0.2:1'] });
  await flush();
  assert.equal(dir.peek('server')!.endpoints.length, 2);
  dir.close();
});

test('a registry that forgot our consumer id: lookups still work and registration is told', async () => {
  const { api, dir, identity, consumerId } = setup();
  api.addInstance(api.addService('demo', 'server'), { endpoints: ['rest://10.0.0.1:1'] });
  api.services.delete(consumerId!);
  const snap = await dir.lookup('server');
  assert.equal(snap.endpoints.length, 1);
  assert.equal(identity.lost.length, 1);
});

test('cross-app: visible only when the provider allows it', async () => {
  const { api, dir } = setup();
  const open = api.addService('other', 'open', { properties: { allowCrossApp: 'true' } });
  const closed = api.addService('other', 'closed');
  api.addInstance(open, { endpoints: ['rest://10.0.1.1:1'] });
  api.addInstance(closed, { endpoints: ['rest://10.0.1.2:1'] });
  const a = await dir.lookup('open', 'other');
  assert.equal(a.endpoints.length, 1);
  assert.equal(a.app, 'other');
  assert.equal(a.endpoints[0]!.app, 'other');
  assert.equal((await dir.lookup('closed', 'other')).endpoints.length, 0);
  await assert.rejects(dir.lookup('open'), (e) => code(e) === 'SERVICE_NOT_FOUND', 'own app by default');
});

test('the number of tracked services is bounded (least recently used evicted)', async () => {
  const { api, dir } = setup({ max: 2 });
  for (const n of ['a', 'b', 'c'])
    api.addInstance(api.addService('demo', n), { endpoints: ['rest://1.1.1.1:1'] });
  await dir.lookup('a');
  await dir.lookup('b');
  await dir.lookup('a'); // a is now more recent than b
  await dir.lookup('c');
  assert.deepEqual(
    dir
      .tracked()
      .map((s) => s.serviceName)
      .sort(),
    ['a', 'c'],
  );
  assert.equal(dir.peek('b'), undefined);
});

test('a registry without the batch query: refresh falls back to one find per service', async () => {
  const { api, clock, dir } = setup();
  api.addInstance(api.addService('demo', 'server'), { endpoints: ['rest://10.0.0.1:1'] });
  dir.start();
  await dir.lookup('server');
  api.failNext('batchFind', new RegistryError('registry', 'HTTP 404', { status: 404 }));
  clock.advance(10_000);
  await flush();
  assert.equal(api.count('findInstances'), 2);
  clock.advance(10_000);
  await flush();
  assert.equal(api.count('batchFind'), 1, 'not tried again');
  assert.equal(api.count('findInstances'), 3);
  const last = api.calls.at(-1)!.args[0] as { rev?: string };
  assert.ok(last.rev, 'the fallback still sends rev');
  dir.close();
});
