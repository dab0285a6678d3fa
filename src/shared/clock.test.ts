import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from './clock.ts';

test('ManualClock fires timers in due order with now() at their due time', () => {
  const clock = new ManualClock(1000);
  const seen: Array<[string, number]> = [];
  clock.setTimeout(() => seen.push(['b', clock.now()]), 20);
  clock.setTimeout(() => seen.push(['a', clock.now()]), 10);
  const iv = clock.setInterval(() => seen.push(['i', clock.now()]), 15);
  clock.advance(31);
  assert.deepEqual(seen, [
    ['a', 1010],
    ['i', 1015],
    ['b', 1020],
    ['i', 1030],
  ]);
  assert.equal(clock.now(), 1031);
  iv.cancel();
  clock.advance(100);
  assert.equal(seen.length, 4);
  assert.equal(clock.pending, 0);
});

test('a cancelled timeout never fires', () => {
  const clock = new ManualClock();
  let fired = false;
  const t = clock.setTimeout(() => {
    fired = true;
  }, 5);
  t.cancel();
  clock.advance(10);
  assert.equal(fired, false);
});
