import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CallContext } from '../chain/types.ts';
import { createRandomIds, createSequentialIds } from './ids.ts';
import { Tracer, type TraceSlot } from './tracer.ts';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

function call(headers: string[]): CallContext {
  return { headers } as unknown as CallContext;
}
function slot(): TraceSlot {
  return { traceId: undefined, spanId: undefined, parentSpanId: undefined, sampled: false };
}
function header(c: CallContext, name: string): string | undefined {
  const i = c.headers.findIndex((h, j) => j % 2 === 0 && h.toLowerCase() === name);
  return i < 0 ? undefined : c.headers[i + 1];
}

test('joins a W3C trace: same trace id, caller as parent, our span id forwarded', () => {
  const tracer = new Tracer({
    samplingRate: 0,
    propagation: ['w3c', 'b3multi'],
    ids: createSequentialIds(),
    random: () => 0.5,
    exporter: undefined,
  });
  const c = call(['traceparent', `00-${T}-${S}-01`, 'tracestate', 'vendor=1']);
  const s = slot();
  tracer.begin(c, s);
  assert.equal(s.traceId, T);
  assert.equal(s.parentSpanId, S);
  assert.equal(s.sampled, true, "the caller's decision wins over samplingRate 0");
  assert.equal(s.spanId, '0000000000000001');
  assert.equal(header(c, 'traceparent'), `00-${T}-0000000000000001-01`);
  assert.equal(header(c, 'tracestate'), 'vendor=1');
  assert.equal(header(c, 'x-b3-traceid'), T);
  assert.equal(header(c, 'x-b3-parentspanid'), S);
  assert.equal(c.headers.filter((h) => h === 'traceparent').length, 1, 'the old traceparent is gone');
});

test('B3 single input is answered in b3 single too (plus the configured formats)', () => {
  const tracer = new Tracer({
    samplingRate: 1,
    propagation: ['w3c'],
    ids: createSequentialIds(),
    random: () => 0.5,
    exporter: undefined,
  });
  const c = call(['b3', `${T}-${S}-0`]);
  const s = slot();
  tracer.begin(c, s);
  assert.equal(s.sampled, false, 'b3 "0" is honoured even at samplingRate 1');
  assert.equal(header(c, 'b3'), `${T}-0000000000000001-0-${S}`);
  assert.equal(header(c, 'traceparent'), `00-${T}-0000000000000001-00`);
});

test('root decisions follow samplingRate; a deferred B3 parent is decided here', () => {
  const ids = createRandomIds();
  let r = 0;
  const seq = [0.1, 0.9];
  const tracer = new Tracer({
    samplingRate: 0.5,
    propagation: ['w3c'],
    ids,
    random: () => seq[r++ % 2]!,
    exporter: undefined,
  });
  const a = slot();
  const b = slot();
  tracer.begin(call([]), a);
  tracer.begin(call([]), b);
  assert.equal(a.sampled, true);
  assert.equal(b.sampled, false);
  assert.equal(a.parentSpanId, undefined);
  assert.match(a.traceId!, /^[0-9a-f]{32}$/);
  assert.notEqual(a.traceId, b.traceId);
  const d = slot();
  tracer.begin(call(['X-B3-TraceId', T, 'X-B3-SpanId', S]), d);
  assert.equal(d.traceId, T);
  assert.equal(d.sampled, true, 'no X-B3-Sampled: decided by samplingRate (0.1 < 0.5)');
  const none = slot();
  tracer.begin(call(['b3', '0']), none);
  assert.equal(none.sampled, false, 'decision-only b3: new trace, not sampled');
  assert.match(none.traceId!, /^[0-9a-f]{32}$/);
});

test('random ids are hex of the right length and distinct', () => {
  const ids = createRandomIds();
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const s = ids.spanId();
    assert.match(s, /^[0-9a-f]{16}$/);
    seen.add(s);
  }
  assert.equal(seen.size, 2000);
  assert.match(ids.traceId(), /^[0-9a-f]{32}$/);
});
