/**
 * The sidecar's config-center source against a real config center on loopback: initial pull,
 * long-poll updates within 1 s, precedence by labels, deletion, pull mode on a ManualClock, and
 * keeping the last overrides while the server is down.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ConfigCenterClient } from '../../api-client/config-center.ts';
import { type ConfigCenterServer, serveConfigCenter } from '../../registry/config-center/index.ts';
import { EmbeddedStore } from '../../registry/storage/embedded-store.ts';
import { ManualClock, systemClock } from '../../shared/clock.ts';
import { createConfigCenterSource, type OverridesUpdate } from './index.ts';

let store: EmbeddedStore;
let cc: ConfigCenterServer;

before(async () => {
  store = await EmbeddedStore.open({ dataDir: null, clock: systemClock });
  cc = await serveConfigCenter({ store, clock: systemClock });
});
after(async () => {
  await cc.close();
  await store.close();
});

function sidecarConfig(project: string, flat: Record<string, unknown> = {}, url = cc.url) {
  return {
    flat: {
      'servicecomb.config.client.serverUri': url,
      'servicecomb.config.client.project': project,
      ...flat,
    },
    registry: {
      addresses: ['http://127.0.0.1:1'],
      watch: false,
      refreshIntervalMs: 30_000,
      heartbeatIntervalMs: 30_000,
      project: 'default',
      domain: 'default',
    },
    service: {
      name: 'cart',
      app: 'shop',
      version: '1.0.0',
      environment: '',
      properties: {},
      instanceProperties: {},
      hostname: 'h',
    },
  };
}

/**
 * Collects updates; `next()` resolves with the next one, or rejects after `timeoutMs` (an update
 * that never comes fails the test with a message instead of hanging the file).
 */
function collector() {
  const seen: OverridesUpdate[] = [];
  let waiting: ((u: OverridesUpdate) => void) | undefined;
  return {
    seen,
    onChange(u: OverridesUpdate) {
      seen.push(u);
      waiting?.(u);
      waiting = undefined;
    },
    next(timeoutMs = 10_000): Promise<OverridesUpdate> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting = undefined;
          reject(new Error(`no overrides update within ${timeoutMs} ms (seen ${seen.length})`));
        }, timeoutMs);
        waiting = (u) => {
          clearTimeout(timer);
          resolve(u);
        };
      });
    },
  };
}

/** Poll (real time, bounded) until the config center holds a long poll. */
async function waitForWaiter(timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (cc.configCenter.pendingWaiters === 0) {
    if (Date.now() > deadline) throw new Error(`no long poll held within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('watch mode: initial overrides, then every change within 1 s; specific labels win; delete restores', async (t) => {
  const kie = new ConfigCenterClient({ baseUrl: cc.url, project: 'watch' });
  const K = 'cse.loadbalance.strategy.name';
  await kie.create({ key: K, value: 'RoundRobin', labels: { app: 'shop' } });
  await kie.create({ key: K, value: 'Random', labels: { app: 'bank' } });
  const c = collector();
  const errors: unknown[] = [];
  const source = createConfigCenterSource({
    config: sidecarConfig('watch'),
    clock: systemClock,
    onChange: c.onChange,
    onError: (e) => errors.push(e),
  });
  try {
    await source.start();
    assert.deepEqual(c.seen[0]?.overrides, { [K]: 'RoundRobin' });
    assert.deepEqual(source.current(), { [K]: 'RoundRobin' });

    const waitFor = c.next();
    await waitForWaiter();
    const t0 = performance.now();
    const specific = await kie.create({
      key: K,
      value: 'WeightedResponse',
      labels: { app: 'shop', service: 'cart' },
    });
    const u = await waitFor;
    const ms = performance.now() - t0;
    t.diagnostic(`KV write to onChange: ${ms.toFixed(1)} ms (HTTP create round trip included)`);
    // Delivered by the held long poll, not by a later pull (30 s): generous for a loaded CI machine.
    assert.ok(ms < 10_000, `applied after ${ms} ms`);
    assert.deepEqual(u.overrides, { [K]: 'WeightedResponse' });

    // A change for another app wakes nobody here and changes nothing.
    await kie.create({ key: 'other', value: 'x', labels: { app: 'bank' } });
    const afterDelete = c.next();
    await kie.delete(specific.id);
    assert.deepEqual((await afterDelete).overrides, { [K]: 'RoundRobin' });
    const routeRule = c.next();
    await kie.create({
      key: 'servicecomb.routeRule.server2',
      value: '- route: [{tags: {version: 2.0.0}}]',
      labels: {},
    });
    assert.equal(
      (await routeRule).overrides['servicecomb.routeRule.server2'],
      '- route: [{tags: {version: 2.0.0}}]',
    );
    assert.equal(c.seen.length, 4, JSON.stringify(c.seen));
    assert.deepEqual(errors, []);
  } finally {
    source.stop();
  }
  // stop() released the held poll.
  for (let i = 0; i < 100 && cc.configCenter.pendingWaiters > 0; i++)
    await new Promise((r) => setTimeout(r, 10));
  assert.equal(cc.configCenter.pendingWaiters, 0);
});

test('pull mode: one conditional list per refreshInterval on the injected clock', async () => {
  const kie = new ConfigCenterClient({ baseUrl: cc.url, project: 'pull' });
  await kie.create({ key: 'servicecomb.retry.server2.maxAttempts', value: '2', labels: {} });
  const clock = new ManualClock();
  const c = collector();
  const source = createConfigCenterSource({
    config: sidecarConfig('pull', {
      'servicecomb.config.client.refreshMode': 1,
      'servicecomb.config.client.refreshInterval': 10,
    }),
    clock,
    onChange: c.onChange,
  });
  try {
    await source.start();
    assert.equal(c.seen.length, 1);
    await kie.create({ key: 'servicecomb.timeout.server2', value: '3s', labels: { service: 'cart' } });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(c.seen.length, 1, 'nothing before the interval');
    const next = c.next();
    clock.advance(10_000);
    assert.deepEqual((await next).overrides, {
      'servicecomb.retry.server2.maxAttempts': '2',
      'servicecomb.timeout.server2': '3s',
    });
  } finally {
    source.stop();
  }
});

test('server down: onError, last overrides kept, backoff on the clock, then recovery', async () => {
  const clock = new ManualClock();
  const store2 = await EmbeddedStore.open({ dataDir: null, clock: systemClock });
  let cc2 = await serveConfigCenter({ store: store2, clock: systemClock });
  const url = cc2.url;
  const port = Number(new URL(url).port);
  const kie = new ConfigCenterClient({ baseUrl: url });
  await kie.create({ key: 'servicecomb.timeout.server2', value: '1s', labels: {} });
  const c = collector();
  const errors: unknown[] = [];
  let errorSeen: (() => void) | undefined;
  const source = createConfigCenterSource({
    config: { ...sidecarConfig('default', {}, url) },
    clock,
    onChange: c.onChange,
    onError: (e) => {
      errors.push(e);
      errorSeen?.();
    },
  });
  try {
    await source.start();
    assert.equal(c.seen.length, 1);
    const failed = new Promise<void>((r) => {
      errorSeen = r;
    });
    await cc2.close();
    await failed;
    assert.ok(errors.length >= 1);
    assert.deepEqual(source.current(), { 'servicecomb.timeout.server2': '1s' });
    cc2 = await serveConfigCenter({ store: store2, clock: systemClock, port });
    await kie.create({ key: 'servicecomb.retry.server2.maxAttempts', value: '3', labels: {} });
    const next = c.next();
    clock.advance(1000); // first backoff step
    assert.deepEqual((await next).overrides, {
      'servicecomb.retry.server2.maxAttempts': '3',
      'servicecomb.timeout.server2': '1s',
    });
  } finally {
    source.stop();
    await cc2.close();
    await store2.close();
  }
});

test('a dead first address: the next one is asked at once, with no backoff in between', async () => {
  const clock = new ManualClock(); // never advanced: any backoff would stall the test
  const project = 'rotate';
  await new ConfigCenterClient({ baseUrl: cc.url, project }).create({
    key: 'servicecomb.timeout.server9',
    value: '2s',
    labels: {},
  });
  const c = collector();
  const errors: unknown[] = [];
  const source = createConfigCenterSource({
    config: sidecarConfig(project, {}, `http://127.0.0.1:1,${cc.url}`),
    clock,
    onChange: c.onChange,
    onError: (e) => errors.push(e),
  });
  try {
    await source.start();
    const deadline = Date.now() + 10_000;
    while (c.seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(errors.length, 1, 'the dead address failed once');
    assert.deepEqual(c.seen[0]?.overrides, { 'servicecomb.timeout.server9': '2s' });
  } finally {
    source.stop();
  }
});

test('disabled client does nothing; bad settings throw with every issue', async () => {
  const source = createConfigCenterSource({
    config: sidecarConfig('x', { 'servicecomb.config.client.enabled': false }),
    clock: systemClock,
    onChange: () => assert.fail('no change expected'),
  });
  assert.equal(source.settings, null);
  await source.start();
  source.stop();
  assert.throws(
    () =>
      createConfigCenterSource({
        config: sidecarConfig('x', { 'servicecomb.config.client.refreshMode': 'fast' }),
        clock: systemClock,
        onChange: () => undefined,
      }),
    /refreshMode: must be 0 \(watch\) or 1 \(pull\)/,
  );
});
