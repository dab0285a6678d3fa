import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { DEFAULT_SERVICE_POLICY } from '../policy/defaults.ts';
import { RetryBudget } from './retry-budget.ts';
import type { RetryBudgetConfig } from './types.ts';

const make = (over: Partial<RetryBudgetConfig> = {}) => {
  const clock = new ManualClock(0);
  return { clock, budget: new RetryBudget({ ...DEFAULT_SERVICE_POLICY.retryBudget, ...over }, { clock }) };
};

test('low traffic: the floor (3/s over 10 s = 30) still allows retries', () => {
  const { budget } = make();
  budget.recordRequest();
  let n = 0;
  while (budget.tryRetry()) n++;
  assert.equal(n, 30);
  assert.equal(budget.counters().exhausted, 1);
});

test('high traffic: retries stay within 20% of requests in the window', () => {
  const { budget } = make();
  for (let i = 0; i < 1000; i++) budget.recordRequest();
  let n = 0;
  while (budget.tryRetry()) n++;
  assert.equal(n, 200);
});

test('the budget refills as the window slides', () => {
  const { clock, budget } = make({ minRetriesPerSec: 0 });
  for (let i = 0; i < 100; i++) budget.recordRequest();
  let n = 0;
  while (budget.tryRetry()) n++;
  assert.equal(n, 20);
  clock.advance(10_000); // both the requests and the retries left the window
  assert.equal(budget.tryRetry(), false, 'no requests in the window, no floor: no retries');
  budget.recordRequest();
  budget.recordRequest();
  budget.recordRequest();
  budget.recordRequest();
  budget.recordRequest();
  assert.equal(budget.tryRetry(), true);
  assert.equal(budget.tryRetry(), false);
});

test('simulation: a dependency failing every request — upstream attempts ≤ requests × 1.2 + floor', () => {
  const { clock, budget } = make();
  const maxAttempts = 3;
  let upstream = 0;
  let requests = 0;
  for (let ms = 0; ms < 60_000; ms += 10) {
    // 100 req/s, each failing; the step retries up to maxAttempts while the budget allows
    budget.recordRequest();
    requests++;
    upstream++;
    for (let a = 1; a < maxAttempts && budget.tryRetry(); a++) upstream++;
    clock.advance(10);
  }
  const retries = upstream - requests;
  // Over any window retries ≤ max(20% of requests, 30); over 60 s that is ≤ 20% + one window's floor slack.
  assert.ok(retries <= requests * 0.2 + 30, `retries=${retries} requests=${requests}`);
  assert.ok(retries >= requests * 0.19, `budget should be used, retries=${retries}`);
  const c = budget.counters();
  assert.equal(c.retries, retries);
  assert.ok(c.exhausted > 0);
});

test('disabled budget always allows', () => {
  const { budget } = make({ enabled: false });
  for (let i = 0; i < 1000; i++) assert.equal(budget.tryRetry(), true);
});

test('validation', () => {
  assert.throws(() => make({ windowMs: 15 }), /windowMs/);
  assert.throws(() => make({ percent: -1 }), /percent/);
});
