import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { DeadlineQueue } from './deadline-queue.ts';

test('entries fire at their deadline in order; cancelled ones never fire', () => {
  const clock = new ManualClock();
  const q = new DeadlineQueue(clock, { slackMs: 0 });
  const fired: string[] = [];
  q.setTimeout(() => fired.push('a'), 100);
  clock.advance(10);
  const b = q.setTimeout(() => fired.push('b'), 100);
  clock.advance(10);
  q.setTimeout(() => fired.push('c'), 100);
  b.cancel();
  clock.advance(79);
  assert.deepEqual(fired, []);
  clock.advance(1);
  assert.deepEqual(fired, ['a']);
  clock.advance(20);
  assert.deepEqual(fired, ['a', 'c']);
  assert.equal(q.pending, 0);
  assert.equal(clock.pending, 0, 'no timer left armed');
});

test('a re-armed queue fires at most slackMs late; other durations get their own queue', () => {
  const clock = new ManualClock();
  const q = new DeadlineQueue(clock, { slackMs: 5 });
  const fired: number[] = [];
  q.setTimeout(() => fired.push(1), 100);
  clock.advance(1);
  q.setTimeout(() => fired.push(2), 100);
  q.setTimeout(() => fired.push(3), 30);
  clock.advance(30);
  assert.deepEqual(fired, [3]);
  clock.advance(69);
  assert.deepEqual(fired, [3, 1]);
  clock.advance(4); // entry 2 was due at 101; the re-armed queue wakes at 105
  assert.deepEqual(fired, [3, 1]);
  clock.advance(1);
  assert.deepEqual(fired, [3, 1, 2]);
});

test('memory follows the live entries: mass cancellation compacts the queue', () => {
  const clock = new ManualClock();
  const q = new DeadlineQueue(clock);
  for (let i = 0; i < 10_000; i++) q.setTimeout(() => {}, 30_000).cancel();
  const live = q.setTimeout(() => {}, 30_000);
  assert.equal(q.pending, 1);
  live.cancel();
  assert.equal(q.pending, 0);
  clock.advance(30_010);
  assert.equal(clock.pending, 0);
});

test('past maxQueues distinct durations, plain clock timers are used', () => {
  const clock = new ManualClock();
  const q = new DeadlineQueue(clock, { maxQueues: 1 });
  let n = 0;
  q.setTimeout(() => n++, 10);
  q.setTimeout(() => n++, 20);
  clock.advance(20);
  assert.equal(n, 2);
});

test('attempts that end long before their timeout wake the loop about once per duration, not per slackMs', () => {
  const clock = new ManualClock();
  let armed = 0;
  const counting = {
    now: () => clock.now(),
    setTimeout: (fn: () => void, ms: number) => {
      armed++;
      return clock.setTimeout(fn, ms);
    },
  } as unknown as ManualClock;
  const q = new DeadlineQueue(counting, { slackMs: 5 });
  let fired = 0;
  // 1,000 calls a second for 100 s, each done 1 ms after it started (30 s timeout).
  let inFlight = q.setTimeout(() => fired++, 30_000);
  for (let t = 1; t <= 100_000; t++) {
    clock.advance(1);
    inFlight.cancel();
    inFlight = q.setTimeout(() => fired++, 30_000);
  }
  assert.equal(fired, 0);
  assert.equal(q.pending, 1);
  assert.ok(armed <= 5, `armed ${armed} clock timers`);
  clock.advance(30_000);
  assert.equal(fired, 1, 'the last live entry still fires');
  assert.equal(clock.pending, 0);
});

test('cancel is O(1) in any position and a cancelled handle stays cancelled', () => {
  const clock = new ManualClock();
  const q = new DeadlineQueue(clock, { slackMs: 0 });
  const fired: number[] = [];
  const h = [0, 1, 2, 3, 4].map((i) => {
    clock.advance(1);
    return q.setTimeout(() => fired.push(i), 10);
  });
  h[2]!.cancel();
  h[0]!.cancel();
  h[4]!.cancel();
  h[4]!.cancel();
  assert.equal(q.pending, 2);
  clock.advance(20);
  assert.deepEqual(fired, [1, 3]);
  h[1]!.cancel(); // after firing: no effect
  assert.equal(q.pending, 0);
  assert.equal(clock.pending, 0);
});
