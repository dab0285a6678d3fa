import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { fakeCall, fakeUpstream, flush, policies } from '../../../test/support/fake-call.ts';
import { ManualClock } from '../../shared/clock.ts';
import { isMeshError } from '../../shared/errors.ts';
import { PerService } from '../policy/index.ts';
import { seededRandom } from '../policy/seeded-random.ts';
import { RetryBudget } from '../retry/retry-budget.ts';
import type { RetryBudgetConfig } from '../retry/types.ts';
import { createRetry } from './retry.ts';

const ZERO = { 'cse.loadbalance.backoff.kind': 'zero' };

function setup(flat: Record<string, unknown> = {}, replayMaxBytes?: number) {
  const clock = new ManualClock();
  const budgets = new PerService<RetryBudgetConfig, RetryBudget>((_s, c) => new RetryBudget(c, { clock }));
  const counts = { retry: 0, exhausted: 0 };
  const counters = {
    retry: { inc: () => counts.retry++ },
    retryBudgetExhausted: { inc: () => counts.exhausted++ },
  } as never;
  const step = createRetry({
    policies: policies({ ...ZERO, ...flat }),
    budgets,
    clock,
    random: seededRandom(1),
    counters,
    replayMaxBytes,
  });
  return { clock, step, counts, budgets };
}

test('a retry-on status of an idempotent call is retried on another endpoint', async () => {
  const { step, counts } = setup();
  const up = fakeUpstream(['a', 'b', 'c'], (key) => (key === 'a' ? 503 : 200));
  const call = fakeCall();
  const out = await step(call, up.next);
  assert.equal(out.status, 200);
  assert.equal(up.attempts.length, 2);
  assert.notEqual(up.attempts[1]!.key, 'a');
  assert.ok(call.exclude?.has('a'));
  assert.equal(call.attempt, 2);
  assert.equal(call.retrying, true);
  assert.equal(counts.retry, 1);
});

test('after the last attempt the caller gets the last answer (3 attempts on 3 endpoints by default)', async () => {
  const { step } = setup();
  const up = fakeUpstream(['a', 'b', 'c', 'd'], () => 500);
  const out = await step(fakeCall(), up.next);
  assert.equal(out.status, 500);
  assert.deepEqual(new Set(up.attempts.map((a) => a.key)).size, 3);
});

test('POST: a 503 is not retried, a connect failure is (on another endpoint)', async () => {
  const { step } = setup();
  const up = fakeUpstream(['a', 'b'], (key) => (key === 'a' ? 503 : 200));
  assert.equal((await step(fakeCall({ method: 'POST' }), up.next)).status, 503);
  assert.equal(up.attempts.length, 1);

  const up2 = fakeUpstream(['a', 'b'], (key) => (key === 'a' ? 'connect' : 200));
  assert.equal((await step(fakeCall({ method: 'POST' }), up2.next)).status, 200);
  assert.deepEqual(
    up2.attempts.map((a) => a.key),
    ['a', 'b'],
  );
});

test('nonIdempotent: true retries POST on statuses too; retryEnabled false makes one attempt', async () => {
  const on = setup({ 'servicecomb.retry.nonIdempotent': true });
  const up = fakeUpstream(['a', 'b'], (key) => (key === 'a' ? 503 : 200));
  assert.equal((await on.step(fakeCall({ method: 'POST' }), up.next)).status, 200);

  const off = setup({ 'cse.loadbalance.retryEnabled': false });
  const up2 = fakeUpstream(['a', 'b'], () => 'connect');
  const call = fakeCall();
  await assert.rejects(off.step(call, up2.next), (e) => isMeshError(e) && e.code === 'UPSTREAM_CONNECT');
  assert.equal(up2.attempts.length, 1);
  assert.equal(call.retrying, undefined, 'load-balance keeps its own connect failover');
});

test('retryOnSame stays on the endpoint; a single endpoint is retried when nothing else is left', async () => {
  const { step } = setup({ 'cse.loadbalance.retryOnSame': 1, 'cse.loadbalance.retryOnNext': 1 });
  const up = fakeUpstream(['a', 'b'], (_k, n) => (n < 4 ? 503 : 200));
  // a (503) → same: a → next: b (503) → same: b (200)
  assert.equal((await step(fakeCall(), up.next)).status, 200);
  assert.deepEqual(
    up.attempts.map((a) => a.key),
    ['a', 'a', 'b', 'b'],
  );

  const one = setup();
  const up2 = fakeUpstream(['only'], (_k, n) => (n === 1 ? 'connect' : 200));
  assert.equal((await one.step(fakeCall(), up2.next)).status, 200);
  assert.deepEqual(
    up2.attempts.map((a) => a.key),
    ['only', 'only'],
  );
});

test('the request body is replayed on every attempt; over the bound it is sent once, not retried', async () => {
  const { step } = setup({}, 16);
  const up = fakeUpstream(['a', 'b'], (key) => (key === 'a' ? 'connect' : 200));
  const call = fakeCall({
    method: 'POST',
    hasBody: true,
    body: Readable.from([Buffer.from('hello '), Buffer.from('world')]),
  });
  assert.equal((await step(call, up.next)).status, 200);
  assert.deepEqual(
    up.attempts.map((a) => a.body),
    ['hello world', 'hello world'],
  );

  const big = 'x'.repeat(40);
  const up2 = fakeUpstream(['a', 'b'], () => 'connect');
  const call2 = fakeCall({
    method: 'PUT',
    hasBody: true,
    body: Readable.from([Buffer.from(big.slice(0, 10)), Buffer.from(big.slice(10))]),
  });
  await assert.rejects(step(call2, up2.next), (e) => isMeshError(e) && e.code === 'UPSTREAM_CONNECT');
  assert.deepEqual(
    up2.attempts.map((a) => a.body),
    [big],
  );
});

test('backoff waits on the injected clock between attempts', async () => {
  const { step, clock } = setup({
    'cse.loadbalance.backoff.kind': 'constant',
    'cse.loadbalance.backoff.minMs': 100,
  });
  const up = fakeUpstream(['a', 'b'], (key) => (key === 'a' ? 503 : 200));
  const p = step(fakeCall(), up.next);
  await flush();
  assert.equal(up.attempts.length, 1);
  clock.advance(99);
  await flush();
  assert.equal(up.attempts.length, 1);
  clock.advance(1);
  assert.equal((await p).status, 200);
  assert.equal(up.attempts.length, 2);
});

test('no retry whose backoff does not fit in the request deadline', async () => {
  const { step, clock } = setup({
    'cse.loadbalance.backoff.kind': 'constant',
    'cse.loadbalance.backoff.minMs': 1000,
    'cse.loadbalance.backoff.maxMs': 1000,
    'servicecomb.timeout.requestMs': 500,
    'servicecomb.timeout.perTryMs': 400,
  });
  const up = fakeUpstream(['a', 'b'], () => 503);
  const call = fakeCall();
  call.deadlineMs = clock.now() + 500; // as the timeout step sets it
  assert.equal((await step(call, up.next)).status, 503);
  assert.equal(up.attempts.length, 1);
});

test('the retry budget bounds retries: 20% of requests plus the floor', async () => {
  const { step, counts, budgets } = setup({
    'servicecomb.retry.budgetPercent': 20,
    'servicecomb.retry.budgetMinRetriesPerSecond': 0,
  });
  const up = fakeUpstream(['a', 'b', 'c'], () => 503);
  for (let i = 0; i < 50; i++) assert.equal((await step(fakeCall(), up.next)).status, 503);
  // 50 requests → at most 10 retries in the window
  assert.ok(up.attempts.length <= 60, `attempts ${up.attempts.length}`);
  assert.ok(up.attempts.length >= 55, `the budget should allow some retries: ${up.attempts.length}`);
  assert.equal(counts.retry, up.attempts.length - 50);
  assert.ok(counts.exhausted > 0);
  const c = budgets.peek('svc')!.counters();
  assert.equal(c.requests, 50);
});

test('a client that went away stops the retries', async () => {
  const { step } = setup();
  const call = fakeCall();
  const up = fakeUpstream(['a', 'b'], () => {
    call.signal.abort();
    return 503;
  });
  assert.equal((await step(call, up.next)).status, 503);
  assert.equal(up.attempts.length, 1);
});

test("a provider sidecar's SHUTTING_DOWN 503 is retried elsewhere for any method (nothing reached its app); a plain 503 POST is not", async () => {
  const { step } = setup();
  const shuttingDown = async () => ({
    status: 503,
    headers: ['X-Mesher-Error', 'SHUTTING_DOWN', 'content-type', 'application/json'],
    body: Readable.from([Buffer.from('{}')]),
  });
  const up = fakeUpstream(['a', 'b'], (key) => (key === 'a' ? shuttingDown : 200));
  const post = fakeCall({ method: 'POST' });
  const out = await step(post, up.next);
  assert.equal(out.status, 200);
  assert.deepEqual(
    up.attempts.map((a) => a.key),
    ['a', 'b'],
  );
  const plain = fakeUpstream(['a', 'b'], (key) => (key === 'a' ? 503 : 200));
  assert.equal((await step(fakeCall({ method: 'POST' }), plain.next)).status, 503);
  assert.equal(plain.attempts.length, 1);
});
