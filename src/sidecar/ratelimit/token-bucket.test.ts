import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { defaultBurst, TAKE_OK, TokenBucket } from './token-bucket.ts';

test('starts full, drains, refills at the rate, says when the next token comes', () => {
  const clock = new ManualClock(0);
  const b = new TokenBucket({ ratePerSec: 10, burst: 3 }, clock);
  assert.equal(b.tryTake(), TAKE_OK);
  assert.equal(b.tryTake().ok, true);
  assert.equal(b.tryTake().ok, true);
  assert.deepEqual(b.tryTake(), { ok: false, retryAfterMs: 100 });
  clock.advance(40);
  assert.deepEqual(b.tryTake(), { ok: false, retryAfterMs: 60 });
  clock.advance(60);
  assert.equal(b.tryTake().ok, true);
  clock.advance(10_000);
  assert.equal(b.tokens, 3, 'never more than burst');
  assert.equal(b.allowed, 4);
  assert.equal(b.limited, 2);
});

test('sustained throughput over a long run equals burst + rate × time', () => {
  const clock = new ManualClock(0);
  const b = new TokenBucket({ ratePerSec: 50, burst: 50 }, clock);
  let ok = 0;
  for (let ms = 0; ms < 10_000; ms++) {
    for (let i = 0; i < 3; i++) if (b.tryTake().ok) ok++;
    clock.advance(1);
  }
  assert.ok(ok >= 50 + 500 - 1 && ok <= 50 + 500 + 1, `ok=${ok}`);
});

test('rate 0 rejects everything, even the first call, with a 1 s hint', () => {
  const b = new TokenBucket({ ratePerSec: 0, burst: 1 }, new ManualClock(0));
  assert.deepEqual(b.tryTake(), { ok: false, retryAfterMs: 1000 });
});

test('fractional rates work (one call every 2 s)', () => {
  const clock = new ManualClock(0);
  const b = new TokenBucket({ ratePerSec: 0.5, burst: defaultBurst(0.5) }, clock);
  assert.equal(b.tryTake().ok, true);
  assert.deepEqual(b.tryTake(), { ok: false, retryAfterMs: 2000 });
  clock.advance(2000);
  assert.equal(b.tryTake().ok, true);
});

test('default burst is one second of traffic, at least 1 — never above the rate (the original used 10 for qps < 5)', () => {
  assert.equal(defaultBurst(0), 1);
  assert.equal(defaultBurst(0.5), 1);
  assert.equal(defaultBurst(2), 2);
  assert.equal(defaultBurst(1000), 1000);
  for (const rate of [1, 2, 3, 4, 5, 7, 100]) assert.ok(defaultBurst(rate) <= rate);
});

test('rejects invalid specs', () => {
  const clock = new ManualClock(0);
  assert.throws(() => new TokenBucket({ ratePerSec: -1, burst: 1 }, clock), /ratePerSec/);
  assert.throws(() => new TokenBucket({ ratePerSec: 1, burst: 0.5 }, clock), /burst/);
  assert.throws(() => new TokenBucket({ ratePerSec: Number.NaN, burst: 1 }, clock), /ratePerSec/);
});

test('a clock going backwards does not mint tokens', () => {
  const clock = new ManualClock(10_000);
  const b = new TokenBucket({ ratePerSec: 1, burst: 1 }, clock);
  assert.equal(b.tryTake().ok, true);
  clock.set(5_000);
  assert.equal(b.tryTake().ok, false);
  clock.set(5_999);
  assert.equal(b.tryTake().ok, false);
  clock.set(6_000);
  assert.equal(b.tryTake().ok, true);
});
