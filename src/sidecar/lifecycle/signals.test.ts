/**
 * Signal handling without real signals: an EventEmitter stands in for `process`, exit is recorded.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { handleShutdownSignals, signalExitCode } from './signals.ts';

function harness(onSignal: () => Promise<number>, deadlineMs = 10_000) {
  const source = new EventEmitter();
  const exits: number[] = [];
  const forced: string[] = [];
  const lines: string[] = [];
  const off = handleShutdownSignals({
    name: 'mesher test',
    onSignal,
    onForce: (r) => forced.push(r),
    deadlineMs,
    source: source as unknown as NodeJS.Process,
    exit: (c) => exits.push(c),
    write: (l) => lines.push(l),
  });
  return { source, exits, forced, lines, off };
}

test('first signal runs the graceful path and exits with its code', async () => {
  const h = harness(async () => 0);
  h.source.emit('SIGTERM', 'SIGTERM');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(h.exits, [0]);
  assert.match(h.lines[0] ?? '', /SIGTERM, shutting down gracefully/);
  h.off();
});

test('a second signal forces an exit at once with 128+n', async () => {
  let calls = 0;
  const h = harness(() => {
    calls++;
    return new Promise<number>(() => {});
  });
  h.source.emit('SIGTERM', 'SIGTERM');
  h.source.emit('SIGINT', 'SIGINT');
  assert.equal(calls, 1);
  assert.deepEqual(h.exits, [130]);
  assert.deepEqual(h.forced, ['signal']);
  h.off();
});

test('the hard deadline exits 1', async () => {
  const h = harness(() => new Promise<number>(() => {}), 30);
  h.source.emit('SIGINT', 'SIGINT');
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(h.exits, [1]);
  assert.deepEqual(h.forced, ['deadline']);
  h.off();
});

test('a failing graceful path exits 1', async () => {
  const h = harness(async () => {
    throw new Error('boom');
  });
  h.source.emit('SIGTERM', 'SIGTERM');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(h.exits, [1]);
  assert.match(h.lines.at(-1) ?? '', /boom/);
  h.off();
});

test('signalExitCode follows the shell convention', () => {
  assert.equal(signalExitCode('SIGTERM'), 143);
  assert.equal(signalExitCode('SIGINT'), 130);
});
