/**
 * @module bench/lib/install
 * Makes sure the benchmark's external peers are on the machine: nginx (backend and reverse-proxy
 * peer), haproxy, wrk (closed-loop max throughput) and h2load from nghttp2-client (open-loop
 * fixed-rate latency), and etcd from etcd-server for `bench:registry -- --etcd`. Missing ones
 * are installed with `apt-get update` (once) and `apt-get install -y` of just the missing
 * packages. If apt fails, the run goes on without them and says which scenarios or measures are
 * skipped.
 */
import { spawnSync } from 'node:child_process';

export interface Tool {
  readonly bin: string;
  readonly pkg: string;
}

export const TOOLS = {
  nginx: { bin: 'nginx', pkg: 'nginx' },
  haproxy: { bin: 'haproxy', pkg: 'haproxy' },
  wrk: { bin: 'wrk', pkg: 'wrk' },
  h2load: { bin: 'h2load', pkg: 'nghttp2-client' },
  etcd: { bin: 'etcd', pkg: 'etcd-server' },
} as const satisfies Record<string, Tool>;

export type ToolName = keyof typeof TOOLS;

const SBIN = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin', '/usr/local/sbin'];

/** Absolute path of `bin` on PATH or in the sbin directories (nginx lives in /usr/sbin). */
export function which(bin: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), ...SBIN].filter(Boolean);
  for (const d of dirs) {
    const r = spawnSync('test', ['-x', `${d}/${bin}`]);
    if (r.status === 0) return `${d}/${bin}`;
  }
  return undefined;
}

/**
 * Resolve every tool, installing missing ones through apt. Returns the paths found; a tool that
 * is still missing is absent from the map (callers skip what needs it).
 */
export function ensureTools(names: readonly ToolName[], log: (s: string) => void): Map<ToolName, string> {
  const found = new Map<ToolName, string>();
  const missing: ToolName[] = [];
  for (const n of names) {
    const p = which(TOOLS[n].bin);
    if (p) found.set(n, p);
    else missing.push(n);
  }
  if (missing.length === 0) return found;
  const pkgs = [...new Set(missing.map((n) => TOOLS[n].pkg))];
  log(`installing missing peers with apt-get: ${pkgs.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const upd = spawnSync('apt-get', ['update', '-q'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
    timeout: 300_000,
  });
  if (upd.status !== 0)
    log(`apt-get update failed (${upd.status ?? upd.error?.message}); trying install anyway`);
  const inst = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...pkgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
    timeout: 600_000,
  });
  if (inst.status !== 0) {
    const why = inst.error?.message ?? inst.stderr?.toString().trim().split('\n').slice(-1)[0] ?? '';
    log(`apt-get install failed: ${why}`);
  }
  for (const n of missing) {
    const p = which(TOOLS[n].bin);
    if (p) found.set(n, p);
    else log(`SKIP: ${TOOLS[n].bin} is not available (package ${TOOLS[n].pkg}); what needs it is skipped`);
  }
  return found;
}
