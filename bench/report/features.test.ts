// The telemetry-cost table's arithmetic and the bench flags that select it. Not part of
// `npm test` (bench/ is a script tree): `node --import tsx --test bench/report/features.test.ts`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from '../lib/args.ts';
import type { SliceRecord } from '../lib/plan.ts';
import { FEATURE_SCENARIOS } from '../lib/scenario.ts';
import { featureCosts, featureTable } from './features.ts';
import { summarise } from './summary.ts';

function slice(scenario: string, measure: string, round: number, x: Partial<SliceRecord>): SliceRecord {
  return { round, scenario, measure, requests: 1000, errors: 0, rps: 0, cpuPer1k: 0, rssMb: 50, ...x };
}

test('ratios and latency differences are taken per round against mesher1-off, then the median', () => {
  const plan = [
    { kind: 'wrk', id: 'max 1k c64', body: '1k', connections: 64 },
    { kind: 'rate', id: '1000 rps 1k', body: '1k', rate: 1000 },
  ] as const;
  const slices: SliceRecord[] = [];
  // round 0: the machine is fast; round 1: everything at half speed; round 2: fast again
  for (const [round, speed] of [
    [0, 1],
    [1, 0.5],
    [2, 1],
  ] as const) {
    slices.push(slice('direct', '1000 rps 1k', round, { p50: 0.1, p99: 1 }));
    slices.push(slice('mesher1-off', 'max 1k c64', round, { rps: 4000 * speed }));
    slices.push(slice('mesher1-off', '1000 rps 1k', round, { cpuPer1k: 0.2 / speed, p50: 1, p99: 5 }));
    slices.push(slice('mesher1-trace1', 'max 1k c64', round, { rps: 3000 * speed }));
    slices.push(
      slice('mesher1-trace1', '1000 rps 1k', round, { cpuPer1k: 0.3 / speed, p50: 1.5, p99: 5 + round }),
    );
  }
  const scenarios = ['direct', 'mesher1-off', 'mesher1-trace1'].map((id) => ({ id, label: id }));
  const summary = summarise(scenarios, plan, slices, {});
  const rows = featureCosts(summary, slices);
  assert.ok(rows);
  assert.deepEqual(
    rows.map((r) => r.id),
    ['mesher1-off', 'mesher1-trace1'],
  );
  const t = rows[1]!;
  assert.equal(t.rpsRatio, 0.75);
  assert.ok(Math.abs(t.cpuRatio - 1.5) < 1e-9);
  assert.equal(t.p50Added, 0.5);
  assert.equal(t.p99Added, 1); // differences 0, 1, 2 → median 1
  assert.match(featureTable(rows), /tracing, 1% sampled \(mesher1-trace1\) \|\s+3000 \|\s+0\.75 \|/);
});

test('no table without the all-off baseline', () => {
  const summary = summarise([{ id: 'mesher1', label: 'm' }], [], [], {});
  assert.equal(featureCosts(summary, []), undefined);
});

test('the default run includes the telemetry variants; --features runs only them; --no-features drops them', () => {
  const all = parseArgs([]);
  for (const id of FEATURE_SCENARIOS) assert.ok(all.scenarios.includes(id));
  assert.equal(all.rounds, 3);
  const only = parseArgs(['--features']);
  assert.deepEqual(only.scenarios, ['direct', ...FEATURE_SCENARIOS]);
  assert.equal(only.features, true);
  assert.equal(only.rounds, 7);
  const none = parseArgs(['--no-features']);
  assert.ok(none.scenarios.includes('mesher2'));
  assert.ok(!none.scenarios.some((s) => (FEATURE_SCENARIOS as readonly string[]).includes(s)));
  assert.throws(() => parseArgs(['--features', '--no-features']), /exclude each other/);
});
