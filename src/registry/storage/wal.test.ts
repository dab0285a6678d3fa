/** WAL snapshot file: the chunked writer produces exactly what JSON.stringify of the state did. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { KvState } from './kv-state.ts';
import { recover, writeSnapshot } from './wal.ts';

const root = mkdtempSync(join(tmpdir(), 'mesher-wal-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('writeSnapshot: byte-identical to JSON.stringify over several chunks, and recoverable', async () => {
  const s = new KvState(() => 1000);
  const lease = s.grantLease(30_000).id;
  s.grantLease(5_000);
  for (let i = 0; i < 2500; i++)
    s.txn({
      success: [
        {
          type: 'put',
          key: `/k/${i}`,
          // quotes, backslashes, control and non-ASCII characters must be escaped the same way
          value: i % 2 ? `{"a":"b\\\\c\\n${i}"}` : `é ü \u2028 "${i}"\t`,
          lease: i % 3 === 0 ? lease : 0,
        },
      ],
    });
  s.txn({ success: [{ type: 'put', key: '/k/7', value: 'again' }] });
  const path = join(root, 'snapshot.json');
  await writeSnapshot(path, 7, s.capture());
  const kvs = [...s.kvs.values()].map((kv) => [
    kv.key,
    kv.value,
    kv.createRevision,
    kv.modRevision,
    kv.version,
    kv.lease,
  ]);
  const leases = [...s.leases.values()].map((l) => [l.id, l.ttlMs]);
  const expected = JSON.stringify({
    gen: 7,
    data: { rev: s.rev, nextLeaseId: s.nextLeaseId, leases, kvs },
  });
  assert.equal(readFileSync(path, 'utf8'), expected);
  const rec = recover(root);
  assert.equal(rec.gen, 7);
  const back = new KvState(() => 0);
  back.load(rec.snapshot!);
  assert.equal(back.kvs.size, 2500);
  assert.equal(back.kvs.get('/k/7')!.value, 'again');
  assert.equal(back.kvs.get('/k/3')!.lease, lease);
});

test('writeSnapshot: an empty state', async () => {
  const s = new KvState(() => 0);
  const path = join(root, 'empty.json');
  await writeSnapshot(path, 1, s.capture());
  assert.equal(
    readFileSync(path, 'utf8'),
    JSON.stringify({ gen: 1, data: { rev: 0, nextLeaseId: 1, leases: [], kvs: [] } }),
  );
});
