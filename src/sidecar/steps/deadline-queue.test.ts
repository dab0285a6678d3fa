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
