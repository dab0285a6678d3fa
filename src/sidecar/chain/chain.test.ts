import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MeshError } from '../../shared/errors.ts';
import { setLogLevel } from '../../shared/log.ts';
import { CallSignal } from './call-signal.ts';
import { compose, Slot } from './compose.ts';
import { rescue, rescueToBytes } from './rescue.ts';
import type { CallContext, Outcome, Step } from './types.ts';

setLogLevel(process.env.MESHER_LOG_LEVEL ?? 'silent');

const call = { service: 'svc' } as CallContext;
const ok: Outcome = { status: 200, headers: [], body: null };

test('compose runs steps in order around the terminal and builds each next only once', async () => {
  const seen: string[] = [];
  const step =
    (name: string): Step =>
    async (c, next) => {
      seen.push(`>${name}`);
      const out = await next(c);
      seen.push(`<${name}`);
      return out;
    };
  const handler = compose([step('a'), step('b')], async () => {
    seen.push('end');
    return ok;
  });
  assert.equal(await handler(call), ok);
  assert.deepEqual(seen, ['>a', '>b', 'end', '<b', '<a']);
});

test('a chain without a transport ends in INTERNAL', async () => {
  await assert.rejects(compose([])(call), (e: MeshError) => e.code === 'INTERNAL');
});

test('rescue maps a MeshError to status, x-mesher-error, JSON body and its own headers', () => {
  const out = rescue(new MeshError('RATE_LIMITED', { headers: { 'retry-after': '2' } }), 'svc');
  assert.equal(out.status, 429);
  assert.equal(out.errorCode, 'RATE_LIMITED');
  const h = new Map<string, string>();
  for (let i = 0; i < out.headers.length; i += 2) h.set(out.headers[i]!, out.headers[i + 1]!);
  assert.equal(h.get('x-mesher-error'), 'RATE_LIMITED');
  assert.equal(h.get('content-type'), 'application/json');
  assert.equal(h.get('retry-after'), '2');
  assert.deepEqual(JSON.parse((out.body as Buffer).toString()), {
    code: 'RATE_LIMITED',
    message: 'Rate limit exceeded',
    service: 'svc',
  });
  assert.equal(h.get('content-length'), String((out.body as Buffer).length));
});

test('rescue turns anything unexpected into 500 INTERNAL without leaking its message', () => {
  const out = rescue(new TypeError('secret internals'), 'svc');
  assert.equal(out.status, 500);
  assert.equal(out.errorCode, 'INTERNAL');
  assert.doesNotMatch((out.body as Buffer).toString(), /secret internals/);
});

test('rescueToBytes is a complete HTTP/1.1 response that closes the connection', () => {
  const text = rescueToBytes(new MeshError('HEADERS_TOO_LARGE')).toString();
  assert.match(text, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  assert.match(text, /\r\nconnection: close\r\n\r\n\{"code":"HEADERS_TOO_LARGE"/);
});

test('Slot swaps atomically and counts versions', () => {
  const slot = new Slot('a');
  const held = slot.current;
  slot.swap('b');
  assert.equal(held, 'a');
  assert.equal(slot.current, 'b');
  assert.equal(slot.version, 1);
});

test('rescue output for a MeshError with an invalid header value still reaches a socket-safe state', () => {
  // Guard for the listener: rescue itself never throws, whatever the error carries.
  const out = rescue(new MeshError('RATE_LIMITED', { headers: { 'retry-after': 'x\ny' } }));
  assert.equal(out.status, 429);
});

test('CallSignal: listeners run once; a child aborts with its parent but not the other way', () => {
  const parent = new CallSignal();
  const seen: string[] = [];
  const child = parent.child();
  child.add(() => seen.push('child'));
  const other = parent.child();
  other.add(() => seen.push('other'));
  other.abort();
  assert.deepEqual(seen, ['other']);
  assert.equal(parent.aborted, false);
  other.detach();
  parent.add(() => seen.push('parent'));
  parent.abort();
  parent.abort();
  assert.deepEqual(seen, ['other', 'child', 'parent']);
  let late = false;
  parent.add(() => {
    late = true;
  });
  assert.equal(late, true, 'adding after the abort runs at once');
});
