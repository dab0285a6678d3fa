/**
 * @module bench/memory/import-cost
 * What each part of `mesher sidecar` costs to load, in one fresh process per round: the modules
 * are imported cumulatively in the order the sidecar pulls them in, and after each import (and two
 * forced GCs) the script records RSS, V8 heap used/committed and external memory; the delta to
 * the previous step is what that import added. Prints the median over rounds.
 *
 *   node bench/memory/import-cost.mjs DIST_DIR [--rounds 5] [--v8-flags "--optimize-for-size"]
 *
 * `--v8-flags` applies the flags with v8.setFlagsFromString before the first import, as
 * `mesher sidecar` does (src/cli/v8-flags.ts).
 *
 * Plain .mjs (no tsx), so no loader inflates the figures; DIST_DIR is a build from
 * bench/hot-path/build.sh (its node_modules link resolves the packages).
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const STEPS = [
  ['node builtins (http, net, crypto, fs)', ['node:http', 'node:net', 'node:crypto', 'node:fs']],
  ['pino', ['pino']],
  ['yaml', ['yaml']],
  ['@sinclair/typebox (+ value, compiler)', ['@sinclair/typebox', '@sinclair/typebox/value']],
  ['undici', ['undici']],
  ['ws', ['ws']],
  ['prom-client (+ @opentelemetry/api)', ['prom-client']],
  ['shared/log', ['DIST/shared/log.js']],
  ['sidecar/config', ['DIST/sidecar/config/index.js']],
  ['sidecar/telemetry', ['DIST/sidecar/telemetry/index.js']],
  ['sidecar/registry-client', ['DIST/sidecar/registry-client/client.js']],
  ['sidecar/config-center', ['DIST/sidecar/config-center/index.js']],
  ['sidecar/topology', ['DIST/sidecar/topology/index.js']],
  ['sidecar/data-plane', ['DIST/sidecar/data-plane.js']],
  ['sidecar/main (the rest of the wiring)', ['DIST/sidecar/main.js']],
  ['cli sidecar command', ['DIST/cli/commands/sidecar.js']],
];

function child(dist, v8Flags) {
  const steps = JSON.stringify(STEPS.map(([n, m]) => [n, m.map((x) => x.replace('DIST', dist))]));
  return `
const steps = ${steps};
const { createRequire } = await import('node:module');
const v8 = await import('node:v8');
for (const f of ${JSON.stringify(v8Flags)}) v8.setFlagsFromString(f);
const req = createRequire(${JSON.stringify(`${dist}/`)});
const snap = () => { gc(); gc(); const u = process.memoryUsage(); return [u.rss, u.heapUsed, u.heapTotal, u.external]; };
const out = [['node -e (start)', snap()]];
for (const [name, mods] of steps) {
  for (const m of mods) await import(m.startsWith('/') || m.startsWith('node:') ? m : req.resolve(m).replace(/^/, 'file://'));
  await new Promise((r) => setTimeout(r, 20));
  out.push([name, snap()]);
}
process.stdout.write(JSON.stringify(out));`;
}

function main() {
  const argv = process.argv.slice(2);
  const dist = resolve(argv[0] ?? 'dist');
  const ri = argv.indexOf('--rounds');
  const rounds = ri >= 0 ? Number(argv[ri + 1]) : 5;
  const fi = argv.indexOf('--v8-flags');
  const v8Flags = fi >= 0 ? argv[fi + 1].split(/\s+/).filter(Boolean) : [];
  const runs = [];
  for (let r = 0; r < rounds; r++) {
    const p = spawnSync(
      process.execPath,
      ['--expose-gc', '--input-type=module', '-e', child(dist, v8Flags)],
      {
        encoding: 'utf8',
      },
    );
    if (p.status !== 0) throw new Error(p.stderr);
    runs.push(JSON.parse(p.stdout));
  }
  const med = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const mb = (x) => (x / 1048576).toFixed(1).padStart(6);
  const rows = runs[0].map(([name], i) => [
    name,
    [0, 1, 2, 3].map((k) => med(runs.map((run) => run[i][1][k]))),
  ]);
  process.stdout.write(`${rounds} rounds, V8 flags: ${v8Flags.join(' ') || '(none)'}; medians (MB)\n`);
  process.stdout.write(`${'step'.padEnd(40)}   rss  +rss  heapUsed  +used  heapTotal  external\n`);
  let prev = rows[0][1];
  for (const [name, v] of rows) {
    process.stdout.write(
      `${name.padEnd(40)} ${mb(v[0])} ${mb(v[0] - prev[0])} ${mb(v[1])}   ${mb(v[1] - prev[1])} ${mb(v[2])}    ${mb(v[3])}\n`,
    );
    prev = v;
  }
}

main();
