/** Embedded store: the contract suite in memory and on disk, plus recovery and durability. */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { EmbeddedStore } from './embedded-store.ts';
import { runStoreContract } from './store-contract.ts';

const root = mkdtempSync(join(tmpdir(), 'mesher-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `d${n++}`);

runStoreContract('memory', (clock) => EmbeddedStore.open({ clock }));
runStoreContract('disk', (clock) => EmbeddedStore.open({ clock, dataDir: freshDir() }));

test('disk: state survives close and reopen, through snapshot and log', async () => {
  const dir = freshDir();
  const clock = new ManualClock();
  const s1 = await EmbeddedStore.open({ clock, dataDir: dir });
  await s1.txn({ success: [{ type: 'put', key: '/a', value: '1' }] });
  await s1.compact();
  await s1.txn({ success: [{ type: 'put', key: '/b', value: '2' }] });
  const lease = await s1.grantLease(5_000);
  await s1.txn({ success: [{ type: 'put', key: '/c', value: '3', lease }] });
  const rev = s1.revision();
  await s1.abandon(); // a crash: no final snapshot; the files are what fsync left
  const s2 = await EmbeddedStore.open({ clock, dataDir: dir });
  try {
    assert.equal(s2.revision(), rev);
    assert.equal(s2.get('/a')!.value, '1');
    assert.equal(s2.get('/b')!.value, '2');
    assert.equal(s2.get('/c')!.lease, lease);
    assert.equal(s2.leaseTtl(lease)!.remainingMs, 5_000);
  } finally {
    await s2.close();
  }
});

test('disk: a lease that ran out while down gets one TTL of grace after restart', async () => {
  const dir = freshDir();
  const clock = new ManualClock();
  const s1 = await EmbeddedStore.open({ clock, dataDir: dir });
  const lease = await s1.grantLease(10_000);
  await s1.txn({ success: [{ type: 'put', key: '/i', value: 'x', lease }] });
  await s1.close();
  clock.set(clock.now() + 3_600_000); // down for an hour
  const s2 = await EmbeddedStore.open({ clock, dataDir: dir });
  try {
    clock.advance(9_000);
    assert.ok(s2.get('/i'), 'still there within the grace');
    clock.advance(2_000);
    assert.equal(s2.get('/i'), undefined, 'expired after one TTL');
  } finally {
    await s2.close();
  }
});

test('disk: a torn last record is cut off; everything before it is kept', async () => {
  const dir = freshDir();
  const clock = new ManualClock();
  const s1 = await EmbeddedStore.open({ clock, dataDir: dir });
  await s1.txn({ success: [{ type: 'put', key: '/ok', value: 'v' }] });
  const wal = readdirSync(dir).find((f) => f.startsWith('wal-'))!;
  appendFileSync(join(dir, wal), '1234abcd {"t":"x","r":99,"o":[[0,"/torn"');
  let truncated = 0;
  const s2 = await EmbeddedStore.open({
    clock,
    dataDir: dir,
    onRecovered: (i) => {
      truncated = i.truncatedBytes;
    },
  });
  try {
    assert.ok(truncated > 0);
    assert.equal(s2.get('/ok')!.value, 'v');
    assert.equal(s2.get('/torn'), undefined);
    await s2.txn({ success: [{ type: 'put', key: '/after', value: 'w' }] });
  } finally {
    await s2.close();
    await s1.abandon();
  }
  const s3 = await EmbeddedStore.open({ clock, dataDir: dir });
  assert.equal(s3.get('/after')!.value, 'w');
  await s3.close();
});

test('disk: the log is compacted once it passes the size threshold', async () => {
  const dir = freshDir();
  const clock = new ManualClock();
  const s = await EmbeddedStore.open({ clock, dataDir: dir, compactBytes: 4_096 });
  for (let i = 0; i < 200; i++)
    await s.txn({ success: [{ type: 'put', key: `/k/${i % 10}`, value: 'x'.repeat(50) }] });
  const files = readdirSync(dir);
  assert.ok(files.includes('snapshot.json'), files.join());
  const walBytes = files
    .filter((f) => f.startsWith('wal-'))
    .reduce((a, f) => a + statSync(join(dir, f)).size, 0);
  assert.ok(walBytes < 8_192, `log stays small: ${walBytes}`);
  await s.close();
  const s2 = await EmbeddedStore.open({ clock, dataDir: dir });
  assert.equal(s2.range('/k/').length, 10);
  await s2.close();
});

test('disk: concurrent writes are group-committed and all acknowledged', async () => {
  const s = await EmbeddedStore.open({ clock: new ManualClock(), dataDir: freshDir() });
  await Promise.all(
    Array.from({ length: 500 }, (_, i) => s.txn({ success: [{ type: 'put', key: `/g/${i}`, value: '' }] })),
  );
  assert.equal(s.range('/g/').length, 500);
  await s.close();
});

test('disk: a change whose log write fails is never shown to watchers', async () => {
  let failing = false;
  const s = await EmbeddedStore.open({
    clock: new ManualClock(),
    dataDir: freshDir(),
    faultInjector: () => (failing ? new Error('EIO') : undefined),
  });
  const seen: string[] = [];
  s.watch('/f/', (evs) => seen.push(...evs.map((e) => e.kv.key)));
  const ok = s.txn({ success: [{ type: 'put', key: '/f/ok', value: '' }] });
  assert.deepEqual(seen, [], 'not before the fsync');
  await ok;
  assert.deepEqual(seen, ['/f/ok']);
  failing = true;
  await assert.rejects(s.txn({ success: [{ type: 'put', key: '/f/lost', value: '' }] }));
  assert.deepEqual(seen, ['/f/ok']);
  assert.equal(s.health().ok, false);
  await s.close();
});
