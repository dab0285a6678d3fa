import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type BodyDecoder,
  bodyDecoder,
  CHUNK_END,
  chunkHeader,
  type Framing,
  H1Error,
} from './body-codec.ts';

/** Feeds `wire` split at `cuts`; returns the payload and where the body ended in `wire`. */
function decode(
  framing: Framing,
  wire: Buffer,
  cuts: number[] = [],
): { payload: Buffer; end: number; d: BodyDecoder } {
  const d = bodyDecoder(framing);
  const parts: Buffer[] = [];
  const bounds = [...new Set(cuts.filter((c) => c > 0 && c < wire.length))].sort((a, b) => a - b);
  let start = 0;
  let end = -1;
  for (const stop of [...bounds, wire.length]) {
    const piece = wire.subarray(start, stop);
    const at = d.feed(piece, 0, (p) => parts.push(Buffer.from(p)));
    if (d.done && end < 0) {
      end = start + at;
      break;
    }
    assert.equal(at, piece.length, 'an unfinished body consumes the whole read');
    start = stop;
  }
  return { payload: Buffer.concat(parts), end, d };
}

function chunked(payload: Buffer, sizes: number[], ext: string[], trailers: string): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  let k = 0;
  while (at < payload.length) {
    const n = Math.min(Math.max(1, sizes[k % sizes.length] ?? 1), payload.length - at);
    const e = ext[k % Math.max(1, ext.length)] ?? '';
    out.push(Buffer.from(`${n.toString(16)}${e}\r\n`), payload.subarray(at, at + n), Buffer.from('\r\n'));
    at += n;
    k++;
  }
  out.push(Buffer.from(`0\r\n${trailers}\r\n`));
  return Buffer.concat(out);
}

test('content-length: stops at the length and leaves the next message', () => {
  const wire = Buffer.from('helloGET / HTTP/1.1\r\n');
  const d = bodyDecoder({ kind: 'length', length: 5 });
  const got: Buffer[] = [];
  assert.equal(
    d.feed(wire, 0, (p) => got.push(p)),
    5,
  );
  assert.equal(d.done, true);
  assert.equal(Buffer.concat(got).toString(), 'hello');
});

test('none is done at once; close takes everything and never finishes', () => {
  const n = bodyDecoder({ kind: 'none' });
  assert.equal(n.done, true);
  assert.equal(
    n.feed(Buffer.from('x'), 0, () => assert.fail('no payload')),
    0,
  );
  const c = bodyDecoder({ kind: 'close' });
  const got: string[] = [];
  assert.equal(
    c.feed(Buffer.from('abcdef'), 2, (p) => got.push(p.toString())),
    6,
  );
  assert.deepEqual(got, ['cdef']);
  assert.equal(c.done, false);
});

test('chunked with extensions and trailers, then a pipelined message', () => {
  const wire = Buffer.from('5;a=b\r\nhello\r\n1 ; x="y"\r\n!\r\n0\r\nX-T: 1\r\nY: z\r\n\r\nNEXT');
  const { payload, end } = decode({ kind: 'chunked' }, wire);
  assert.equal(payload.toString(), 'hello!');
  assert.equal(wire.subarray(end).toString(), 'NEXT');
});

test('chunkHeader and CHUNK_END encode what the decoder reads', () => {
  assert.equal(chunkHeader(26), '1a\r\n');
  const wire = Buffer.concat([Buffer.from(chunkHeader(3)), Buffer.from('abc\r\n'), CHUNK_END]);
  const { payload, end } = decode({ kind: 'chunked' }, wire);
  assert.equal(payload.toString(), 'abc');
  assert.equal(end, wire.length);
});

const malformed: Array<[string, string, string]> = [
  ['no size', '\r\nabc\r\n0\r\n\r\n', 'BAD_CHUNK'],
  ['non-hex size', 'g\r\n', 'BAD_CHUNK'],
  ['negative size', '-1\r\n', 'BAD_CHUNK'],
  ['0x prefix', '0x5\r\nhello\r\n0\r\n\r\n', 'BAD_CHUNK'],
  ['bare LF after size', '5\nhello\r\n0\r\n\r\n', 'BAD_CHUNK'],
  ['CR without LF', '5\rhello', 'BAD_CHUNK'],
  ['data too long', '2\r\nabc\r\n0\r\n\r\n', 'BAD_CHUNK'],
  ['space then no extension', '5 \r\nhello\r\n0\r\n\r\n', 'BAD_CHUNK'],
  ['space then junk', '5 x\r\nhello\r\n0\r\n\r\n', 'BAD_CHUNK'],
  ['huge size', 'fffffffffffffff\r\n', 'CHUNK_TOO_LARGE'],
  ['bare LF after data', '1\r\na\n0\r\n\r\n', 'BAD_CHUNK'],
  ['control char in extension', '1;a\x00\r\na\r\n0\r\n\r\n', 'BAD_CHUNK'],
  ['obs-fold in trailer', '0\r\nA: 1\r\n b\r\n\r\n', 'BAD_TRAILER'],
  ['bare LF in trailer', '0\r\nA: 1\nB: 2\r\n\r\n', 'BAD_TRAILER'],
  ['bare LF ending trailers', '0\r\n\n', 'BAD_TRAILER'],
  ['CR without LF at the end', '0\r\n\rx', 'BAD_CHUNK'],
];
for (const [name, wire, code] of malformed) {
  test(`malformed chunked (${name}) throws ${code}`, () => {
    assert.throws(
      () => decode({ kind: 'chunked' }, Buffer.from(wire, 'latin1')),
      (e: unknown) => e instanceof H1Error && e.code === code,
    );
  });
}

test('bounds: chunk line and trailer section', () => {
  const d = bodyDecoder({ kind: 'chunked' }, { maxChunkLineBytes: 8, maxTrailerBytes: 10 });
  assert.throws(
    () => d.feed(Buffer.from('1;aaaaaaaaaa\r\n'), 0, () => {}),
    (e: unknown) => e instanceof H1Error && e.code === 'CHUNK_LINE_TOO_LONG',
  );
  const t = bodyDecoder({ kind: 'chunked' }, { maxTrailerBytes: 10 });
  assert.throws(
    () => t.feed(Buffer.from('0\r\nX-Long-Trailer: 1\r\n\r\n'), 0, () => {}),
    (e: unknown) => e instanceof H1Error && e.code === 'TRAILERS_TOO_LARGE',
  );
  assert.throws(() => bodyDecoder({ kind: 'length', length: -1 }), H1Error);
});

test('property: any payload, chunking, extensions, trailers and read splits decode exactly', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 600 }),
      fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.constantFrom('', ';a', ';a=b', ' ;x="q r"', '\t;n=1;m'), { maxLength: 4 }),
      fc.constantFrom('', 'X-Sum: 1\r\n', 'A: b\r\nC: d e\r\n'),
      fc.array(fc.nat(1200), { maxLength: 10 }),
      fc.uint8Array({ maxLength: 20 }),
      (bytes, sizes, ext, trailers, cuts, tail) => {
        const payload = Buffer.from(bytes);
        const body = chunked(payload, sizes, ext, trailers);
        const wire = Buffer.concat([body, Buffer.from(tail)]);
        const got = decode({ kind: 'chunked' }, wire, cuts);
        assert.deepEqual(got.payload, payload);
        assert.equal(got.end, body.length);
        const len = decode({ kind: 'length', length: payload.length }, wire, cuts);
        if (payload.length > 0) {
          assert.deepEqual(len.payload, wire.subarray(0, payload.length));
          assert.equal(len.end, payload.length);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('property: corrupting one byte of the framing throws H1Error or changes nothing silently', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 50 }),
      fc.nat(),
      fc.constantFrom(0x0a, 0x00, 0x20, 0x67),
      (bytes, pos, bad) => {
        const payload = Buffer.from(bytes);
        const body = chunked(payload, [7], [], '');
        // corrupt a byte of a size line or a CRLF, never payload data
        const framingAt: number[] = [];
        let at = 0;
        while (at < body.length) {
          const lineEnd = body.indexOf('\r\n', at);
          for (let k = at; k < lineEnd + 2; k++) framingAt.push(k);
          const size = Number.parseInt(body.subarray(at, lineEnd).toString(), 16);
          if (size === 0) break;
          at = lineEnd + 2 + size;
          framingAt.push(at, at + 1);
          at += 2;
        }
        const idx = framingAt[pos % framingAt.length]!;
        if (body[idx] === bad) return;
        const wire = Buffer.from(body);
        wire[idx] = bad;
        try {
          const got = decode({ kind: 'chunked' }, wire);
          // A corrupted hex digit may still be a valid (different) size; then the payload must differ or not be done.
          assert.ok(got.end < 0 || !got.payload.equals(payload) || got.end !== body.length);
        } catch (e) {
          assert.ok(e instanceof H1Error, String(e));
        }
      },
    ),
    { numRuns: 300 },
  );
});
