/** Metric cells render through a real prom-client Registry: cumulative buckets, callbacks, names. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { callbackMetric, HistogramFamily } from './cells.ts';
import { parseExposition, sampleValue } from './exposition.ts';

test('a histogram renders cumulative buckets, +Inf, sum and count per cell', async () => {
  const h = new HistogramFamily('t_seconds', 'test', [0.1, 1]);
  const a = h.add({ route: '/a' });
  const b = h.add({ route: '/b' });
  for (const v of [0.05, 0.5, 0.5, 5]) a.observe(v);
  b.observe(0.01);
  const r = new Registry();
  r.registerMetric(h as never);
  const s = parseExposition(await r.metrics());
  assert.equal(sampleValue(s, 't_seconds_bucket', { route: '/a', le: '0.1' }), 1);
  assert.equal(sampleValue(s, 't_seconds_bucket', { route: '/a', le: '1' }), 3);
  assert.equal(sampleValue(s, 't_seconds_bucket', { route: '/a', le: '+Inf' }), 4);
  assert.equal(sampleValue(s, 't_seconds_count', { route: '/a' }), 4);
  assert.equal(sampleValue(s, 't_seconds_sum', { route: '/a' }), 6.05);
  assert.equal(sampleValue(s, 't_seconds_count'), 5, 'both cells');
});

test('past maxCells a histogram hands out the overflow cell', () => {
  const h = new HistogramFamily('t2_seconds', 'test', [1], 1);
  const first = h.add({ k: 'a' });
  const other = h.add({ k: 'b' }, () => first);
  assert.equal(other, first);
  assert.equal(h.cells.length, 1);
});

test('callback metrics read at scrape time; bad names and buckets are refused', async () => {
  let n = 1;
  const r = new Registry();
  r.registerMetric(callbackMetric('t_value', 'test', 'gauge', () => n) as never);
  r.registerMetric(
    callbackMetric('t_total', 'test', 'counter', () => [{ labels: { result: 'ok' }, value: n * 2 }]) as never,
  );
  n = 7;
  const s = parseExposition(await r.metrics());
  assert.equal(sampleValue(s, 't_value'), 7);
  assert.equal(sampleValue(s, 't_total', { result: 'ok' }), 14);
  assert.throws(() => callbackMetric('bad-name', 'x', 'gauge', () => 0), /not a Prometheus name/);
  assert.throws(() => new HistogramFamily('t3', 'x', [1, 1]), /buckets must increase/);
  assert.throws(() => parseExposition('what is this'), SyntaxError);
});
