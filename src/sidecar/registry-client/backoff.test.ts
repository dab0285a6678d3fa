import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff } from './backoff.ts';

test('delays double from the initial value up to the cap, within [d/2, d]', () => {
  const hi = new Backoff({ initialMs: 1000, maxMs: 30_000, random: () => 1 });
  assert.deepEqual(
    Array.from({ length: 8 }, () => hi.next()),
    [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000],
  );
  const lo = new Backoff({ initialMs: 1000, maxMs: 30_000, random: () => 0 });
  assert.deepEqual(
    Array.from({ length: 3 }, () => lo.next()),
    [500, 1000, 2000],
  );
  hi.reset();
  assert.equal(hi.next(), 1000);
  assert.equal(hi.attempts, 1);
});

test('bad options are rejected at construction', () => {
  assert.throws(() => new Backoff({ initialMs: 0 }), /initialMs/);
  assert.throws(() => new Backoff({ initialMs: 10, maxMs: 5 }), /maxMs/);
  assert.throws(() => new Backoff({ factor: 0.5 }), /factor/);
});

test('many attempts never overflow or exceed the cap', () => {
  const b = new Backoff({ random: Math.random });
  for (let i = 0; i < 2000; i++) {
    const d = b.next();
    assert.ok(d >= 1 && d <= 30_000, String(d));
  }
});
