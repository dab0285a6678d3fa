import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { extract, FORMAT_BITS, inject, TRACE_HEADERS } from './trace-context.ts';

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const traceName = fc.constantFrom(...TRACE_HEADERS, 'TraceParent', 'X-B3-TraceId', 'B3');
const header = fc.tuple(
  fc.oneof(traceName, fc.constantFrom('host', 'accept', 'x-other', 'b', 't')),
  fc.string(),
);

test('property: any header list extracts without throwing, and injection leaves exactly our trace headers', () => {
  fc.assert(
    fc.property(
      fc.array(header, { maxLength: 12 }),
      hex(32),
      hex(16),
      fc.boolean(),
      fc.integer({ min: 1, max: 7 }),
      (pairs, traceId, spanId, sampled, formats) => {
        const headers = pairs.flat();
        const found = extract(headers);
        if (found.parent?.traceId !== undefined) assert.match(found.parent.traceId, /^[0-9a-f]{32}$/);
        const ctx = {
          traceId: `1${traceId.slice(1)}`,
          spanId: `1${spanId.slice(1)}`,
          parentSpanId: undefined,
          sampled,
          traceState: undefined,
        };
        const out = inject([...headers], found.present, ctx, formats);
        const names = out.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
        const count = (n: string) => names.filter((x) => x === n).length;
        assert.equal(count('traceparent'), formats & FORMAT_BITS.w3c ? 1 : 0);
        assert.equal(count('b3'), formats & FORMAT_BITS.b3 ? 1 : 0);
        assert.equal(count('x-b3-traceid'), formats & FORMAT_BITS.b3multi ? 1 : 0);
        assert.equal(count('tracestate'), 0, 'an old tracestate never survives next to a new traceparent');
        // Non-trace headers are kept, in order.
        const others = headers.filter((_, i) => i % 2 === 0 && !TRACE_HEADERS.has(headers[i]!.toLowerCase()));
        assert.deepEqual(
          names.filter((n) => !TRACE_HEADERS.has(n)),
          others.map((n) => n.toLowerCase()),
        );
        // What we wrote reads back as our own context.
        const back = extract(out).parent;
        assert.equal(back?.traceId, ctx.traceId);
        assert.equal(back?.sampled, sampled);
      },
    ),
    { numRuns: 500 },
  );
});
