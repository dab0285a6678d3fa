// The catalog under the synthetic events an etcd store emits when it re-lists after a compaction:
// unchanged records replayed as PUTs change nothing and tell no watcher; changed ones are UPDATEs;
// a replayed delete of an older version never removes a newer record; counts stay right.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Catalog, type InstanceChange } from './catalog.ts';
import { keys } from './keys.ts';
import type { KeyValue, Store, WatchEvent, WatchListener } from './storage/types.ts';

const T = 'default/default';
const kv = (key: string, value: string, modRevision: number, version = 1): KeyValue => ({
  key,
  value,
  createRevision: modRevision,
  modRevision,
  version,
  lease: 0,
});

/** Just enough Store for the catalog: an initial range and a captured watch listener. */
function fakeStore(initial: KeyValue[]): Store & { emit(evs: WatchEvent[]): void } {
  let listener: WatchListener = () => {};
  return {
    range: () => initial,
    watch: (_p: string, l: WatchListener) => {
      listener = l;
      return () => {};
    },
    emit: (evs: WatchEvent[]) => listener(evs),
  } as unknown as Store & { emit(evs: WatchEvent[]): void };
}

test('resync replays: no-op PUTs are silent, changes are UPDATEs, stale DELETEs are ignored', () => {
  const svc = kv(
    keys.service(T, 's1'),
    JSON.stringify({ serviceId: 's1', appId: 'a', serviceName: 'n', version: '1' }),
    1,
  );
  const i1 = kv(keys.instance(T, 's1', 'i1'), '{"instanceId":"i1"}', 2);
  const i2 = kv(keys.instance(T, 's1', 'i2'), '{"instanceId":"i2"}', 3);
  const store = fakeStore([svc, i1, i2]);
  const catalog = new Catalog(store);
  const seen: InstanceChange[] = [];
  catalog.onInstanceChange((c) => seen.push(c));
  assert.equal(catalog.instanceCount, 2);

  const rev = 10;
  const i2changed = kv(i2.key, '{"instanceId":"i2","status":"DOWN"}', 8, 2);
  store.emit([
    { type: 'PUT', kv: svc, revision: rev }, // unchanged service
    { type: 'PUT', kv: i1, revision: rev }, // unchanged instance
    { type: 'PUT', kv: i2changed, revision: rev },
    { type: 'PUT', kv: kv(keys.instance(T, 's1', 'i3'), '{"instanceId":"i3"}', 9, 3), revision: rev },
  ]);
  assert.deepEqual(
    seen.map((c) => c.action),
    ['UPDATE', 'UPDATE'],
    'i1 is silent; i2 changed; i3 is new to us but not version 1 (so an UPDATE)',
  );
  assert.equal(catalog.instanceCount, 3);
  assert.equal(catalog.serviceCount, 1);
  assert.equal(catalog.findServiceIds(T, '', 'a', 'n').length, 1);

  // A replayed DELETE carrying i2's older record does not remove the newer one.
  store.emit([{ type: 'DELETE', kv: i2, revision: rev + 1 }]);
  assert.equal(catalog.instance(T, 's1', 'i2')?.json, i2changed.value);
  // A real delete does (self-preservation is off here: applied at once).
  store.emit([{ type: 'DELETE', kv: i2changed, revision: rev + 2 }]);
  assert.equal(catalog.instance(T, 's1', 'i2'), undefined);
  assert.equal(seen.at(-1)?.action, 'DELETE');
  assert.equal(seen.at(-1)?.revision, rev + 2);
  // A DELETE of something the catalog never had is ignored.
  store.emit([{ type: 'DELETE', kv: kv(keys.instance(T, 's1', 'ghost'), '{}', 5), revision: rev + 3 }]);
  assert.equal(catalog.instanceCount, 2);
  catalog.close();
});
