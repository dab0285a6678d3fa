/** Key layout and Txn translation for the etcd store (pure; no etcd). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyCodec, normalizeNamespace, prefixEnd, txnWrote } from './etcd-codec.ts';
import { isStoreError } from './types.ts';

test('prefix range ends: last byte + 1, 0xff bytes carried, all-0xff runs to the end', () => {
  assert.deepEqual(prefixEnd(Buffer.from('/a/')), Buffer.from('/a0'));
  assert.deepEqual(prefixEnd(Buffer.from([0x61, 0xff, 0xff])), Buffer.from([0x62]));
  assert.deepEqual(prefixEnd(Buffer.from([0xff])), Buffer.from([0]));
});

test('namespaces: trailing slashes dropped, must start with "/"', () => {
  assert.equal(normalizeNamespace('/mesher/'), '/mesher');
  assert.equal(normalizeNamespace(''), '');
  assert.throws(
    () => normalizeNamespace('mesher'),
    (e) => isStoreError(e) && e.code === 'INVALID_ARGUMENT',
  );
});

test('keys live under <namespace>/ and decode back; foreign keys do not decode', () => {
  const c = new KeyCodec('/mesher');
  assert.equal(c.key('/cse-sr/x').toString(), '/mesher/cse-sr/x');
  assert.equal(c.unkey(Buffer.from('/mesher/cse-sr/x')), '/cse-sr/x');
  assert.equal(c.unkey(Buffer.from('/mesher-b/x')), undefined);
  assert.deepEqual(c.prefix(''), { key: Buffer.from('/mesher/'), range_end: Buffer.from('/mesher0') });
  assert.equal(c.prefix('no-slash'), null);
  assert.throws(
    () => c.key('x'),
    (e) => isStoreError(e) && e.code === 'INVALID_ARGUMENT',
  );
});

test('a Store txn becomes an etcd Txn with the same guards and ops', () => {
  const c = new KeyCodec('/n');
  const t = c.txn({
    compare: [
      { key: '/k', target: 'version', op: '=', value: 0 },
      { key: '/k', target: 'modRevision', op: '<', value: 9 },
      { key: '/k', target: 'value', op: '!=', value: 'v' },
    ],
    success: [
      { type: 'put', key: '/k', value: 'v', lease: 5 },
      { type: 'deletePrefix', prefix: '/p/' },
      { type: 'deletePrefix', prefix: 'nothing' },
    ],
    failure: [{ type: 'delete', key: '/k' }],
  });
  assert.deepEqual(
    t.compare!.map((x) => [x.target, x.result, x.version ?? x.mod_revision ?? x.value?.toString()]),
    [
      ['Version', 'Equal', 0],
      ['Mod', 'Less', 9],
      ['Value', 'NotEqual', 'v'],
    ],
  );
  assert.equal(t.success!.length, 2, 'a prefix no key can match is dropped');
  assert.equal(t.success![0]!.request_put!.lease, 5);
  assert.equal(t.success![1]!.request_delete_range!.range_end!.toString(), '/n/p0');
  assert.equal(t.failure![0]!.request_delete_range!.key!.toString(), '/n/k');
});

test('txnWrote: puts always write, deletes only when they matched', () => {
  assert.equal(txnWrote([{ response_delete_range: { deleted: '0' } }]), false);
  assert.equal(txnWrote([{ response_delete_range: { deleted: '2' } }]), true);
  assert.equal(txnWrote([{ response_put: {} }]), true);
  assert.equal(txnWrote([]), false);
});
