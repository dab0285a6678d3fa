// MESHER_V8_FLAGS parsing (src/cli/v8-flags.ts): unset → the default, off/empty → none, a list of
// --flags as given, anything else refused with the offending token named.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SIDECAR_V8_FLAGS, sidecarV8Flags } from './v8-flags.ts';

test('unset gives the default; off and empty give none; a list is taken as is', () => {
  assert.deepEqual(sidecarV8Flags({}), DEFAULT_SIDECAR_V8_FLAGS);
  assert.deepEqual(sidecarV8Flags({ MESHER_V8_FLAGS: 'off' }), []);
  assert.deepEqual(sidecarV8Flags({ MESHER_V8_FLAGS: '  ' }), []);
  assert.deepEqual(sidecarV8Flags({ MESHER_V8_FLAGS: ' --optimize-for-size  --stack-size=900 ' }), [
    '--optimize-for-size',
    '--stack-size=900',
  ]);
});

test('a token that is not a --flag is refused, naming it', () => {
  for (const bad of ['optimize-for-size', '--', '--a b', '-x', '--x;rm']) {
    assert.throws(() => sidecarV8Flags({ MESHER_V8_FLAGS: bad }), /MESHER_V8_FLAGS: '/, bad);
  }
});
