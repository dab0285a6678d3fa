// Self-preservation on a ManualClock: a catalog over the in-memory embedded store, instances under
// real leases. Mass expiry is held back (and visible), explicit deregistrations and small expiries
// are not, re-registration ends a hold, holds are bounded.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { ManualClock } from '../shared/clock.ts';
import type { Logger } from '../shared/log.ts';
import { Catalog } from './catalog.ts';
import { keys } from './keys.ts';
import { deregisterMarkerKey, SelfPreservation } from './self-preservation.ts';
import { EmbeddedStore } from './storage/embedded-store.ts';

const T = 'default/default';
const SID = 'svc1';
const TTL_S = 10;

interface Rig {
  clock: ManualClock;
  store: EmbeddedStore;
  catalog: Catalog;
  lines: Array<{ level: string; msg: string }>;
  leases: Map<string, number>;
}
const open: Rig[] = [];
afterEach(async () => {
  for (const r of open.splice(0)) {
    r.catalog.close();
    await r.store.close();
  }
});

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function fakeLogger(lines: Rig['lines']): Logger {
  const at = (level: string) => (_obj: unknown, msg?: string) => lines.push({ level, msg: msg ?? '' });
  return { warn: at('warn'), info: at('info'), error: at('error'), debug: at('debug') } as unknown as Logger;
}

async function rig(instances: number, enabled = true): Promise<Rig> {
  const clock = new ManualClock();
  const store = await EmbeddedStore.open({ dataDir: null, clock, sweepIntervalMs: 500 });
  const lines: Rig['lines'] = [];
  const catalog = new Catalog(store, {
    clock,
    logger: fakeLogger(lines),
    selfPreservation: { enabled },
  });
  const r: Rig = { clock, store, catalog, lines, leases: new Map() };
  open.push(r);
  await store.txn({
    success: [{ type: 'put', key: keys.service(T, SID), value: JSON.stringify({ serviceId: SID }) }],
  });
  for (let i = 0; i < instances; i++) await register(r, `i${i}`);
  await settle();
  return r;
}

async function register(r: Rig, iid: string): Promise<void> {
  const lease = await r.store.grantLease(TTL_S * 1000);
  const value = JSON.stringify({ instanceId: iid, healthCheck: { mode: 'push', interval: 2, times: 4 } });
  await r.store.txn({ success: [{ type: 'put', key: keys.instance(T, SID, iid), value, lease }] });
  r.leases.set(iid, lease);
}

/** Deregister the way ops/instances.ts does: marker + delete in one txn, then revoke. */
async function deregister(r: Rig, iid: string): Promise<void> {
  const key = keys.instance(T, SID, iid);
  const lease = r.leases.get(iid)!;
  await r.store.txn({
    success: [
      { type: 'put', key: deregisterMarkerKey(key), value: '1', lease },
      { type: 'delete', key },
    ],
  });
  await r.store.revokeLease(lease);
}

const count = (r: Rig) => r.catalog.instancesOf(T, SID)?.size ?? 0;
const advance = async (r: Rig, ms: number) => {
  for (let t = 0; t < ms; t += 250) {
    r.clock.advance(Math.min(250, ms - t));
    await settle();
  }
};

test('mass expiry is held back, visible, logged, and released after 2 × TTL', async () => {
  const r = await rig(10);
  const events: string[] = [];
  r.catalog.onInstanceChange((c) => events.push(c.action));
  // i0 keeps heartbeating; the other 9 (90%) miss their leases together.
  const keeper = r.clock.setInterval(() => r.store.keepAlive(r.leases.get('i0')!), 1000);
  await advance(r, TTL_S * 1000 + 1000);
  assert.equal(r.store.range(keys.instances(T, SID)).length, 1, 'the store did expire them');
  await advance(r, 2500);
  assert.equal(count(r), 10, 'discovery still serves every instance');
  const s = r.catalog.selfPreservation();
  assert.equal(s.active, true);
  assert.equal(s.held, 9);
  assert.equal(s.activations, 1);
  assert.deepEqual(events, [], 'watchers are not told about held deletes');
  assert.ok(r.lines.some((l) => l.level === 'warn' && /self-preservation ON/.test(l.msg)));

  // The TTL is 2 × (4 + 1) = 10 s, so each hold lasts 20 s: still held at +15 s.
  await advance(r, 15_000);
  assert.equal(count(r), 10);
  await advance(r, 6000);
  assert.equal(count(r), 1, 'holds are bounded');
  assert.equal(r.catalog.selfPreservation().active, false);
  assert.equal(events.filter((e) => e === 'DELETE').length, 9);
  assert.ok(r.lines.some((l) => l.level === 'info' && /self-preservation OFF/.test(l.msg)));
  keeper.cancel();
});

test('re-registration ends a hold; the last one back turns protection off', async () => {
  const r = await rig(6);
  await advance(r, TTL_S * 1000 + 3500);
  assert.equal(r.catalog.selfPreservation().held, 6);
  for (let i = 0; i < 6; i++) await register(r, `i${i}`);
  await settle();
  const s = r.catalog.selfPreservation();
  assert.equal(s.held, 0);
  assert.equal(s.active, false);
  assert.equal(count(r), 6);
  await advance(r, 30_000);
  // They were re-registered with fresh leases but no heartbeats: they expire again (all 6), and
  // protection turns on again rather than dropping them.
  assert.equal(r.catalog.selfPreservation().activations, 2);
});

test('explicit deregistrations are applied at once, even while protection is on', async () => {
  const r = await rig(8);
  const deletes: string[] = [];
  r.catalog.onInstanceChange((c) => {
    if (c.action === 'DELETE')
      deletes.push((JSON.parse(c.instanceJson) as { instanceId: string }).instanceId);
  });
  await deregister(r, 'i7');
  await settle();
  assert.equal(count(r), 7);
  assert.deepEqual(deletes, ['i7']);
  await advance(r, TTL_S * 1000 + 3500);
  assert.equal(r.catalog.selfPreservation().active, true);
  await register(r, 'i6');
  await deregister(r, 'i6');
  await settle();
  assert.equal(count(r), 6, 'i6 deleted explicitly despite the hold');
  assert.deepEqual(deletes, ['i7', 'i6']);
  // Deregistering a held instance (its key is already gone from the store): a bare marker.
  const marker = deregisterMarkerKey(keys.instance(T, SID, 'i0'));
  await r.store.txn({ success: [{ type: 'put', key: marker, value: '' }] });
  await r.store.txn({ success: [{ type: 'delete', key: marker }] });
  await settle();
  assert.equal(count(r), 5);
  assert.deepEqual(deletes, ['i7', 'i6', 'i0']);
  assert.equal(r.catalog.selfPreservation().held, 5);
});

test('a few expiries (under the threshold) are applied once their window closes', async () => {
  const r = await rig(10);
  const keepers = [...r.leases.entries()]
    .filter(([iid]) => iid !== 'i9' && iid !== 'i8')
    .map(([, lease]) => r.clock.setInterval(() => r.store.keepAlive(lease), 1000));
  await advance(r, TTL_S * 1000 + 600);
  assert.equal(r.catalog.selfPreservation().pending, 2);
  await advance(r, 2500);
  assert.equal(count(r), 8);
  assert.equal(r.catalog.selfPreservation().activations, 0);
  for (const k of keepers) k.cancel();
});

test('small catalogs (≤ minInstances) and disabled gates never hold', async () => {
  const small = await rig(5);
  await advance(small, TTL_S * 1000 + 3500);
  assert.equal(count(small), 0);
  assert.equal(small.catalog.selfPreservation().activations, 0);
  const off = await rig(10, false);
  await advance(off, TTL_S * 1000 + 600);
  assert.equal(count(off), 0, 'disabled: deletes apply without waiting for a window');
  assert.equal(off.catalog.selfPreservation().enabled, false);
});

test('deletes of a deleted service are not counted as expiry', async () => {
  const r = await rig(10);
  for (const lease of r.leases.values()) await r.store.revokeLease(lease);
  await r.store.txn({ success: [{ type: 'delete', key: keys.service(T, SID) }] });
  await advance(r, 2500);
  assert.equal(count(r), 0);
  assert.equal(r.catalog.selfPreservation().activations, 0);
});

test('options are checked when the gate is built', () => {
  const deps = {
    clock: new ManualClock(),
    log: fakeLogger([]),
    total: () => 0,
    apply: () => {},
    serviceExists: () => true,
  };
  const base = { enabled: true, windowMs: 1, threshold: 0.8, minInstances: 5, maxHoldMs: 1 };
  assert.throws(() => new SelfPreservation({ ...base, threshold: 0 }, deps), /threshold/);
  assert.throws(() => new SelfPreservation({ ...base, threshold: 1.5 }, deps), /threshold/);
  assert.throws(() => new SelfPreservation({ ...base, windowMs: 0 }, deps), /windowMs/);
  assert.throws(() => new SelfPreservation({ ...base, maxHoldMs: -1 }, deps), /maxHoldMs/);
});
