/**
 * @module registry/storage/store-contract
 * The contract suite every Store implementation must pass (embedded and etcd).
 * `make(clock)` returns a fresh, empty store; the suite closes it.
 *
 * Lease expiry runs on the ManualClock by default. A backend whose leases expire on a clock it
 * does not own (etcd) passes `{ leaseClock: 'real' }`: that variant uses short real TTLs and
 * waits for the backend instead of moving the clock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import type { Store, WatchEvent } from './types.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait (without a clock) until `cond` holds; fails after `timeoutMs` (default ~5 s). */
async function until(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond() && Date.now() < deadline) await sleep(10);
  assert.ok(cond(), 'condition not reached');
}

export interface StoreContractOptions {
  /** 'manual' (default): lease expiry follows the ManualClock. 'real': short real TTLs. */
  leaseClock?: 'manual' | 'real';
}

export function runStoreContract(
  name: string,
  make: (clock: ManualClock) => Promise<Store>,
  options: StoreContractOptions = {},
): void {
  const withStore = (title: string, fn: (s: Store, clock: ManualClock) => Promise<void>) =>
    test(`${name}: ${title}`, async () => {
      const clock = new ManualClock();
      const s = await make(clock);
      try {
        await fn(s, clock);
      } finally {
        await s.close();
      }
    });

  withStore('put, get, versions and revisions', async (s) => {
    const r0 = s.revision();
    await s.txn({ success: [{ type: 'put', key: '/a/1', value: 'x' }] });
    await s.txn({ success: [{ type: 'put', key: '/a/1', value: 'y' }] });
    const kv = s.get('/a/1')!;
    assert.equal(kv.value, 'y');
    assert.equal(kv.version, 2);
    assert.equal(kv.createRevision, r0 + 1);
    assert.equal(kv.modRevision, r0 + 2);
    assert.equal(s.revision(), r0 + 2);
  });

  withStore('create-if-absent guard', async (s) => {
    const create = () =>
      s.txn({
        compare: [{ key: '/k', target: 'version', op: '=', value: 0 }],
        success: [{ type: 'put', key: '/k', value: 'first' }],
      });
    assert.equal((await create()).succeeded, true);
    assert.equal((await create()).succeeded, false);
    assert.equal(s.get('/k')!.value, 'first');
  });

  withStore('failure branch and value compare', async (s) => {
    await s.txn({ success: [{ type: 'put', key: '/v', value: '1' }] });
    const r = await s.txn({
      compare: [{ key: '/v', target: 'value', op: '=', value: '2' }],
      success: [{ type: 'put', key: '/ok', value: '' }],
      failure: [{ type: 'put', key: '/failed', value: '' }],
    });
    assert.equal(r.succeeded, false);
    assert.equal(s.get('/ok'), undefined);
    assert.ok(s.get('/failed'));
  });

  withStore('range and deletePrefix', async (s) => {
    await s.txn({
      success: ['/p/b', '/p/a', '/q/a'].map((key) => ({ type: 'put' as const, key, value: key })),
    });
    assert.deepEqual(
      s.range('/p/').map((kv) => kv.key),
      ['/p/a', '/p/b'],
    );
    await s.txn({ success: [{ type: 'deletePrefix', prefix: '/p/' }] });
    assert.deepEqual(s.range('/p/'), []);
    assert.ok(s.get('/q/a'));
  });

  withStore('watch delivers PUT and DELETE with prevKv, filtered by prefix', async (s) => {
    const seen: WatchEvent[] = [];
    const stop = s.watch('/w/', (evs) => seen.push(...evs));
    await s.txn({ success: [{ type: 'put', key: '/w/1', value: 'a' }] });
    await s.txn({ success: [{ type: 'put', key: '/other', value: 'a' }] });
    await s.txn({ success: [{ type: 'delete', key: '/w/1' }] });
    stop();
    await s.txn({ success: [{ type: 'put', key: '/w/2', value: 'b' }] });
    assert.deepEqual(
      seen.map((e) => [e.type, e.kv.key, e.kv.value]),
      [
        ['PUT', '/w/1', 'a'],
        ['DELETE', '/w/1', 'a'],
      ],
    );
  });

  withStore('watch from a past revision replays history', async (s) => {
    await s.txn({ success: [{ type: 'put', key: '/h/1', value: 'a' }] });
    const from = s.revision();
    await s.txn({ success: [{ type: 'put', key: '/h/2', value: 'b' }] });
    const seen: string[] = [];
    const stop = s.watch('/h/', (evs) => seen.push(...evs.map((e) => e.kv.key)), from);
    stop();
    assert.deepEqual(seen, ['/h/1', '/h/2']);
  });

  if (options.leaseClock === 'real') realLeaseExpiry(withStore);
  else
    withStore('lease expiry deletes attached keys; keepalive postpones it', async (s, clock) => {
      const lease = await s.grantLease(10_000);
      await s.txn({ success: [{ type: 'put', key: '/l/1', value: 'x', lease }] });
      const deleted: string[] = [];
      s.watch('/l/', (evs) => deleted.push(...evs.filter((e) => e.type === 'DELETE').map((e) => e.kv.key)));
      clock.advance(8_000);
      assert.equal(s.keepAlive(lease), true);
      clock.advance(8_000);
      assert.ok(s.get('/l/1'), 'kept alive');
      clock.advance(3_000);
      assert.equal(s.get('/l/1'), undefined);
      // Events are released once the expiry is durable, which may take an fsync.
      await until(() => deleted.length > 0);
      assert.deepEqual(deleted, ['/l/1']);
      assert.equal(s.keepAlive(lease), false);
      assert.equal(s.leaseTtl(lease), undefined);
    });

  withStore('revoke deletes keys; put with an unknown lease is refused', async (s) => {
    const lease = await s.grantLease(60_000);
    await s.txn({ success: [{ type: 'put', key: '/r/1', value: 'x', lease }] });
    assert.equal(await s.revokeLease(lease), true);
    assert.equal(s.get('/r/1'), undefined);
    assert.equal(await s.revokeLease(lease), false);
    await assert.rejects(s.txn({ success: [{ type: 'put', key: '/r/2', value: 'x', lease }] }));
  });

  withStore('a throwing watch listener does not break the write or other listeners', async (s) => {
    const seen: string[] = [];
    s.watch('/t/', () => {
      throw new Error('listener bug');
    });
    s.watch('/t/', (evs) => seen.push(...evs.map((e) => e.kv.key)));
    await s.txn({ success: [{ type: 'put', key: '/t/1', value: 'x' }] });
    assert.equal(s.get('/t/1')!.value, 'x');
    assert.deepEqual(seen, ['/t/1']);
  });

  withStore('watchers see a change only once its txn has resolved (durable)', async (s) => {
    const seen: string[] = [];
    s.watch('/d/', (evs) => seen.push(...evs.map((e) => e.kv.key)));
    const p = s.txn({ success: [{ type: 'put', key: '/d/1', value: 'x' }] });
    const atResolve: string[][] = [];
    await p.then(() => atResolve.push([...seen]));
    assert.deepEqual(atResolve, [['/d/1']], 'delivered before the txn promise resolves');
  });
}

/** The lease test on real time: etcd expires leases on its own clock (minimum TTL about 1-2 s). */
function realLeaseExpiry(withStore: (title: string, fn: (s: Store) => Promise<void>) => unknown): void {
  withStore('lease expiry deletes attached keys; keepalive postpones it (real TTLs)', async (s) => {
    const lease = await s.grantLease(2_000);
    assert.equal(s.leaseTtl(lease)?.ttlMs, 2_000);
    await s.txn({ success: [{ type: 'put', key: '/l/1', value: 'x', lease }] });
    assert.equal(s.get('/l/1')!.lease, lease);
    const deleted: string[] = [];
    s.watch('/l/', (evs) => deleted.push(...evs.filter((e) => e.type === 'DELETE').map((e) => e.kv.key)));
    // Keep it alive for longer than its TTL.
    for (const end = Date.now() + 3_000; Date.now() < end; ) {
      assert.equal(s.keepAlive(lease), true);
      await sleep(200);
    }
    assert.ok(s.get('/l/1'), 'kept alive past its TTL');
    assert.deepEqual(deleted, []);
    // Then stop: the lease expires and its key goes.
    await until(() => deleted.length > 0, 15_000);
    assert.deepEqual(deleted, ['/l/1']);
    assert.equal(s.get('/l/1'), undefined);
    // The backend may learn of the expiry from its next keepalive's answer.
    await until(() => s.keepAlive(lease) === false);
    assert.equal(s.leaseTtl(lease), undefined);
  });
}
