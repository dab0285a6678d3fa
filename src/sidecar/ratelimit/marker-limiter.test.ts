import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall } from '../../../test/support/fake-call.ts';
import { ManualClock } from '../../shared/clock.ts';
import { parseGovernance } from '../governance/parse.ts';
import type { GovernanceConfig } from '../governance/types.ts';
import { MarkerRateLimiter, markerBucketSpec } from './marker-limiter.ts';

function gov(flat: Record<string, unknown>): GovernanceConfig {
  const r = parseGovernance(flat);
  assert.deepEqual(r.issues, []);
  return r.config;
}

const login = (rate: number, period = 1000) => ({
  'servicecomb.matchGroup.userLogin': 'matches: [{apiPath: {prefix: /login}, method: [POST]}]',
  'servicecomb.rateLimiting.userLogin': `rate: ${rate}\nlimitRefreshPeriod: ${period}`,
});
const post = (path: string) =>
  fakeCall({ direction: 'inbound', method: 'POST', path, source: { service: 'c', address: undefined } });

test('rate per period becomes rate/period refill with a burst of rate', () => {
  assert.deepEqual(
    markerBucketSpec({ name: 'x', rate: 100, limitRefreshPeriodMs: 1000, timeoutDurationMs: 0 }),
    {
      ratePerSec: 100,
      burst: 100,
    },
  );
  assert.deepEqual(
    markerBucketSpec({ name: 'x', rate: 5, limitRefreshPeriodMs: 60_000, timeoutDurationMs: 0 }),
    {
      ratePerSec: 5 / 60,
      burst: 5,
    },
  );
  assert.equal(
    markerBucketSpec({ name: 'x', rate: 0.5, limitRefreshPeriodMs: 1000, timeoutDurationMs: 0 }).burst,
    1,
  );
});

test('calls matching the marker share one bucket; others never touch it', () => {
  const clock = new ManualClock(0);
  const rl = new MarkerRateLimiter(gov(login(3)), { clock });
  let ok = 0;
  for (let i = 0; i < 10; i++) if (rl.match(post(`/login/${i}`))!.bucket.tryTake().ok) ok++;
  assert.equal(ok, 3, 'burst = rate');
  assert.equal(rl.match(post('/other')), undefined);
  assert.equal(rl.match(fakeCall({ direction: 'inbound', method: 'GET', path: '/login' })), undefined);
  clock.advance(1000);
  ok = 0;
  for (let i = 0; i < 10; i++) if (rl.match(post('/login'))!.bucket.tryTake().ok) ok++;
  assert.equal(ok, 3, 'rate per period refilled');
  assert.deepEqual(rl.counters().userLogin, {
    allowed: 6,
    limited: 14,
    tokens: 0,
    rate: 3,
    limitRefreshPeriodMs: 1000,
  });
});

test('update: an unchanged policy keeps its tokens, a changed one starts full, a removed one is gone', () => {
  const clock = new ManualClock(0);
  const rl = new MarkerRateLimiter(gov(login(2)), { clock });
  rl.match(post('/login'))!.bucket.tryTake();
  rl.match(post('/login'))!.bucket.tryTake();
  rl.update(gov(login(2)));
  assert.equal(rl.match(post('/login'))!.bucket.tryTake().ok, false, 'same rate: still empty');
  rl.update(gov(login(4)));
  assert.equal(rl.match(post('/login'))!.bucket.tryTake().ok, true, 'new rate: fresh bucket');
  assert.equal(rl.counters().userLogin!.rate, 4);
  rl.update(gov({}));
  assert.equal(rl.match(post('/login')), undefined);
  assert.equal(rl.has('inbound'), false);
  assert.deepEqual(rl.counters(), {});
});
