import assert from 'node:assert/strict';
import { test } from 'node:test';
import { H1Error } from './body-codec.ts';
import { parseResponseHead } from './response-head.ts';

const parse = (s: string, head = false) => parseResponseHead(Buffer.from(s, 'latin1'), 0, head);

test('status line, raw headers in order with case, framing by content-length', () => {
  const wire =
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length:  5 \r\n\r\nhello';
  const h = parse(wire)!;
  assert.equal(h.status, 200);
  assert.equal(h.reason, 'OK');
  assert.equal(h.minor, 1);
  assert.deepEqual(h.rawHeaders, [
    'Content-Type',
    'text/plain',
    'Set-Cookie',
    'a=1',
    'set-cookie',
    'b=2',
    'Content-Length',
    '5',
  ]);
  assert.deepEqual(h.framing, { kind: 'length', length: 5 });
  assert.equal(h.keepAlive, true);
  assert.equal(wire.slice(h.end), 'hello');
});

test('incomplete head returns null; an offset is honoured', () => {
  assert.equal(parse('HTTP/1.1 200 OK\r\nA: b\r\n'), null);
  const buf = Buffer.from('xxHTTP/1.1 204 No Content\r\n\r\n');
  const h = parseResponseHead(buf, 2, false)!;
  assert.equal(h.status, 204);
  assert.equal(h.end, buf.length);
});

test('framing: chunked, close-delimited, none for HEAD/1xx/204/304, empty reason', () => {
  assert.deepEqual(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n')!.framing, {
    kind: 'chunked',
  });
  const close = parse('HTTP/1.1 200 OK\r\n\r\n')!;
  assert.deepEqual(close.framing, { kind: 'close' });
  assert.equal(close.keepAlive, false);
  assert.deepEqual(parse('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', true)!.framing, { kind: 'none' });
  assert.deepEqual(parse('HTTP/1.1 100 Continue\r\n\r\n')!.framing, { kind: 'none' });
  assert.deepEqual(parse('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n')!.framing, {
    kind: 'none',
  });
  assert.deepEqual(parse('HTTP/1.1 204\r\n\r\n')!.framing, { kind: 'none' });
  assert.equal(parse('HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n')!.reason, '');
  assert.deepEqual(parse('HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n')!.framing, {
    kind: 'length',
    length: 3,
  });
});

test('keep-alive: 1.1 unless close, 1.0 only with keep-alive', () => {
  assert.equal(parse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')!.keepAlive, false);
  assert.equal(parse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n')!.keepAlive, false);
  assert.equal(
    parse('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n')!.keepAlive,
    true,
  );
});

const malformed: Array<[string, string]> = [
  ['not HTTP', 'HTTP/2 200 OK\r\n\r\n'],
  ['bad status', 'HTTP/1.1 2x0 OK\r\n\r\n'],
  ['status < 100', 'HTTP/1.1 099 X\r\n\r\n'],
  ['TE and CL', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n'],
  ['different CLs', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n'],
  ['CL list differs', 'HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n'],
  ['negative CL', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'],
  ['gzip TE', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n'],
  ['two TE', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n'],
  ['obs-fold', 'HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n'],
  ['space before colon', 'HTTP/1.1 200 OK\r\nA : b\r\n\r\n'],
  ['bare LF in value', 'HTTP/1.1 200 OK\r\nA: b\nC: d\r\n\r\n'],
  ['bare CR in value', 'HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n'],
  ['NUL in value', 'HTTP/1.1 200 OK\r\nA: b\x00\r\n\r\n'],
  ['bad name char', 'HTTP/1.1 200 OK\r\nA(b: c\r\n\r\n'],
  ['no colon', 'HTTP/1.1 200 OK\r\nAbc\r\n\r\n'],
  ['bare LF head', 'HTTP/1.1 200 OK\nA: b\n\n'],
  ['bare CR in status line', 'HTTP/1.1 200 O\rK\r\n\r\n'],
];
for (const [name, wire] of malformed) {
  test(`malformed response head (${name}) throws H1Error`, () => {
    assert.throws(() => parse(wire), H1Error);
  });
}

test('head size is bounded, complete or not', () => {
  const big = `HTTP/1.1 200 OK\r\nA: ${'x'.repeat(20_000)}`;
  assert.throws(
    () => parse(big),
    (e: unknown) => e instanceof H1Error && e.code === 'HEAD_TOO_LARGE',
  );
  assert.throws(
    () => parse(`${big}\r\n\r\n`),
    (e: unknown) => e instanceof H1Error && e.code === 'HEAD_TOO_LARGE',
  );
});
