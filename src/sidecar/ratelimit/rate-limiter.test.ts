import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { FALLBACK_KEY, NO_RATE_LIMIT, type RateLimitConfig, RateLimiter } from './rate-limiter.ts';
import { TAKE_OK } from './token-bucket.ts';

const cfg = (over: Partial<RateLimitConfig>): RateLimitConfig => ({ ...NO_RATE_LIMIT, ...over });

test('nothing is limited unless configured', () => {
  const rl = new RateLimiter(NO_RATE_LIMIT, { clock: new ManualClock(0) });
  for (let i = 0; i < 10_000; i++) assert.equal(rl.tryTake(`svc${i % 7}`), TAKE_OK);
  assert.equal(rl.counters().limited, 0);
});

test('consumer side: per-target buckets, independent of each other', () => {
  const rl = new RateLimiter(cfg({ limits: { a: { ratePerSec: 2, burst: 2 } } }), {
    clock: new ManualClock(0),
  });
  assert.equal(rl.tryTake('a').ok, true);
  assert.equal(rl.tryTake('a').ok, true);
  assert.deepEqual(rl.tryTake('a'), { ok: false, retryAfterMs: 500 });
  assert.equal(rl.tryTake('b').ok, true, 'b has no limit');
  assert.equal(rl.counters().limited, 1);
});

test('provider side: a source with its own limit does not drain the shared global bucket', () => {
  const clock = new ManualClock(0);
  const rl = new RateLimiter(
    cfg({ limits: { vip: { ratePerSec: 5, burst: 5 } }, fallback: { ratePerSec: 1, burst: 1 } }),
    { clock },
  );
  for (let i = 0; i < 5; i++) assert.equal(rl.tryTake('vip').ok, true);
  assert.equal(rl.tryTake('x').ok, true);
  assert.equal(rl.tryTake('y').ok, false, 'x and y share the global bucket');
  const c = rl.counters();
  assert.equal(c.buckets[FALLBACK_KEY]!.allowed, 1);
  assert.equal(c.buckets.vip!.allowed, 5);
});

test('update keeps unchanged buckets, replaces changed ones, drops removed ones', () => {
  const clock = new ManualClock(0);
  const rl = new RateLimiter(
    cfg({
      limits: {
        a: { ratePerSec: 1, burst: 1 },
        b: { ratePerSec: 1, burst: 1 },
        c: { ratePerSec: 1, burst: 1 },
      },
    }),
    { clock },
  );
  rl.tryTake('a');
  rl.tryTake('b');
  rl.tryTake('c');
  rl.update(cfg({ limits: { a: { ratePerSec: 1, burst: 1 }, b: { ratePerSec: 2, burst: 2 } } }));
  assert.equal(rl.tryTake('a').ok, false, 'a unchanged: still empty');
  assert.equal(rl.tryTake('b').ok, true, 'b changed: fresh full bucket');
  assert.equal(rl.tryTake('c').ok, true, 'c removed: unlimited');
  assert.deepEqual(Object.keys(rl.counters().buckets).sort(), ['a', 'b']);
});

test('disabled: no limiting; shadow mode: counts but allows', () => {
  const clock = new ManualClock(0);
  const off = new RateLimiter(cfg({ enabled: false, fallback: { ratePerSec: 0, burst: 1 } }), { clock });
  assert.equal(off.tryTake('x').ok, true);
  const shadow = new RateLimiter(cfg({ enforced: false, fallback: { ratePerSec: 1, burst: 1 } }), { clock });
  assert.equal(shadow.tryTake('x').ok, true);
  assert.equal(shadow.tryTake('x').ok, true);
  const c = shadow.counters();
  assert.equal(c.shadowLimited, 1);
  assert.equal(c.limited, 0);
  assert.equal(c.allowed, 1);
});
