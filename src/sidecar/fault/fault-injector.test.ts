import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SERVICE_POLICY } from '../policy/defaults.ts';
import { scriptedRandom, seededRandom } from '../policy/seeded-random.ts';
import { type FaultConfig, FaultInjector, faultActive, NO_FAULT } from './fault-injector.ts';

const cfg = (over: Partial<FaultConfig>): FaultConfig => ({ ...DEFAULT_SERVICE_POLICY.fault, ...over });

test('nothing configured: never injects, never draws randomness', () => {
  let draws = 0;
  const f = new FaultInjector(DEFAULT_SERVICE_POLICY.fault, {
    random: () => {
      draws++;
      return 0;
    },
  });
  for (let i = 0; i < 100; i++) assert.equal(f.decide(), NO_FAULT);
  assert.equal(draws, 0);
  assert.equal(faultActive(DEFAULT_SERVICE_POLICY.fault), false);
});

test('delay then abort, each by its own draw', () => {
  const f = new FaultInjector(
    cfg({ delayPercent: 50, delayFixedMs: 200, abortPercent: 10, abortHttpStatus: 503 }),
    {
      random: scriptedRandom([0.49, 0.09, 0.5, 0.1]),
    },
  );
  assert.deepEqual(f.decide(), { delayMs: 200, abortStatus: 503 });
  assert.equal(f.decide(), NO_FAULT);
  assert.deepEqual(f.counters(), { delayed: 1, aborted: 1 });
});

test('100% always; observed rates match the percentages', () => {
  const always = new FaultInjector(cfg({ abortPercent: 100, abortHttpStatus: 500 }), {
    random: () => 0.99999,
  });
  assert.deepEqual(always.decide(), { delayMs: 0, abortStatus: 500 });
  const f = new FaultInjector(
    cfg({ delayPercent: 30, delayFixedMs: 5, abortPercent: 20, abortHttpStatus: 418 }),
    {
      random: seededRandom(7),
    },
  );
  let delayed = 0;
  let aborted = 0;
  for (let i = 0; i < 20_000; i++) {
    const d = f.decide();
    if (d.delayMs > 0) delayed++;
    if (d.abortStatus !== undefined) aborted++;
  }
  assert.ok(Math.abs(delayed / 20_000 - 0.3) < 0.02, `delayed ${delayed}`);
  assert.ok(Math.abs(aborted / 20_000 - 0.2) < 0.02, `aborted ${aborted}`);
});

test('validation', () => {
  assert.throws(() => new FaultInjector(cfg({ abortPercent: 10 }), { random: Math.random }), /httpStatus/);
  assert.throws(() => new FaultInjector(cfg({ delayPercent: 10 }), { random: Math.random }), /fixedDelay/);
  assert.throws(
    () => new FaultInjector(cfg({ delayPercent: 101, delayFixedMs: 1 }), { random: Math.random }),
    /delay.percent/,
  );
});
