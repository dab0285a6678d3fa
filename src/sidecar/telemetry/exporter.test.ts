import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { BatchExporter } from './exporter.ts';
import { FinishedSpan } from './span.ts';

function span(i: number): FinishedSpan {
  const id = (i + 1).toString(16).padStart(16, '0');
  return new FinishedSpan(
    'a'.repeat(32),
    id,
    undefined,
    'client',
    1,
    1,
    'GET',
    '/',
    200,
    undefined,
    's',
    undefined,
    1,
  );
}

/** Encodes a batch as the list of span ids so tests can see exactly what was sent. */
const encode = (spans: readonly FinishedSpan[]) => Buffer.from(spans.map((s) => s.spanId).join(','));
const ids = (body: Buffer) => body.toString().split(',').length;

test('a partial batch is sent when the interval passes, not before', async () => {
  const clock = new ManualClock();
  const sent: Buffer[] = [];
  const ex = new BatchExporter({
    clock,
    encode,
    send: async (b) => void sent.push(b),
    maxBatch: 10,
    intervalMs: 1000,
  });
  for (let i = 0; i < 3; i++) ex.enqueue(span(i));
  clock.advance(999);
  await new Promise((r) => setImmediate(r));
  assert.equal(sent.length, 0);
  clock.advance(1);
  await new Promise((r) => setImmediate(r));
  assert.equal(sent.length, 1);
  assert.equal(ids(sent[0]!), 3);
  assert.equal(ex.stats.exported, 3);
  await ex.close();
  assert.equal(clock.pending, 0, 'close cancels the timers');
});

test('a full batch goes out on the next timer turn, never inside enqueue', async () => {
  const clock = new ManualClock();
  const sent: Buffer[] = [];
  const ex = new BatchExporter({
    clock,
    encode,
    send: async (b) => void sent.push(b),
    maxBatch: 4,
    intervalMs: 60_000,
  });
  for (let i = 0; i < 4; i++) ex.enqueue(span(i));
  assert.equal(sent.length, 0, 'nothing is sent synchronously on the request path');
  clock.advance(0);
  await new Promise((r) => setImmediate(r));
  assert.equal(sent.length, 1);
  assert.equal(ids(sent[0]!), 4);
  await ex.close();
});

test('the queue is bounded: overflow is dropped and counted', async () => {
  const clock = new ManualClock();
  let release: () => void = () => {};
  const sent: Buffer[] = [];
  const ex = new BatchExporter({
    clock,
    encode,
    // The collector hangs until released: spans pile up behind the batch in flight.
    send: (b) =>
      new Promise<void>((r) => {
        sent.push(b);
        release = r;
      }),
    maxBatch: 2,
    maxQueue: 5,
    intervalMs: 60_000,
  });
  for (let i = 0; i < 2; i++) ex.enqueue(span(i));
  clock.advance(0);
  await new Promise((r) => setImmediate(r));
  assert.equal(sent.length, 1, 'first batch in flight');
  let accepted = 0;
  for (let i = 0; i < 8; i++) if (ex.enqueue(span(10 + i))) accepted++;
  assert.equal(accepted, 5);
  assert.equal(ex.stats.droppedQueueFull, 3);
  assert.equal(ex.queued, 5);
  release();
  const closing = ex.close();
  // close() drains the rest batch by batch (2 + 2 + 1), releasing each hung send.
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    release();
  }
  await closing;
  assert.equal(sent.length, 4);
  assert.equal(ex.stats.exported, 7);
  assert.equal(ex.enqueue(span(99)), false, 'a closed exporter takes nothing');
});

test('a failing collector costs a counter per batch, and the batch is dropped (no retry)', async () => {
  const clock = new ManualClock();
  let calls = 0;
  const ex = new BatchExporter({
    clock,
    encode,
    send: async () => {
      calls++;
      throw new Error('ECONNREFUSED');
    },
    maxBatch: 3,
    intervalMs: 100,
  });
  for (let i = 0; i < 7; i++) ex.enqueue(span(i));
  clock.advance(100);
  await ex.flush();
  assert.equal(calls, 3);
  assert.deepEqual(ex.stats, { exported: 0, droppedQueueFull: 0, droppedExportFailed: 7, exportFailures: 3 });
  assert.equal(ex.queued, 0);
  clock.advance(1000);
  await new Promise((r) => setImmediate(r));
  assert.equal(calls, 3, 'an empty queue sends nothing');
  await ex.close();
});

test('options are checked when built', () => {
  const clock = new ManualClock();
  assert.throws(
    () => new BatchExporter({ clock, encode, send: async () => {}, maxBatch: 10, maxQueue: 5 }),
    RangeError,
  );
});
