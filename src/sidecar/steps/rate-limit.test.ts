import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, outcome, policies } from '../../../test/support/fake-call.ts';
import { ManualClock } from '../../shared/clock.ts';
import { isMeshError } from '../../shared/errors.ts';
import { parseGovernance } from '../governance/parse.ts';
import { MarkerRateLimiter } from '../ratelimit/marker-limiter.ts';
import { RateLimiter } from '../ratelimit/rate-limiter.ts';
import { createConsumerRateLimit, createMarkerRateLimit, createProviderRateLimit } from './rate-limit.ts';

const ok = async () => outcome(200);

test('consumer side: per target service, 429 RATE_LIMITED with Retry-After; tokens refill on the clock', async () => {
  const clock = new ManualClock();
  const p = policies({ 'cse.flowcontrol.Consumer.qps.limit.svc': 2 });
  let limited = 0;
  const counters = { rateLimited: { inc: () => limited++ } } as never;
  const step = createConsumerRateLimit({
    limiter: new RateLimiter(p.rateLimit.consumer, { clock }),
    clock,
    counters,
  });
  assert.equal((await step(fakeCall(), ok)).status, 200);
  assert.equal((await step(fakeCall(), ok)).status, 200);
  await assert.rejects(
    step(fakeCall(), ok),
    (e) =>
      isMeshError(e) && e.code === 'RATE_LIMITED' && e.status === 429 && e.headers?.['retry-after'] === '1',
  );
  assert.equal(limited, 1);
  // other services are not limited
  for (let i = 0; i < 10; i++) assert.equal((await step(fakeCall({ service: 'free' }), ok)).status, 200);
  clock.advance(500);
  assert.equal((await step(fakeCall(), ok)).status, 200);
});

test('provider side: per source service, the rest share the global bucket', async () => {
  const clock = new ManualClock();
  const p = policies({
    'cse.flowcontrol.Provider.qps.limit.gold': 3,
    'cse.flowcontrol.Provider.qps.global.limit': 1,
  });
  const step = createProviderRateLimit({ limiter: new RateLimiter(p.rateLimit.provider, { clock }), clock });
  const from = (service: string | undefined) =>
    fakeCall({ direction: 'inbound', source: { service, address: undefined } });
  for (let i = 0; i < 3; i++) assert.equal((await step(from('gold'), ok)).status, 200);
  await assert.rejects(step(from('gold'), ok), (e) => isMeshError(e) && e.code === 'RATE_LIMITED');
  assert.equal((await step(from('x'), ok)).status, 200);
  await assert.rejects(step(from(undefined), ok), (e) => isMeshError(e) && e.code === 'RATE_LIMITED');
});

test('marker-based: calls matching a rateLimiting marker share its bucket, 429 names the policy; others pass', async () => {
  const clock = new ManualClock(0);
  const g = parseGovernance({
    'servicecomb.matchGroup.userLogin':
      'matches: [{apiPath: {prefix: /login}, method: [POST]}, {serviceName: svc, apiPath: {exact: /pay}}]',
    'servicecomb.rateLimiting.userLogin': 'rate: 2',
  });
  assert.deepEqual(g.issues, []);
  const limited: string[] = [];
  const counters = { rateLimited: { inc: (s: string, d: string) => limited.push(`${s}/${d}`) } } as never;
  const step = createMarkerRateLimit({ limiter: new MarkerRateLimiter(g.config, { clock }), counters });
  const login = () =>
    fakeCall({
      direction: 'inbound',
      method: 'POST',
      path: '/login',
      source: { service: 'web', address: undefined },
    });
  assert.equal((await step(login(), ok)).status, 200);
  // the consumer-side rule shares the same bucket
  assert.equal((await step(fakeCall({ path: '/pay' }), ok)).status, 200);
  await assert.rejects(
    step(login(), ok),
    (e) =>
      isMeshError(e) &&
      e.code === 'RATE_LIMITED' &&
      e.status === 429 &&
      e.headers?.['retry-after'] === '1' &&
      /userLogin/.test(e.message),
  );
  await assert.rejects(
    step(fakeCall({ path: '/pay' }), ok),
    (e) => isMeshError(e) && e.code === 'RATE_LIMITED',
  );
  assert.deepEqual(limited, ['web/inbound', 'svc/outbound']);
  for (let i = 0; i < 20; i++) {
    assert.equal((await step(fakeCall({ direction: 'inbound', path: '/other' }), ok)).status, 200);
    assert.equal(
      (await step(fakeCall({ path: '/login', method: 'POST' }), ok)).status,
      200,
      'outbound: no rule',
    );
  }
  clock.advance(500);
  assert.equal((await step(login(), ok)).status, 200, 'refilled at 2/s');
});
