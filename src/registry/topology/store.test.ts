/**
 * The topology store and its aggregation on a ManualClock: increases and rates from counter
 * deltas, counter resets (epoch change and counters going down), first reports of new sidecars,
 * inbound fill-in for callers without a sidecar, expiry after 3 silent intervals, and the bounds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { isRegistryError } from '../errors.ts';
import { aggregateEdges, quantileMs } from './aggregate.ts';
import { type EdgeCounters, LATENCY_BUCKETS, type TopologyReport } from './report.ts';
import { TopologyStore } from './store.ts';

const T = 'default/default';

function edge(
  source: string,
  destination: string,
  requests: number,
  errors = 0,
  direction: 'outbound' | 'inbound' = 'outbound',
  bucket = 4,
  version = '1.0.0',
): EdgeCounters {
  const latency = new Array<number>(LATENCY_BUCKETS).fill(0);
  latency[bucket] = requests;
  return { direction, source, destination, version, requests, errors, latency };
}

function report(epoch: string, uptimeMs: number, edges: EdgeCounters[], name = 'client'): TopologyReport {
  return {
    epoch,
    uptimeMs,
    intervalMs: 10_000,
    service: { name, app: 'default', version: '1.0.0', environment: '' },
    edges,
  };
}

const only = (store: TopologyStore, windowMs: number) =>
  aggregateEdges(store.reporters(T), store.clock.now(), windowMs);

test('rate = counter increase over the span the reports cover', () => {
  const clock = new ManualClock();
  const store = new TopologyStore({ clock });
  // The sidecar's counters began 5 min ago (before the window): the first report is a base only.
  store.put(T, 'r1', report('e1', 300_000, [edge('client', 'server1', 1000, 10)]));
  assert.deepEqual(only(store, 60_000), [], 'one snapshot covers no time');
  clock.advance(10_000);
  store.put(T, 'r1', report('e1', 310_000, [edge('client', 'server1', 1200, 14)]));
  const [e] = only(store, 60_000);
  assert.equal(e!.requests, 200);
  assert.equal(e!.errors, 4);
  assert.equal(e!.rps, 20);
  assert.equal(e!.errorRatio, 0.02);
  assert.equal(e!.observedBy, 'source');
});

test('a sidecar that started inside the window counts from zero at its start', () => {
  const clock = new ManualClock();
  const store = new TopologyStore({ clock });
  store.put(T, 'r1', report('e1', 4000, [edge('client', 'server1', 40)]));
  const [e] = only(store, 60_000);
  assert.equal(e!.requests, 40);
  assert.equal(e!.rps, 10, '40 requests over the 4 s since the counters began');
});

test('a restart (new epoch) counts the new counters from zero, keeping the old increase', () => {
  const clock = new ManualClock();
  const store = new TopologyStore({ clock });
  store.put(T, 'r1', report('e1', 100_000, [edge('client', 'server1', 500)]));
  clock.advance(10_000);
  store.put(T, 'r1', report('e1', 110_000, [edge('client', 'server1', 600)]));
  clock.advance(10_000);
  // Restarted 2 s ago with the same reporter id: counters are small again.
  store.put(T, 'r1', report('e2', 2000, [edge('client', 'server1', 30)]));
  const [e] = only(store, 60_000);
  assert.equal(e!.requests, 100 + 30);
});

test('a counter that goes down in the same epoch is treated as a reset', () => {
  const clock = new ManualClock();
  const store = new TopologyStore({ clock });
  store.put(T, 'r1', report('e1', 100_000, [edge('client', 'server1', 500)]));
  clock.advance(10_000);
  store.put(T, 'r1', report('e1', 110_000, [edge('client', 'server1', 20)]));
  assert.equal(only(store, 60_000)[0]!.requests, 20);
});

test('the window picks the base snapshot: older increases fall out', () => {
  const clock = new ManualClock();
  const store = new TopologyStore({ clock });
  let n = 0;
  for (let i = 0; i <= 12; i++) {
    store.put(T, 'r1', report('e1', 1_000_000 + i * 10_000, [edge('client', 'server1', n)]));
    n += i < 6 ? 100 : 10; // 10 rps for the first minute, 1 rps after
    clock.advance(10_000);
  }
  const recent = only(store, 30_000)[0]!;
  // Base: the last snapshot at or before now-30s (t=100 s); newest t=120 s: 2 intervals of 10.
  assert.equal(recent.requests, 20);
  assert.equal(recent.rps, 1);
  const all = only(store, 300_000)[0]!;
  assert.equal(all.requests, n - 10);
});

test('inbound counts stand in only for callers no sidecar reports as outbound', () => {
  const clock = new ManualClock();
  const store = new TopologyStore({ clock });
  store.put(T, 'c', report('e1', 5000, [edge('client', 'server1', 50)], 'client'));
  store.put(
    T,
    's1',
    report(
      'e1',
      5000,
      [edge('client', 'server1', 50, 0, 'inbound'), edge('unknown', 'server1', 7, 2, 'inbound')],
      'server1',
    ),
  );
  const edges = only(store, 60_000);
  assert.deepEqual(
    edges.map((e) => [e.source, e.destination, e.requests, e.observedBy]),
    [
      ['client', 'server1', 50, 'source'],
      ['unknown', 'server1', 7, 'destination'],
    ],
  );
});

test('percentiles interpolate inside the summed buckets', () => {
  const l = new Array<number>(LATENCY_BUCKETS).fill(0);
  l[4] = 100; // all in (5, 10] ms
  assert.equal(quantileMs(l, 0.5), 7.5);
  assert.equal(quantileMs(l, 0.99), 9.95);
  assert.equal(quantileMs(new Array<number>(LATENCY_BUCKETS).fill(0), 0.5), null);
  const slow = new Array<number>(LATENCY_BUCKETS).fill(0);
  slow[LATENCY_BUCKETS - 1] = 1;
  assert.equal(quantileMs(slow, 0.99), 30_000, 'the open bucket reports its lower bound');
});

test('reporters silent for more than 3 intervals expire', () => {
  const clock = new ManualClock();
  const store = new TopologyStore({ clock });
  store.put(T, 'r1', report('e1', 1000, [edge('client', 'server1', 1)]));
  clock.advance(30_000);
  assert.equal(store.reporters(T).length, 1, 'exactly 3 intervals: still live');
  clock.advance(1);
  assert.equal(store.reporters(T).length, 0);
  assert.equal(store.storedEdges, 0);
});

test('bounds: reporters, stored edges, snapshots per reporter', () => {
  const clock = new ManualClock();
  const store = new TopologyStore({ clock, maxReporters: 2, maxStoredEdges: 5 });
  store.put(T, 'a', report('e1', 1000, [edge('a', 'x', 1)]));
  store.put(T, 'b', report('e1', 1000, [edge('b', 'x', 1)]));
  assert.throws(
    () => store.put(T, 'c', report('e1', 1000, [])),
    (e: unknown) => isRegistryError(e) && e.code === 400100,
  );
  const many = [1, 2, 3, 4].map((i) => edge('a', `y${i}`, 1));
  // 'a' loses its old snapshot to fit the new one (1 + 4 edges)…
  store.put(T, 'a', report('e1', 2000, many));
  assert.equal(store.storedEdges, 5);
  // …but six edges can never fit beside b's one.
  assert.throws(
    () => store.put(T, 'a', report('e1', 3000, [...many, edge('a', 'y5', 1), edge('a', 'y6', 1)])),
    (e: unknown) => isRegistryError(e) && e.code === 400100,
  );

  const thin = new TopologyStore({ clock, maxSnapshots: 4, maxWindowMs: 300_000 });
  for (let i = 0; i < 100; i++) {
    thin.put(T, 'r', report('e1', 1000 + i * 100, [edge('c', 's', i)]));
    clock.advance(100); // far below the 10 s spacing: the newest replaces its predecessor
  }
  assert.ok(thin.storedEdges <= 4, `stored ${thin.storedEdges}`);
  for (let i = 0; i < 100; i++) {
    thin.put(T, 'r', report('e1', 20_000 + i * 20_000, [edge('c', 's', i)]));
    clock.advance(20_000);
  }
  assert.ok(thin.storedEdges <= 4, `stored ${thin.storedEdges}`);
});

test('a reporter whose edge keys churn past the intern bound starts afresh (memory stays bounded)', () => {
  const clock = new ManualClock();
  const store = new TopologyStore({ clock });
  for (let round = 0; round < 5; round++) {
    const edges = Array.from({ length: 1000 }, (_, i) => edge('c', `d${round}-${i}`, 1));
    store.put(T, 'r', report('e1', 1000 + round, edges));
    clock.advance(20_000);
  }
  const [r] = store.reporters(T);
  assert.ok(r!.metas.length <= 4000, `interned ${r!.metas.length}`);
  assert.ok(store.storedEdges <= 4000, `stored ${store.storedEdges}`);
});
