/**
 * @module bench/lib/mesher-proc
 * Starts the built mesher CLI (`node dist/cli/main.js ...`, so no loader inflates CPU or RSS)
 * under the supervisor: the registry (waiting for its "listening on" line) and sidecars.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Started, Supervisor } from './procs.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'dist/cli/main.js');
/** The Node flags of the `mesher` executable's shebang (`#!/usr/bin/env -S node --flag ...`), read from its source. */
export const SIDECAR_NODE_FLAGS: readonly string[] = readFileSync(join(ROOT, 'src/cli/main.ts'), 'utf8')
  .split('\n', 1)[0]!
  .split(/\s+/)
  .filter((t) => t.startsWith('--'));

export function requireBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
}

/** Wait until `re` appears in the process output; reject if it exits first or after timeoutMs. */
export async function waitForOutput(p: Started, re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  const end = Date.now() + timeoutMs;
  let exited = false;
  p.exited.then(() => {
    exited = true;
  });
  for (;;) {
    const m = p.output().match(re);
    if (m) return m;
    if (exited) throw new Error(`${p.name} exited before printing ${re}: ${p.output().slice(-800)}`);
    if (Date.now() > end)
      throw new Error(`${p.name} did not print ${re} in ${timeoutMs} ms: ${p.output().slice(-800)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `mesher registry --listen 127.0.0.1:0 --data-dir DIR`; resolves with its origin. */
export function startRegistry(
  sup: Supervisor,
  cpu: string | undefined,
  dataDir: string,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<{ origin: string; proc: Started }> {
  return startRegistryOn(sup, cpu, ['--data-dir', dataDir], 'registry', extraEnv);
}

/** `mesher registry --listen 127.0.0.1:0 STORAGE...` (e.g. `--etcd URL,URL`); resolves with its origin. */
export async function startRegistryOn(
  sup: Supervisor,
  cpu: string | undefined,
  storage: readonly string[],
  name = 'registry',
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<{ origin: string; proc: Started }> {
  requireBuilt();
  const proc = sup.spawn(name, process.execPath, [CLI, 'registry', '--listen', '127.0.0.1:0', ...storage], {
    cpu,
    server: true,
    cwd: ROOT,
    env: { ...process.env, MESHER_LOG_LEVEL: 'warn', ...extraEnv },
  });
  const m = await waitForOutput(proc, /listening on (http:\/\/[\d.]+:\d+)/);
  return { origin: m[1]!, proc };
}

/** `mesher sidecar --config-dir DIR [--service-ports rest:PORT]`. */
export function startSidecar(
  sup: Supervisor,
  name: string,
  cpu: string | undefined,
  configDir: string,
  servicePort?: number,
): Started {
  requireBuilt();
  // MESHER_BENCH_PROFILE=DIR: each sidecar writes a V8 CPU profile there when it stops
  const prof = process.env.MESHER_BENCH_PROFILE;
  const args = [
    ...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []),
    // What the `mesher` executable's shebang gives every sidecar (src/cli/main.ts, docs/lifecycle.md).
    ...SIDECAR_NODE_FLAGS,
    CLI,
    'sidecar',
    '--config-dir',
    configDir,
  ];
  if (servicePort !== undefined) args.push('--service-ports', `rest:${servicePort}`);
  return sup.spawn(name, process.execPath, args, {
    cpu,
    server: true,
    cwd: ROOT,
    // No shutdown drain: nothing routes to a bench sidecar when it stops, and --cpu-prof is only
    // written on a normal exit (which the supervisor's kill would otherwise pre-empt).
    env: { ...process.env, MESHER_LOG_LEVEL: 'warn', MESHER_DRAIN_MS: '0' },
  });
}
