/** KvState: the watch history's bounds (events and bytes), trimmed by whole revisions. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KvState, leaseKeys } from './kv-state.ts';
import { isStoreError, type WatchEvent } from './types.ts';

const put = (s: KvState, key: string, value: string) => s.txn({ success: [{ type: 'put', key, value }] });

function replay(s: KvState, from: number): WatchEvent[] {
  const seen: WatchEvent[] = [];
  s.watch('', (evs) => seen.push(...evs), from)();
  return seen;
}

test('history: old values of a key rewritten many times are released past the byte bound', () => {
  const s = new KvState(() => 0, undefined, { maxEvents: 1000, maxBytes: 10_000 });
  const big = 'x'.repeat(1000);
  for (let i = 0; i < 100; i++) put(s, '/dep/rule', `${big}${i}`);
  const { events, bytes } = s.historySize();
  assert.ok(bytes <= 10_000, `bytes ${bytes}`);
  assert.equal(events, 9, 'nine 1,010-byte versions fit in 10,000');
  // The kept ones replay; older ones are compacted.
  assert.deepEqual(
    replay(s, s.rev - 8).map((e) => e.kv.value.slice(1000)),
    ['91', '92', '93', '94', '95', '96', '97', '98', '99'],
  );
  assert.throws(
    () => replay(s, s.rev - 9),
    (err: unknown) => isStoreError(err) && err.code === 'COMPACTED',
  );
});

test('history: bounded by event count too', () => {
  const s = new KvState(() => 0, undefined, { maxEvents: 50, maxBytes: 1e9 });
  for (let i = 0; i < 5000; i++) put(s, `/k/${i}`, 'v');
  assert.equal(s.historySize().events, 50);
  assert.equal(replay(s, s.rev - 49).length, 50);
  assert.equal(replay(s, s.rev - 49)[0]!.kv.key, '/k/4950');
});

test('history: a revision is kept or dropped whole', () => {
  const s = new KvState(() => 0, undefined, { maxEvents: 3, maxBytes: 1e9 });
  s.txn({
    success: [
      { type: 'put', key: '/a', value: '1' },
      { type: 'put', key: '/b', value: '2' },
    ],
  });
  const first = s.rev;
  s.txn({
    success: [
      { type: 'put', key: '/c', value: '3' },
      { type: 'put', key: '/d', value: '4' },
    ],
  });
  // 4 events > 3: the first revision goes as a whole, never just '/a'.
  assert.equal(s.historySize().events, 2);
  assert.throws(
    () => replay(s, first),
    (err: unknown) => isStoreError(err) && err.code === 'COMPACTED',
  );
  assert.deepEqual(
    replay(s, first + 1).map((e) => e.kv.key),
    ['/c', '/d'],
  );
});

test('history: one revision larger than the bound leaves the history empty, not split', () => {
  const s = new KvState(() => 0, undefined, { maxEvents: 10, maxBytes: 1e9 });
  put(s, '/x', '0');
  s.txn({
    success: Array.from({ length: 20 }, (_, i) => ({ type: 'put' as const, key: `/m/${i}`, value: 'v' })),
  });
  assert.equal(s.historySize().events, 0);
  assert.equal(s.historySize().bytes, 0);
  assert.throws(
    () => replay(s, s.rev),
    (err: unknown) => isStoreError(err) && err.code === 'COMPACTED',
  );
  // Later writes are recorded again.
  put(s, '/y', '1');
  assert.deepEqual(
    replay(s, s.rev).map((e) => e.kv.key),
    ['/y'],
  );
});

test('leases: one key, two keys, a key moved to another lease, revoke deletes what is attached', () => {
  const s = new KvState(() => 0);
  const a = s.grantLease(10_000).id;
  const b = s.grantLease(10_000).id;
  const putL = (key: string, lease: number) => s.txn({ success: [{ type: 'put', key, value: 'v', lease }] });
  putL('/i/1', a);
  putL('/i/1', a); // again: still attached once
  assert.deepEqual(leaseKeys(s.leases.get(a)!), ['/i/1']);
  putL('/m/1', a);
  assert.deepEqual(leaseKeys(s.leases.get(a)!), ['/i/1', '/m/1']);
  putL('/i/1', b); // moved to lease b
  assert.deepEqual(leaseKeys(s.leases.get(a)!), ['/m/1']);
  assert.deepEqual(leaseKeys(s.leases.get(b)!), ['/i/1']);
  s.txn({ success: [{ type: 'delete', key: '/m/1' }] });
  assert.deepEqual(leaseKeys(s.leases.get(a)!), []);
  putL('/x/1', b);
  putL('/x/2', b);
  s.revokeLeases([b]);
  assert.equal(s.kvs.size, 0, 'revoking b deleted its three keys');
  assert.equal(s.leases.has(b), false);
  assert.equal(s.leases.has(a), true);
});
