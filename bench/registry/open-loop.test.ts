// The registry benchmark's open-loop scheduler: never sends early, records only the window after
// the warm-up, and charges a stall to the requests it delayed. Not part of `npm test`:
// `node --import tsx --test bench/registry/open-loop.test.ts`. Only lower bounds on time are
// asserted (a busy machine makes things later, never earlier).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runOpenLoop, waitUntil } from './open-loop.ts';

test('waitUntil never resolves before the due time', async () => {
  for (const ahead of [0, 0.3, 1.2, 2.5, 7]) {
    const due = performance.now() + ahead;
    await waitUntil(due);
    assert.ok(performance.now() >= due, `resolved early for ${ahead} ms ahead`);
  }
});

test('records only the window after the warm-up, one sample per request, none negative', async () => {
  let sent = 0;
  const r = await runOpenLoop({ rate: 200, seconds: 0.5, warmupS: 0.25 }, async () => {
    sent++;
    await new Promise((res) => setImmediate(res));
    return true;
  });
  assert.equal(sent, 150); // 0.75 s at 200/s, all sent
  assert.equal(r.ok, 100); // 0.5 s recorded
  assert.equal(r.failed, 0);
  assert.equal(r.latencies.length, 100);
  assert.equal(r.sendLateness.length, 100);
  assert.ok(r.latencies.every((x) => x >= 0));
  assert.ok(r.sendLateness.every((x) => x >= 0));
  assert.equal(r.fromSend.length, 100);
  assert.ok(r.fromSend.every((x) => x >= 0));
});

test('a stall is charged to the requests it delayed (no coordinated omission)', async () => {
  let k = 0;
  const r = await runOpenLoop({ rate: 100, seconds: 0.3, warmupS: 0 }, async () => {
    if (k++ === 5) {
      const until = performance.now() + 60; // block the loop: the next ~6 sends are late
      while (performance.now() < until);
    }
    return true;
  });
  assert.equal(r.latencies.length, 30);
  // request 6 was due 10 ms after request 5 but could not go before 60 ms had passed
  assert.ok(r.sendLateness[6]! >= 49, `lateness of request 6: ${r.sendLateness[6]}`);
  assert.ok(r.latencies[6]! >= r.sendLateness[6]!);
  // measured from its actual send, request 6 did not wait for the stall
  assert.ok(r.fromSend[6]! < r.latencies[6]!);
});

test('failures are counted with the first reason; a bad rate is refused', async () => {
  let k = 0;
  const r = await runOpenLoop({ rate: 500, seconds: 0.1, warmupS: 0 }, async () => {
    k++;
    if (k === 3) throw new Error('boom');
    return k % 2 === 0 ? 'find HTTP 500' : true;
  });
  assert.equal(r.ok + r.failed, 50);
  assert.equal(r.firstError, 'find HTTP 500');
  assert.ok(r.failed >= 25);
  await assert.rejects(
    runOpenLoop({ rate: 0, seconds: 1, warmupS: 0 }, async () => true),
    RangeError,
  );
});
