// The registry report's side-by-side table (`bench:registry -- --etcd`). Not part of `npm test`:
// `node --import tsx --test bench/registry/report.test.ts`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareTable, type RegistryFigures } from './report.ts';

const cpu = { registry: 0.5, client: 0.2, store: 0.3 };
const base: RegistryFigures = {
  replicas: 1,
  registrationsPerS: 1000,
  registrationErrors: 0,
  registrationCpu: cpu,
  heartbeatsPerS: 12_000,
  heartbeatErrors: 0,
  heartbeatCpu: cpu,
  finds: [{ rate: 200, p50: 0.5, p99: 1.5, errors: 0 }],
  findsPerS: 5000,
  findCpu: cpu,
  watchP50: 3,
  watchP99: 10,
  watchMissed: 0,
  rssAtN: 100,
  rssAfterLoad: 110,
  rssAtMax: 200,
  peakRss: 210,
  storeRssAtN: 150,
  storeRssAtMax: 300,
};

test('one column per deployment, verdicts per cell, cross-replica rows only where measured', () => {
  const three = { ...base, replicas: 3, crossWatch: { p50: 20, p99: 120, missed: 0 } };
  const t = compareTable(
    [
      { label: '1 replica', figures: base },
      { label: '3 replicas', figures: three },
    ],
    10_000,
    100_000,
  );
  const lines = t.split('\n');
  assert.match(lines[0]!, /\| measure +\| +1 replica \| +3 replicas \| +target \|/);
  const cross = lines.find((l) => l.startsWith('| watch delay across replicas p99'));
  assert.ok(cross);
  assert.match(cross, /\| +– \| +120\.00 ms \(MISSED\) \| +≤ 100 ms \|/);
  // cross-replica rows sit with the other watch rows, before the RSS rows
  const idx = (s: string) => lines.findIndex((l) => l.startsWith(`| ${s}`));
  assert.ok(idx('watch delay across replicas p50') > idx('watch delay p99'));
  assert.ok(idx('watch delay across replicas p99') < idx('RSS at 10k'));
  assert.match(lines[idx('heartbeats/s')]!, /12000 · CPU registry 50% \/ etcd 30% \/ client 20% \(met\)/);
  assert.match(lines[idx('etcd RSS at 100k')]!, /300 MB/);
});
