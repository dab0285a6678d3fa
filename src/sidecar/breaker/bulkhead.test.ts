import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { CallSignal } from '../chain/call-signal.ts';
import { Bulkhead } from './bulkhead.ts';

const flush = () => new Promise<void>((r) => setImmediate(r));

test('maxWaitDuration 0: over maxConcurrentCalls is rejected at once', async () => {
  const b = new Bulkhead({ maxConcurrentCalls: 2, maxWaitDurationMs: 0 }, { clock: new ManualClock(0) });
  assert.equal(b.tryAcquire(), true);
  assert.equal(b.tryAcquire(), true);
  assert.equal(b.tryAcquire(), false);
  assert.equal(await b.acquire(), false);
  b.release();
  assert.equal(await b.acquire(), true);
  assert.deepEqual(
    { ...b.counters() },
    {
      maxConcurrentCalls: 2,
      maxWaitDurationMs: 0,
      inFlight: 2,
      waiting: 0,
      admitted: 3,
      waited: 0,
      rejected: 1,
    },
  );
});

test('a waiter gets the next free slot, in arrival order; one that waits too long is rejected', async () => {
  const clock = new ManualClock(0);
  const b = new Bulkhead({ maxConcurrentCalls: 1, maxWaitDurationMs: 100 }, { clock });
  assert.equal(b.tryAcquire(), true);
  const order: string[] = [];
  const first = b.acquire().then((ok) => order.push(`first:${ok}`));
  clock.advance(50);
  const second = b.acquire().then((ok) => order.push(`second:${ok}`));
  assert.equal(b.counters().waiting, 2);
  assert.equal(b.tryAcquire(), false, 'no overtaking the queue');
  b.release();
  await first;
  assert.deepEqual(order, ['first:true']);
  clock.advance(99);
  await flush();
  assert.deepEqual(order, ['first:true'], 'second still within its 100 ms');
  clock.advance(1);
  await second;
  assert.deepEqual(order, ['first:true', 'second:false']);
  assert.equal(clock.pending, 0, 'no timer left behind');
  assert.equal(b.counters().rejected, 1);
  assert.equal(b.counters().waited, 1);
});

test('an aborted caller leaves the queue; the queue itself is bounded', async () => {
  const clock = new ManualClock(0);
  const b = new Bulkhead({ maxConcurrentCalls: 1, maxWaitDurationMs: 1000 }, { clock, maxWaiting: 1 });
  b.tryAcquire();
  const signal = new CallSignal();
  const waiting = b.acquire(signal);
  assert.equal(await b.acquire(), false, 'the one queue place is taken');
  signal.abort();
  assert.equal(await waiting, false);
  assert.equal(b.counters().waiting, 0);
  assert.equal(clock.pending, 0);
});

test('update() raises the limit in place and admits waiters', async () => {
  const clock = new ManualClock(0);
  const b = new Bulkhead({ maxConcurrentCalls: 1, maxWaitDurationMs: 1000 }, { clock });
  b.tryAcquire();
  const waiting = b.acquire();
  b.update({ maxConcurrentCalls: 2, maxWaitDurationMs: 1000 });
  assert.equal(await waiting, true);
  assert.equal(b.inFlight, 2);
  assert.throws(() => b.update({ maxConcurrentCalls: 0, maxWaitDurationMs: 0 }), RangeError);
});
