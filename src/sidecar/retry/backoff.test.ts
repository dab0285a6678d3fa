import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scriptedRandom, seededRandom } from '../policy/seeded-random.ts';
import { createBackoff } from './backoff.ts';

test('exponential without jitter doubles up to the cap', () => {
  const b = createBackoff(
    { kind: 'exponential', minMs: 10, maxMs: 100, jitter: 'none' },
    { random: Math.random },
  );
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 1000].map((n) => b.delayMs(n)),
    [10, 20, 40, 80, 100, 100, 100],
  );
});

test('full jitter is uniform in [0, d]; equal jitter in [d/2, d]', () => {
  const full = createBackoff(
    { kind: 'exponential', minMs: 100, maxMs: 1000, jitter: 'full' },
    { random: scriptedRandom([0, 0.5, 0.999999]) },
  );
  assert.deepEqual([full.delayMs(1), full.delayMs(2), full.delayMs(3)], [0, 100, 400]);
  const equal = createBackoff(
    { kind: 'exponential', minMs: 100, maxMs: 1000, jitter: 'equal' },
    { random: scriptedRandom([0, 1 - 1e-9]) },
  );
  assert.deepEqual([equal.delayMs(1), equal.delayMs(1)], [50, 100]);
});

test('property: jittered delays never exceed maxMs', () => {
  const rnd = seededRandom(42);
  for (const jitter of ['full', 'equal'] as const) {
    const b = createBackoff({ kind: 'exponential', minMs: 7, maxMs: 333, jitter }, { random: rnd });
    for (let n = 1; n < 200; n++) {
      const d = b.delayMs(n);
      assert.ok(d >= 0 && d <= 333 && Number.isInteger(d), `${jitter} ${n} ${d}`);
    }
  }
});

test('constant and zero', () => {
  const c = createBackoff(
    { kind: 'constant', minMs: 250, maxMs: 1000, jitter: 'full' },
    { random: Math.random },
  );
  assert.deepEqual([c.delayMs(1), c.delayMs(9)], [250, 250]);
  const z = createBackoff({ kind: 'zero', minMs: 0, maxMs: 0, jitter: 'full' }, { random: Math.random });
  assert.equal(z.delayMs(5), 0);
});

test('validation', () => {
  assert.throws(
    () =>
      createBackoff({ kind: 'exponential', minMs: 10, maxMs: 5, jitter: 'full' }, { random: Math.random }),
    /maxMs/,
  );
  assert.throws(
    () => createBackoff({ kind: 'constant', minMs: -1, maxMs: 5, jitter: 'full' }, { random: Math.random }),
    /minMs/,
  );
});
