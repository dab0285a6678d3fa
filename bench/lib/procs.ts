/**
 * @module bench/lib/procs
 * Process supervision for the benchmarks: every server and load generator is started through a
 * `Supervisor`, pinned to a core with `taskset`, in its own process group, so that one
 * `stopAll()` (also run on SIGINT/SIGTERM, uncaught errors and process exit) leaves no stray
 * processes. The pids of long-lived servers are written to `<tmpDir>/pids` (after an `owner PID`
 * line naming the bench process) so a run killed with SIGKILL is cleaned up by the next run
 * (`reapStale`); a run whose owner is still alive is never reaped: the second run stops instead.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything written to stdout + stderr so far (capped at 64 KB, oldest dropped). */
  output(): string;
  /** Resolves with the exit code (or null when killed by a signal). */
  readonly exited: Promise<number | null>;
}

export interface SpawnOptions {
  /** Core list for `taskset -c` (e.g. "1"); omitted: not pinned. */
  readonly cpu?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Long-lived servers are recorded in the pid file so a later run can reap them. */
  readonly server?: boolean;
}

const OUTPUT_CAP = 64 * 1024;

export class Supervisor {
  private readonly live = new Set<Started>();
  private readonly pidFile: string;
  private hooked = false;
  /** Set once a signal asked the run to stop: loops check it and start nothing new. */
  stopping = false;
  readonly taskset: boolean;

  constructor(readonly tmpDir: string) {
    this.pidFile = join(tmpDir, 'pids');
    this.taskset = existsSync('/usr/bin/taskset') || existsSync('/bin/taskset');
  }

  /** Install exit/signal hooks once: on any way out, every child group is killed. */
  hookExit(): void {
    if (this.hooked) return;
    this.hooked = true;
    process.on('exit', () => this.killAllSync('SIGKILL'));
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(sig, () => {
        if (this.stopping) return;
        this.stopping = true;
        process.stderr.write(`\nbench: ${sig}, stopping everything\n`);
        this.stopAll().finally(() => process.exit(130));
      });
    }
  }

  spawn(name: string, cmd: string, args: readonly string[], opts: SpawnOptions = {}): Started {
    if (this.stopping) throw new Error('stopping: no new processes');
    const [file, argv] =
      opts.cpu !== undefined && this.taskset ? ['taskset', ['-c', opts.cpu, cmd, ...args]] : [cmd, [...args]];
    const child = spawn(file, argv, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group: killed as a whole, never by the terminal's Ctrl-C alone
    });
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString('utf8');
      if (out.length > OUTPUT_CAP) out = out.slice(out.length - OUTPUT_CAP);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.once('error', (err) => {
        onData(Buffer.from(String(err)));
        resolve(-1);
      });
    });
    const started: Started = { name, child, pid: child.pid ?? -1, output: () => out, exited };
    this.live.add(started);
    exited.then(() => {
      this.live.delete(started);
      if (opts.server) this.writePidFile();
    });
    if (opts.server) this.writePidFile();
    return started;
  }

  /** Run a command to completion; resolves with its exit code and output. */
  async run(
    name: string,
    cmd: string,
    args: readonly string[],
    opts: SpawnOptions & { timeoutMs?: number } = {},
  ): Promise<{ code: number | null; output: string }> {
    const p = this.spawn(name, cmd, args, opts);
    const timer =
      opts.timeoutMs !== undefined
        ? setTimeout(() => killGroup(p.pid, 'SIGKILL'), opts.timeoutMs)
        : undefined;
    const code = await p.exited;
    if (timer) clearTimeout(timer);
    return { code, output: p.output() };
  }

  /** SIGTERM every group, wait up to 3 s, then SIGKILL what is left. */
  async stopAll(): Promise<void> {
    const all = [...this.live];
    for (const p of all) killGroup(p.pid, 'SIGTERM');
    const deadline = new Promise((r) => setTimeout(r, 3000).unref());
    await Promise.race([Promise.all(all.map((p) => p.exited)), deadline]);
    this.killAllSync('SIGKILL');
    this.writePidFile();
  }

  async stop(p: Started): Promise<void> {
    killGroup(p.pid, 'SIGTERM');
    const t = setTimeout(() => killGroup(p.pid, 'SIGKILL'), 3000);
    await p.exited;
    clearTimeout(t);
  }

  private killAllSync(sig: NodeJS.Signals): void {
    for (const p of this.live) killGroup(p.pid, sig);
  }

  private writePidFile(): void {
    try {
      writeFileSync(
        this.pidFile,
        `owner ${process.pid}\n${[...this.live].map((p) => `${p.pid}\n`).join('')}`,
      );
    } catch {
      // the tmp dir may already be gone at exit; nothing to record then
    }
  }

  /**
   * Kill process groups left by an earlier run that died without cleaning up. Throws, killing
   * nothing, when that run is still going (its owner process is alive).
   */
  reapStale(): number {
    if (!existsSync(this.pidFile)) return 0;
    const lines = readFileSync(this.pidFile, 'utf8').split('\n');
    const owner = Number(lines[0]?.match(/^owner (\d+)$/)?.[1]);
    if (owner && owner !== process.pid && benchAlive(owner))
      throw new Error(
        `another benchmark run (pid ${owner}) is using ${this.tmpDir}: wait for it to end or stop it`,
      );
    let n = 0;
    for (const line of lines) {
      const pid = Number(line);
      if (!Number.isInteger(pid) || pid <= 1) continue;
      if (killGroup(pid, 'SIGKILL')) n++;
    }
    writeFileSync(this.pidFile, '');
    return n;
  }
}

/** Whether `pid` is a live benchmark process (its command line names a bench/ script). */
function benchAlive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('bench/');
  } catch {
    return false;
  }
}

/** Signal a whole process group; false when it no longer exists. */
export function killGroup(pid: number, sig: NodeJS.Signals): boolean {
  if (pid <= 1) return false;
  try {
    process.kill(-pid, sig);
    return true;
  } catch {
    try {
      process.kill(pid, sig);
      return true;
    } catch {
      return false;
    }
  }
}

/** A port that is free right now on `host` (bind to 0, read it, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Poll `fn` every 50 ms until it returns true or `timeoutMs` passes. */
export async function waitUntil(
  what: string | (() => string),
  fn: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
