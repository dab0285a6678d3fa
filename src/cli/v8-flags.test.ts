// MESHER_V8_FLAGS parsing (src/cli/v8-flags.ts): unset → the default, off/empty → none, a list of
// --flags as given, anything else refused with the offending token named.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

test('the mesher executable starts Node with flags Node accepts (its shebang, docs/lifecycle.md)', () => {
  const first = readFileSync(new URL('./main.ts', import.meta.url), 'utf8').split('\n', 1)[0]!;
  assert.match(first, /^#!\/usr\/bin\/env -S node( --[a-z0-9-]+(=\S+)?)+$/);
  const flags = first.split(/\s+/).filter((t) => t.startsWith('--'));
  assert.ok(flags.includes('--max-semi-space-size=32'), first);
  const r = spawnSync(process.execPath, [...flags, '-e', 'process.exit(0)'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});
