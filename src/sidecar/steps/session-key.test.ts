import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_SESSION_KEY, sessionKeyOf } from './session-key.ts';

test('session key: go-chassisLB cookie first, then x-mesher-session, else none', () => {
  const table: Array<[string[], string | undefined]> = [
    [[], undefined],
    [['cookie', 'go-chassisLB=abc'], 'abc'],
    [['Cookie', 'a=1;  go-chassisLB = abc ; b=2'], 'abc'],
    [['cookie', 'go-chassisLBx=1; xgo-chassisLB=2'], undefined],
    [['cookie', 'go-chassisLB='], undefined],
    [['X-Mesher-Session', ' u-1 '], 'u-1'],
    [['x-mesher-session', 'h', 'cookie', 'go-chassisLB=c'], 'c'],
    [['cookie', 'other=1', 'x-mesher-session', 'h'], 'h'],
    [['x-mesher-session', ''], undefined],
    [['cookie'], undefined],
  ];
  for (const [headers, want] of table) assert.equal(sessionKeyOf(headers), want, JSON.stringify(headers));
  assert.equal(sessionKeyOf(['x-mesher-session', 'k'.repeat(1000)])!.length, MAX_SESSION_KEY);
});
