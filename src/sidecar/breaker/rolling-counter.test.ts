import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../shared/clock.ts';
import { RollingCounter } from './rolling-counter.ts';

test('sums over the window and forgets buckets as they roll out', () => {
  const clock = new ManualClock(0);
  const rc = new RollingCounter(clock, { buckets: 10, bucketMs: 1000, fields: 2 });
  rc.add(0, 5);
  rc.add(1);
  clock.advance(4_000);
  rc.add(0, 3);
  assert.equal(rc.sum(0), 8);
  assert.equal(rc.sum(1), 1);
  clock.advance(6_000); // t=10s: the t=0 bucket is now out of the window
  assert.equal(rc.sum(0), 3);
  assert.equal(rc.sum(1), 0);
  clock.advance(100_000);
  assert.equal(rc.sum(0), 0);
  assert.equal(rc.windowMs, 10_000);
});

test('a clock jumping backwards keeps counting in the current bucket', () => {
  const clock = new ManualClock(50_000);
  const rc = new RollingCounter(clock, { buckets: 4, bucketMs: 100, fields: 1 });
  rc.add(0);
  clock.set(10_000);
  rc.add(0);
  assert.equal(rc.sum(0), 2);
});

test('reset clears everything', () => {
  const clock = new ManualClock(0);
  const rc = new RollingCounter(clock, { buckets: 2, bucketMs: 10, fields: 1 });
  rc.add(0, 7);
  rc.reset();
  assert.equal(rc.sum(0), 0);
});

test('rejects nonsense shapes', () => {
  const clock = new ManualClock(0);
  assert.throws(() => new RollingCounter(clock, { buckets: 0, bucketMs: 10, fields: 1 }), RangeError);
  assert.throws(() => new RollingCounter(clock, { buckets: 1, bucketMs: 0, fields: 1 }), RangeError);
  assert.throws(() => new RollingCounter(clock, { buckets: 1, bucketMs: 1, fields: 0 }), RangeError);
});

test('property: the window sum equals a brute-force count of events younger than the window', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ dt: fc.integer({ min: 0, max: 2500 }), n: fc.integer({ min: 1, max: 5 }) }), {
        maxLength: 200,
      }),
      (events) => {
        const clock = new ManualClock(0);
        const rc = new RollingCounter(clock, { buckets: 10, bucketMs: 100, fields: 1 });
        const log: Array<{ at: number; n: number }> = [];
        for (const e of events) {
          clock.advance(e.dt);
          rc.add(0, e.n);
          log.push({ at: clock.now(), n: e.n });
          const head = Math.floor(clock.now() / 100);
          const expected = log.filter((x) => Math.floor(x.at / 100) > head - 10).reduce((s, x) => s + x.n, 0);
          assert.equal(rc.sum(0), expected);
        }
      },
    ),
  );
});
