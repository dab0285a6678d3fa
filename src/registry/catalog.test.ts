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

test('instance views: built once, shared until the service changes, dropped past the budget', () => {
  const svc = (sid: string) =>
    kv(
      keys.service(T, sid),
      JSON.stringify({ serviceId: sid, appId: 'a', serviceName: sid, version: '1' }),
      1,
    );
  const inst = (sid: string, iid: string, rev: number, extra = '') =>
    kv(keys.instance(T, sid, iid), `{"instanceId":"${iid}"${extra}}`, rev);
  const store = fakeStore([
    svc('s1'),
    svc('s2'),
    inst('s1', 'i1', 2),
    inst('s1', 'i2', 5),
    inst('s2', 'j1', 3),
  ]);
  const catalog = new Catalog(store, { viewCacheChars: 60 });
  const v1 = catalog.instanceView(T, 's1')!;
  assert.equal(v1.joined, '{"instanceId":"i1"},{"instanceId":"i2"}');
  assert.equal(v1.count, 2);
  assert.equal(v1.maxRevision, 5);
  assert.equal(catalog.instanceView(T, 's1'), v1, 'the same object while nothing changes');
  assert.equal(catalog.viewCacheChars(), v1.joined.length);
  assert.equal(catalog.instanceView(T, 'nope'), undefined);

  // A change to another service keeps this view; one to this service drops it.
  store.emit([{ type: 'PUT', kv: inst('s2', 'j2', 6), revision: 6 }]);
  assert.equal(catalog.instanceView(T, 's1'), v1);
  store.emit([{ type: 'PUT', kv: inst('s1', 'i2', 7, ',"status":"DOWN"'), revision: 7 }]);
  const v2 = catalog.instanceView(T, 's1')!;
  assert.notEqual(v2, v1);
  assert.equal(v2.joined, '{"instanceId":"i1"},{"instanceId":"i2","status":"DOWN"}');
  assert.equal(v2.maxRevision, 7);
  store.emit([{ type: 'DELETE', kv: inst('s1', 'i2', 7, ',"status":"DOWN"'), revision: 8 }]);
  assert.equal(catalog.instanceView(T, 's1')!.joined, '{"instanceId":"i1"}');
  store.emit([{ type: 'DELETE', kv: inst('s1', 'i1', 2), revision: 9 }]);
  assert.equal(catalog.instanceView(T, 's1'), undefined, 'no instances, no view');

  // Budget: 60 characters. s2's view (38) fits; adding s3's (38) drops every view first.
  store.emit([
    { type: 'PUT', kv: svc('s3'), revision: 10 },
    { type: 'PUT', kv: inst('s3', 'k1', 11), revision: 11 },
    { type: 'PUT', kv: inst('s3', 'k2', 12), revision: 12 },
  ]);
  const w2 = catalog.instanceView(T, 's2')!;
  assert.equal(catalog.viewCacheChars(), w2.joined.length);
  const w3 = catalog.instanceView(T, 's3')!;
  assert.equal(catalog.viewCacheChars(), w3.joined.length, 's2 dropped to make room');
  assert.notEqual(catalog.instanceView(T, 's2'), w2, 'rebuilt on demand');
  // A view larger than the whole budget is answered but never kept.
  store.emit([{ type: 'PUT', kv: inst('s3', 'k3', 13, `,"p":"${'x'.repeat(80)}"`), revision: 13 }]);
  const big = catalog.instanceView(T, 's3')!;
  assert.equal(big.count, 3);
  assert.notEqual(catalog.instanceView(T, 's3'), big);
  assert.ok(catalog.viewCacheChars() <= 60);
  catalog.close();
});

test('dependency rules: a rewrite updates the provider -> consumers index by difference', () => {
  const store = fakeStore([]);
  const catalog = new Catalog(store);
  const key = keys.depRule(T, 'c', '', 'a', 'cons', '1.0.0');
  const rule = (...names: string[]) =>
    JSON.stringify({
      Dependency: names.map((serviceName) => ({ appId: 'a', serviceName, version: '0.0.0+' })),
    });
  const dependents = () =>
    Object.fromEntries(
      [...(catalog.tenant(T)?.dependents ?? new Map<string, Set<string>>())].map(([k, v]) => [k, [...v]]),
    );
  store.emit([{ type: 'PUT', kv: kv(key, rule('p1', 'p2'), 1), revision: 1 }]);
  assert.deepEqual(dependents(), { '/a/p1': ['/a/cons/1.0.0'], '/a/p2': ['/a/cons/1.0.0'] });
  const p2set = catalog.tenant(T)!.dependents.get('/a/p2');
  store.emit([{ type: 'PUT', kv: kv(key, rule('p2', 'p3'), 2, 2), revision: 2 }]);
  assert.deepEqual(dependents(), { '/a/p2': ['/a/cons/1.0.0'], '/a/p3': ['/a/cons/1.0.0'] });
  assert.equal(catalog.tenant(T)!.dependents.get('/a/p2'), p2set, 'an unchanged entry is left alone');
  assert.equal(catalog.tenant(T)!.depRules.get('/a/cons/1.0.0')?.length, 2);
  store.emit([{ type: 'DELETE', kv: kv(key, rule('p2', 'p3'), 2, 2), revision: 3 }]);
  assert.deepEqual(dependents(), {});
  assert.equal(catalog.tenant(T)!.depRules.get('/a/cons/1.0.0'), undefined);
  catalog.close();
});
