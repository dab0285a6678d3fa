// Canary propagation: config parsing, correlation by trace id / request id, the app's own value
// winning, expiry on the ManualClock, and the entry bound.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { correlationId, DEFAULT_PROPAGATION, PropagationStore, parsePropagation } from './propagation.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const tp = (span: string) => `00-${TRACE}-${span}-01`;

function store(extra: Record<string, unknown> = {}, clock = new ManualClock()) {
  const { config, issues } = parsePropagation({ 'servicecomb.router.propagate': ['X-Canary'], ...extra });
  assert.deepEqual(issues, []);
  return new PropagationStore(config, clock);
}

test('parse: defaults, comma strings, cse spelling, bad values reported with their key', () => {
  assert.deepEqual(parsePropagation({}).config, DEFAULT_PROPAGATION);
  const r = parsePropagation({
    'cse.router.propagate': 'X-Canary, x-user',
    'servicecomb.router.propagation.ttlMs': '5000',
    'servicecomb.router.propagation.correlationHeaders': ['X-Request-Id'],
  });
  assert.deepEqual(r.issues, []);
  assert.deepEqual(r.config.headers, ['x-canary', 'x-user']);
  assert.deepEqual(r.config.correlationHeaders, ['x-request-id']);
  assert.equal(r.config.ttlMs, 5000);
  const bad = parsePropagation({
    'servicecomb.router.propagate': ['ok', 'not a header'],
    'servicecomb.router.propagation.maxEntries': 0,
    'servicecomb.router.propagation.correlationHeaders': [],
  });
  assert.deepEqual(
    bad.issues.map((i) => i.key),
    [
      'servicecomb.router.propagate',
      'servicecomb.router.propagation.correlationHeaders',
      'servicecomb.router.propagation.maxEntries',
    ],
  );
});

test('correlation id: the trace id of traceparent (span ids differ per hop), else x-request-id', () => {
  assert.equal(correlationId(['traceparent', tp('00f067aa0ba902b7')], ['traceparent']), `t:${TRACE}`);
  assert.equal(
    correlationId(['Traceparent', tp('1111111111111111')], ['traceparent']),
    correlationId(['traceparent', tp('2222222222222222')], ['traceparent']),
  );
  assert.equal(
    correlationId(['traceparent', 'garbage', 'X-Request-Id', 'r1'], ['traceparent', 'x-request-id']),
    'x-request-id:r1',
  );
  assert.equal(
    correlationId(['traceparent', `00-${'0'.repeat(32)}-${'1'.repeat(16)}-01`], ['traceparent']),
    undefined,
  );
  assert.equal(correlationId([], ['traceparent']), undefined);
});

test('an outbound call with the same trace id gets the inbound request routing header', () => {
  const s = store();
  assert.equal(s.record(['traceparent', tp('1111111111111111'), 'X-Canary', 'v2', 'Other', 'x']), true);
  const out = ['traceparent', tp('2222222222222222')];
  assert.equal(s.apply(out), 1);
  assert.deepEqual(out, ['traceparent', tp('2222222222222222'), 'x-canary', 'v2']);
});

test('the app own value wins; unrelated calls and calls without an id get nothing', () => {
  const s = store();
  s.record(['x-request-id', 'r1', 'x-canary', 'v2']);
  const own = ['x-request-id', 'r1', 'X-CANARY', 'stable'];
  assert.equal(s.apply(own), 0);
  assert.deepEqual(own, ['x-request-id', 'r1', 'X-CANARY', 'stable']);
  const other = ['x-request-id', 'r2'];
  assert.equal(s.apply(other), 0);
  assert.equal(s.apply(['accept', '*/*']), 0);
});

test('requests without the header or without an id are not recorded; off when no header is configured', () => {
  const s = store();
  assert.equal(s.record(['x-request-id', 'r1']), false);
  assert.equal(s.record(['x-canary', 'v2']), false);
  assert.equal(s.size, 0);
  const off = new PropagationStore(DEFAULT_PROPAGATION, new ManualClock());
  assert.equal(off.record(['x-request-id', 'r1', 'x-canary', 'v2']), false);
});

test('entries expire after ttlMs (ManualClock)', () => {
  const clock = new ManualClock();
  const s = store({ 'servicecomb.router.propagation.ttlMs': 1000 }, clock);
  s.record(['x-request-id', 'r1', 'x-canary', 'v2']);
  clock.advance(999);
  assert.equal(s.apply(['x-request-id', 'r1']), 1);
  clock.advance(1);
  assert.equal(s.apply(['x-request-id', 'r1']), 0);
  assert.equal(s.size, 0);
  // Recording sweeps expired entries from the old end.
  s.record(['x-request-id', 'a', 'x-canary', 'v2']);
  clock.advance(2000);
  s.record(['x-request-id', 'b', 'x-canary', 'v2']);
  assert.equal(s.size, 1);
});

test('at most maxEntries requests are remembered; the oldest goes first', () => {
  const s = store({ 'servicecomb.router.propagation.maxEntries': 3 });
  for (const id of ['a', 'b', 'c', 'd']) s.record(['x-request-id', id, 'x-canary', id]);
  assert.equal(s.size, 3);
  assert.equal(s.apply(['x-request-id', 'a']), 0);
  const d = ['x-request-id', 'd'];
  assert.equal(s.apply(d), 1);
  assert.equal(d[3], 'd');
  assert.equal(s.record(['x-request-id', 'big', 'x-canary', 'x'.repeat(2000)]), false);
});
