/** docs/config.md must mention every key the schema knows (and every strategy name). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { schemaKeys } from './key-walk.ts';
import { PASSTHROUGH, STRATEGY_NAMES } from './schema.ts';

const doc = readFileSync(new URL('../../../docs/config.md', import.meta.url), 'utf8');

test('docs/config.md documents every schema key, strategy and passthrough namespace', () => {
  const missing = [
    ...schemaKeys(),
    ...STRATEGY_NAMES,
    ...PASSTHROUGH.filter((p) => p !== 'servicecomb.noRefreshSchema'),
  ].filter((k) => !doc.includes(`\`${k}\``));
  assert.deepEqual(missing, []);
});
