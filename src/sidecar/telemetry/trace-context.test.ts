import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  extract,
  FORMAT_BITS,
  formatsToBits,
  inject,
  parseB3Multi,
  parseB3Single,
  parseTraceparent,
} from './trace-context.ts';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

test('traceparent: valid and invalid inputs', () => {
  const cases: Array<[string, ReturnType<typeof parseTraceparent>]> = [
    [`00-${T}-${S}-01`, { traceId: T, spanId: S, sampled: true }],
    [`00-${T}-${S}-00`, { traceId: T, spanId: S, sampled: false }],
    [`00-${T}-${S}-03`, { traceId: T, spanId: S, sampled: true }], // other flag bits ignored
    [` 00-${T}-${S}-01 `, { traceId: T, spanId: S, sampled: true }], // OWS trimmed
    [`01-${T}-${S}-01-extra`, { traceId: T, spanId: S, sampled: true }], // future version, extra field
    [`00-${T}-${S}-01-extra`, undefined], // version 00 must be exactly 55 chars
    [`01-${T}-${S}-01extra`, undefined], // future version: extra needs a dash
    [`ff-${T}-${S}-01`, undefined], // version ff is forbidden
    [`00-${'0'.repeat(32)}-${S}-01`, undefined], // all-zero trace id
    [`00-${T}-${'0'.repeat(16)}-01`, undefined], // all-zero span id
    [`00-${T.toUpperCase()}-${S}-01`, undefined], // uppercase is invalid
    [`00-${T.slice(1)}-${S}-01`, undefined], // short trace id
    [`00-${T}-${S}-0g`, undefined], // non-hex flags
    [`00_${T}-${S}-01`, undefined], // wrong separator
    ['', undefined],
  ];
  for (const [input, want] of cases) assert.deepEqual(parseTraceparent(input), want, input);
});

test('b3 single: ids, sampling states, decision-only and invalid', () => {
  const ok = (traceId: string, spanId: string, sampled: boolean | undefined) => ({
    traceId,
    spanId,
    sampled,
    traceState: undefined,
    format: 'b3',
  });
  const cases: Array<[string, unknown]> = [
    [`${T}-${S}-1`, ok(T, S, true)],
    [`${T}-${S}-0`, ok(T, S, false)],
    [`${T}-${S}-d`, ok(T, S, true)], // debug implies sampled
    [`${T}-${S}`, ok(T, S, undefined)], // deferred
    [`${T}-${S}-1-05e3ac9a4f6e3b90`, ok(T, S, true)],
    [`a3ce929d0e0e4736-${S}-1`, ok(`0000000000000000a3ce929d0e0e4736`, S, true)], // 64-bit trace id
    [`${T.toUpperCase()}-${S.toUpperCase()}-1`, ok(T, S, true)], // B3 is lenient on case
    ['0', { traceId: undefined, sampled: false, format: 'b3' }],
    ['1', { traceId: undefined, sampled: true, format: 'b3' }],
    ['x', undefined],
    [`${T}-${S}-2`, undefined],
    [`${T}-${S}-1-zz`, undefined],
    [`${T}-short-1`, undefined],
    [`${'0'.repeat(32)}-${S}-1`, undefined],
    [`${T}-${S}-1-${S}-more`, undefined],
  ];
  for (const [input, want] of cases) assert.deepEqual(parseB3Single(input), want, input);
});

test('b3 multi: headers, flags, sampled only, invalid', () => {
  assert.deepEqual(parseB3Multi({ traceId: T, spanId: S, sampled: '1' }), {
    traceId: T,
    spanId: S,
    sampled: true,
    traceState: undefined,
    format: 'b3multi',
  });
  assert.equal(parseB3Multi({ traceId: T, spanId: S, sampled: 'true' })?.sampled, true);
  assert.equal(parseB3Multi({ traceId: T, spanId: S, sampled: '0', flags: '1' })?.sampled, true);
  assert.equal(parseB3Multi({ traceId: T, spanId: S })?.sampled, undefined);
  assert.deepEqual(parseB3Multi({ sampled: '0' }), { traceId: undefined, sampled: false, format: 'b3multi' });
  assert.equal(parseB3Multi({ traceId: T }), undefined); // span id missing
  assert.equal(parseB3Multi({ traceId: 'nothex', spanId: S }), undefined);
  assert.equal(parseB3Multi({}), undefined);
});

test('extract: W3C wins over B3, invalid W3C falls back to B3, header names are case-insensitive', () => {
  const b3 = `${'a'.repeat(32)}-${'b'.repeat(16)}-1`;
  const both = extract(['TraceParent', `00-${T}-${S}-01`, 'B3', b3, 'TraceState', 'k=v']);
  assert.equal(both.present, true);
  assert.deepEqual(both.parent, { traceId: T, spanId: S, sampled: true, traceState: 'k=v', format: 'w3c' });
  const bad = extract(['traceparent', 'garbage', 'b3', b3]);
  assert.equal(bad.parent?.traceId, 'a'.repeat(32));
  assert.equal(bad.parent?.format, 'b3');
  const multi = extract(['X-B3-TraceId', T, 'X-B3-SpanId', S, 'X-B3-Sampled', '0', 'accept', '*/*']);
  assert.deepEqual(multi.parent, {
    traceId: T,
    spanId: S,
    sampled: false,
    traceState: undefined,
    format: 'b3multi',
  });
  const none = extract(['accept', '*/*', 'host', 'x', 'x-forwarded-for', '1.2.3.4']);
  assert.equal(none.present, false);
  assert.equal(none.parent, undefined);
  // Invalid everything: present (so injection removes them) but no parent.
  const junk = extract(['traceparent', 'nope', 'x-b3-traceid', 'zz']);
  assert.equal(junk.present, true);
  assert.equal(junk.formats, FORMAT_BITS.w3c | FORMAT_BITS.b3multi, 'formats seen, valid or not');
  assert.equal(both.formats, FORMAT_BITS.w3c | FORMAT_BITS.b3);
  assert.equal(junk.parent, undefined);
  // Several tracestate headers are one list; an oversized tracestate is dropped.
  assert.equal(
    extract(['traceparent', `00-${T}-${S}-01`, 'tracestate', 'a=1', 'tracestate', 'b=2']).parent?.traceId,
    T,
  );
  const joined = extract(['traceparent', `00-${T}-${S}-01`, 'tracestate', 'a=1', 'tracestate', 'b=2']);
  assert.equal((joined.parent as { traceState?: string }).traceState, 'a=1,b=2');
  const huge = extract(['traceparent', `00-${T}-${S}-01`, 'tracestate', 'x'.repeat(2000)]);
  assert.equal((huge.parent as { traceState?: string }).traceState, undefined);
});

test('inject: removes every old trace header and writes the chosen formats', () => {
  const headers = [
    'accept',
    '*/*',
    'traceparent',
    'old',
    'X-B3-TraceId',
    'old',
    'b3',
    'old',
    'X-B3-Flags',
    '1',
  ];
  const ctx = { traceId: T, spanId: S, parentSpanId: '1111111111111111', sampled: true, traceState: 'k=v' };
  const out = inject(headers, true, ctx, formatsToBits(['w3c', 'b3', 'b3multi']));
  assert.deepEqual(out, [
    'accept',
    '*/*',
    'traceparent',
    `00-${T}-${S}-01`,
    'tracestate',
    'k=v',
    'b3',
    `${T}-${S}-1-1111111111111111`,
    'x-b3-traceid',
    T,
    'x-b3-spanid',
    S,
    'x-b3-sampled',
    '1',
    'x-b3-parentspanid',
    '1111111111111111',
  ]);
  // Nothing present: the same array is extended in place (no copy).
  const plain = ['accept', '*/*'];
  const root = { traceId: T, spanId: S, parentSpanId: undefined, sampled: false, traceState: undefined };
  const same = inject(plain, false, root, FORMAT_BITS.w3c | FORMAT_BITS.b3);
  assert.equal(same, plain);
  assert.deepEqual(same, ['accept', '*/*', 'traceparent', `00-${T}-${S}-00`, 'b3', `${T}-${S}-0`]);
});

test('round trip: what inject writes, extract reads back, in every format', () => {
  const ctx = { traceId: T, spanId: S, parentSpanId: undefined, sampled: true, traceState: undefined };
  for (const f of ['w3c', 'b3', 'b3multi'] as const) {
    const back = extract(inject([], false, ctx, FORMAT_BITS[f]));
    assert.equal(back.parent?.traceId, T, f);
    assert.equal((back.parent as { spanId: string }).spanId, S, f);
    assert.equal(back.parent?.sampled, true, f);
    assert.equal(back.parent?.format, f);
  }
});
