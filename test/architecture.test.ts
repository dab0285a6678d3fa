/**
 * Layering rules from STYLE.md, checked on every test run:
 * - the data plane (src/sidecar) and the control plane (src/registry) never import each other;
 * - src/shared imports from neither plane;
 * - the CLI's operator commands and the dashboard reach servers only through src/api-client
 *   (the process launchers in src/cli/commands/{registry,sidecar,demo,run}.ts are exempt: starting
 *   a server is their job).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..');

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Relative import targets of a file, resolved to repo-relative paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
    found.push(relative(ROOT, resolve(dirname(file), m[1]!)));
  }
  return found;
}

const LAUNCHERS = new Set(
  ['registry.ts', 'sidecar.ts', 'demo.ts', 'run.ts'].map((f) => `src/cli/commands/${f}`),
);

const RULES: Array<{ from: string; mayNotImport: string[]; except?: (file: string) => boolean }> = [
  { from: 'src/sidecar/', mayNotImport: ['src/registry/', 'src/cli/', 'src/demo/'] },
  { from: 'src/registry/', mayNotImport: ['src/sidecar/', 'src/cli/', 'src/demo/'] },
  { from: 'src/shared/', mayNotImport: ['src/sidecar/', 'src/registry/', 'src/cli/', 'src/demo/'] },
  {
    from: 'src/cli/commands/',
    mayNotImport: ['src/sidecar/', 'src/registry/'],
    except: (f) => LAUNCHERS.has(f),
  },
  { from: 'src/dashboard/', mayNotImport: ['src/sidecar/', 'src/registry/', 'src/cli/'] },
];

test('planes and layers import only what they are allowed to', () => {
  const violations: string[] = [];
  for (const file of sources(join(ROOT, 'src'))) {
    const rel = relative(ROOT, file);
    if (rel.endsWith('.test.ts')) continue;
    for (const rule of RULES) {
      if (!rel.startsWith(rule.from) || rule.except?.(rel)) continue;
      for (const target of importsOf(file)) {
        const bad = rule.mayNotImport.find((p) => target.startsWith(p));
        if (bad) violations.push(`${rel} imports ${target}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

test('the import scanner sees relative imports (so the rule above can fail)', () => {
  const self = importsOf(join(ROOT, 'src/cli/main.ts'));
  assert.ok(self.includes('src/cli/commands/registry.ts'), JSON.stringify(self));
});
