// Every YAML example in docs/routing.md is valid: whole config snippets parse without issues,
// and `match:` / `route:` fragments parse when placed in a rule.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { parseEgress } from '../egress/parse.ts';
import { parseRouteTable } from './parse.ts';
import { parsePropagation } from './propagation.ts';

const doc = readFileSync(new URL('../../../docs/routing.md', import.meta.url), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

function flatten(node: unknown, prefix: string, out: Record<string, unknown>): Record<string, unknown> {
  if (typeof node === 'object' && node !== null && !Array.isArray(node)) {
    for (const [k, v] of Object.entries(node)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = node;
  return out;
}

function check(flat: Record<string, unknown>, where: string): void {
  const issues = [
    ...parseRouteTable(flat).issues,
    ...parseEgress(flat).issues,
    ...parsePropagation(flat).issues,
  ];
  assert.deepEqual(issues, [], `${where}: ${JSON.stringify(issues)}`);
}

test('docs/routing.md has YAML examples and every one of them is valid', () => {
  assert.ok(blocks.length >= 10, `only ${blocks.length} yaml blocks`);
  let checked = 0;
  for (const [i, text] of blocks.entries()) {
    const where = `yaml block ${i + 1}: ${text.split('\n')[0]}`;
    const value = parse(text) as unknown;
    if (Array.isArray(value)) {
      check({ 'servicecomb.routeRule.s': value }, where);
    } else if (typeof value === 'object' && value !== null && ('match' in value || 'route' in value)) {
      const rule = { route: [{ tags: { version: '1' } }], ...value };
      check({ 'servicecomb.routeRule.s': [rule] }, where);
    } else {
      const flat = flatten(value, '', {});
      assert.ok(
        Object.keys(flat).some((k) => /routeRule|egress|router/.test(k)),
        `${where}: not a routing example`,
      );
      check(flat, where);
    }
    checked++;
  }
  assert.equal(checked, blocks.length);
});
