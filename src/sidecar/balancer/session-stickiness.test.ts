import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeEndpoints, seededRandom } from '../../../test/contract/balancer.ts';
import { ManualClock } from '../../shared/clock.ts';
import { isBalancerConfigError } from './errors.ts';
import { SessionStickinessBalancer } from './session-stickiness.ts';
import type { PickRequest } from './types.ts';

function make(options?: unknown) {
  const clock = new ManualClock();
  const b = new SessionStickinessBalancer({ clock, random: seededRandom(8) }, options);
  const eps = fakeEndpoints(3);
  b.update(eps);
  const pick = (req?: PickRequest) => {
    const r = b.pick(req);
    if (r.kind !== 'ok') assert.fail('unavailable');
    return r.endpoint;
  };
  return { clock, b, eps, pick };
}

test('the same session key keeps going to the same endpoint, and sessions spread', () => {
  const { b, pick } = make();
  const mapped = new Map<string, string>();
  for (let round = 0; round < 50; round++) {
    for (let s = 0; s < 9; s++) {
      const ep = pick({ sessionKey: `user-${s}` });
      b.onStart(ep);
      b.onFinish(ep, { ok: true, latencyMs: 3 });
      pick(); // unrelated traffic without a session moves the round-robin cursor
      const prev = mapped.get(`user-${s}`);
      if (prev === undefined) mapped.set(`user-${s}`, ep.key);
      else assert.equal(ep.key, prev, `user-${s} moved in round ${round}`);
    }
  }
  assert.equal(new Set(mapped.values()).size, 3, 'new sessions go round robin over all endpoints');
});

test('a session re-maps after successiveFailedTimes failures in a row, not before', () => {
  const { b, pick } = make({ successiveFailedTimes: 3 });
  const first = pick({ sessionKey: 's' });
  const fail = () => {
    b.onStart(first);
    b.onFinish(first, { ok: false, latencyMs: 2 });
  };
  fail();
  fail();
  b.onStart(first);
  b.onFinish(first, { ok: true, latencyMs: 2 }); // a success resets the run
  fail();
  fail();
  assert.equal(pick({ sessionKey: 's' }).key, first.key, 'two failures in a row: still sticky');
  fail();
  const second = pick({ sessionKey: 's' });
  assert.notEqual(second.key, first.key, 'third failure in a row: re-mapped');
  for (let i = 0; i < 20; i++)
    assert.equal(pick({ sessionKey: 's' }).key, second.key, 'sticks to the new one');
});

test('a session re-maps after sessionTimeoutInSeconds idle, not before', () => {
  const { clock, pick } = make({ sessionTimeoutInSeconds: 30 });
  const keys = ['a', 'b', 'c'];
  const before = keys.map((k) => pick({ sessionKey: k }).key); // one per endpoint (round robin)
  assert.equal(new Set(before).size, 3);
  clock.advance(29_000);
  assert.deepEqual(
    keys.map((k) => pick({ sessionKey: k }).key),
    before,
    'used within the timeout: unchanged',
  );
  pick(); // shift the round-robin cursor by one
  clock.advance(30_001);
  const after = keys.map((k) => pick({ sessionKey: k }).key);
  for (let i = 0; i < 3; i++) assert.notEqual(after[i], before[i], `session ${keys[i]} was re-mapped`);
});

test('an excluded or removed endpoint re-maps the session, which then sticks to the replacement', () => {
  const { b, eps, pick } = make();
  const first = pick({ sessionKey: 's' });
  const replacement = pick({ sessionKey: 's', exclude: new Set([first.key]) });
  assert.notEqual(replacement.key, first.key);
  for (let i = 0; i < 10; i++) assert.equal(pick({ sessionKey: 's' }).key, replacement.key);
  b.update(eps.filter((e) => e.key !== replacement.key));
  const third = pick({ sessionKey: 's' });
  assert.notEqual(third.key, replacement.key);
  for (let i = 0; i < 10; i++) assert.equal(pick({ sessionKey: 's' }).key, third.key);
});

test('the session table is bounded and evicts the least recently used', () => {
  const { b, clock, pick } = make({ maxSessions: 100 });
  const hot = pick({ sessionKey: 'hot' }).key;
  for (let i = 0; i < 1000; i++) {
    pick({ sessionKey: `cold-${i}` });
    if (i % 50 === 0) {
      // (LRU order is refreshed at most once a second per session: see #touch.)
      clock.advance(1_000);
      assert.equal(pick({ sessionKey: 'hot' }).key, hot, 'a session in use is kept');
    }
    assert.ok(b.sessionCount <= 100, `table grew to ${b.sessionCount}`);
  }
  assert.equal(pick({ sessionKey: 'hot' }).key, hot);
});

test('expired sessions are swept from the table', () => {
  const { b, clock, pick } = make({ sessionTimeoutInSeconds: 1 });
  for (let i = 0; i < 500; i++) pick({ sessionKey: `s${i}` });
  assert.equal(b.sessionCount, 500);
  clock.advance(2_000);
  for (let i = 0; i < 1000; i++) pick({ sessionKey: 'live' });
  assert.equal(b.sessionCount, 1);
});

test('options use the original keys and are validated', () => {
  const deps = { clock: new ManualClock(), random: seededRandom(1) };
  assert.throws(
    () => new SessionStickinessBalancer(deps, { successiveFailedTimes: 0, sessionTimeout: 5 }),
    (err: unknown) =>
      isBalancerConfigError(err) &&
      /successiveFailedTimes must be an integer/.test(err.message) &&
      /unknown option "sessionTimeout".*sessionTimeoutInSeconds/.test(err.message),
  );
  assert.doesNotThrow(
    () => new SessionStickinessBalancer(deps, { sessionTimeoutInSeconds: '30', successiveFailedTimes: '5' }),
  );
});

test('without time passing, a flood of new sessions can evict a busy one (documented approximation)', () => {
  const { b, pick } = make({ maxSessions: 10 });
  pick({ sessionKey: 'busy' });
  for (let i = 0; i < 10; i++) {
    pick({ sessionKey: 'busy' }); // used again within the same second: keeps its place
    pick({ sessionKey: `new-${i}` });
  }
  assert.equal(b.sessionCount, 10);
  // 'busy' was the oldest entry and was evicted; its next pick simply maps it again.
  assert.equal(b.hasSession('busy'), false);
  pick({ sessionKey: 'busy' });
  assert.equal(b.hasSession('busy'), true);
});
