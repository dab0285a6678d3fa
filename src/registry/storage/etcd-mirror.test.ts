/** The etcd mirror on its own (no etcd): history bounds, replays, resync diffs, waits, lease refs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { EtcdMirror } from './etcd-mirror.ts';
import type { KeyValue, WatchEvent } from './types.ts';
import { isStoreError } from './types.ts';

const kv = (key: string, value: string, rev: number, lease = 0): KeyValue => ({
  key,
  value,
  createRevision: rev,
  modRevision: rev,
  version: 1,
  lease,
});

test('history is trimmed at revision boundaries; older replays answer COMPACTED', () => {
  const m = new EtcdMirror({ historyLimit: 3 });
  m.load([], 10);
  assert.throws(
    () => m.watch('/', () => {}, 5),
    (e) => isStoreError(e) && e.code === 'COMPACTED',
  );
  for (let r = 11; r <= 17; r++) m.apply(r, [{ type: 'PUT', kv: kv(`/k${r}`, 'v', r) }]);
  // 7 events > 2 x 3: trimmed to the newest 3 (revisions 15..17).
  assert.throws(
    () => m.watch('/', () => {}, 14),
    (e) => isStoreError(e) && e.code === 'COMPACTED',
  );
  const seen: number[] = [];
  m.watch('/', (evs) => seen.push(...evs.map((e) => e.revision)), 15);
  assert.deepEqual(seen, [15, 16, 17]);
  assert.equal(m.rev, 17);
});

test('apply ignores revisions already applied; DELETE carries the last value', () => {
  const m = new EtcdMirror();
  m.load([kv('/a', '1', 3)], 3);
  const seen: WatchEvent[] = [];
  m.watch('/', (evs) => seen.push(...evs));
  m.apply(3, [{ type: 'PUT', kv: kv('/a', 'stale', 3) }]);
  m.apply(4, [
    { type: 'DELETE', key: '/a' },
    { type: 'DELETE', key: '/never-seen' },
  ]);
  assert.deepEqual(
    seen.map((e) => [e.type, e.kv.key, e.kv.value, e.revision]),
    [['DELETE', '/a', '1', 4]],
  );
});

test('resync emits only the difference and restarts history at the new revision', () => {
  const m = new EtcdMirror();
  m.load([kv('/same', 's', 2), kv('/changed', 'old', 2), kv('/gone', 'g', 2)], 5);
  const seen: WatchEvent[] = [];
  m.watch('/', (evs) => seen.push(...evs));
  const changed = m.resync([kv('/same', 's', 2), kv('/changed', 'new', 8), kv('/new', 'n', 9)], 20);
  assert.equal(changed, 3);
  assert.deepEqual(seen.map((e) => [e.type, e.kv.key, e.kv.value, e.revision]).sort(), [
    ['DELETE', '/gone', 'g', 20],
    ['PUT', '/changed', 'new', 20],
    ['PUT', '/new', 'n', 20],
  ]);
  assert.equal(m.rev, 20);
  assert.throws(
    () => m.watch('/', () => {}, 20),
    (e) => isStoreError(e) && e.code === 'COMPACTED',
  );
});

test('waitFor resolves when the revision is applied, false on timeout or close', async () => {
  const clock = new ManualClock();
  const m = new EtcdMirror();
  m.load([], 1);
  assert.equal(await m.waitFor(1, 100, clock), true);
  const p2 = m.waitFor(2, 100, clock);
  const p3 = m.waitFor(3, 100, clock);
  const p9 = m.waitFor(9, 1_000, clock);
  m.apply(2, [{ type: 'PUT', kv: kv('/x', 'x', 2) }]);
  assert.equal(await p2, true);
  clock.advance(100);
  assert.equal(await p3, false);
  m.close();
  assert.equal(await p9, false);
  assert.equal(clock.pending, 0, 'no timer left behind');
});

test('lease references count mirrored keys and report the last one going', () => {
  const unused: number[] = [];
  const m = new EtcdMirror({ onLeaseUnused: (l) => unused.push(l) });
  m.load([kv('/a', '1', 2, 7), kv('/b', '1', 2, 7)], 2);
  assert.equal(m.leaseKeys.get(7), 2);
  m.apply(3, [{ type: 'PUT', kv: kv('/a', '2', 3, 8) }]); // moved to lease 8
  assert.equal(m.leaseKeys.get(7), 1);
  m.apply(4, [{ type: 'DELETE', key: '/b' }]);
  assert.deepEqual(unused, [7]);
  assert.equal(m.leaseKeys.has(7), false);
  assert.equal(m.leaseKeys.get(8), 1);
});

test('a throwing listener is reported and the others still get the events', () => {
  const errors: unknown[] = [];
  const m = new EtcdMirror({ onListenerError: (e) => errors.push(e) });
  m.load([], 1);
  m.watch('/', () => {
    throw new Error('bug');
  });
  const seen: string[] = [];
  m.watch('/t/', (evs) => seen.push(...evs.map((e) => e.kv.key)));
  m.apply(2, [
    { type: 'PUT', kv: kv('/t/1', 'x', 2) },
    { type: 'PUT', kv: kv('/u/1', 'x', 2) },
  ]);
  assert.equal(errors.length, 1);
  assert.deepEqual(seen, ['/t/1']);
});
