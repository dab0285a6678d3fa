// Runs every *.test.ts under src/ and test/ with Node's built-in runner (through tsx),
// so `npm test` needs no build step and ends with node:test's own summary.
// Optional args: path prefixes to narrow the run (`node scripts/run-tests.mjs src/registry`).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['src', 'test'];
const filters = process.argv.slice(2);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = roots
  .flatMap((r) => walk(r, []))
  .filter((f) => filters.length === 0 || filters.some((x) => f.startsWith(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const res = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=120000', ...files],
  // Component logs only from warnings up, unless asked for: the runner's output stays readable.
  { stdio: 'inherit', env: { MESHER_LOG_LEVEL: 'warn', ...process.env, NODE_ENV: 'test' } },
);
process.exit(res.status ?? 1);
