/**
 * Starts the real `mesher` CLI as a child process (through tsx, so no build is needed) and waits
 * for the line that says it is listening. Used by tests that need a real process: crash/kill
 * tests, signal handling, and the seed scenarios end to end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
/**
 * How long waitFor() waits by default: a CLI start through tsx takes seconds on a busy 2-core
 * machine (15 s was seen to expire under load). Still well under the runner's 120 s per test.
 */
const START_TIMEOUT_MS = 45_000;
/** How long stop() waits after its signal before it sends SIGKILL. */
const STOP_GRACE_MS = 15_000;

export interface MesherProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout so far. */
  stdout(): string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Resolve with the first match of `re` in stdout (waiting for it), or reject on exit/timeout. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolve when the process has exited, with its code or signal. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Send a signal (default SIGTERM) and wait for the exit; SIGKILL if still alive after `graceMs`. */
  stop(
    signal?: NodeJS.Signals,
    graceMs?: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startMesher(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): MesherProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, MESHER_LOG_LEVEL: process.env.MESHER_LOG_LEVEL ?? 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a SIGKILL reaches what it started too (`mesher run`'s app): an
    // orphaned app would keep this file's stdout pipe open and the file would never exit.
    detached: true,
  });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const w of waiters) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  // If the test file dies first (an assertion threw before its after(), or the runner's timeout
  // killed it), the CLI would outlive it and keep its ports and CPU: kill it on our way out.
  const killGroup = (): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  };
  const killOnExit = (): void => killGroup();
  process.once('exit', killOnExit);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once('exit', (code, signal) => {
      process.off('exit', killOnExit);
      for (const w of waiters) w();
      done({ code, signal });
    });
  });
  const proc: MesherProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor(re, timeoutMs = START_TIMEOUT_MS) {
      return new Promise((resolveMatch, reject) => {
        const check = (): void => {
          const m = out.match(re);
          if (m) {
            cleanup();
            resolveMatch(m);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            cleanup();
            reject(new Error(`process exited before ${re}: stdout=${out} stderr=${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${re}: stdout=${out} stderr=${err}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    exited: () => exit,
    async stop(signal = 'SIGTERM', graceMs = STOP_GRACE_MS) {
      if (signal === 'SIGKILL') killGroup();
      else if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      // A process that ignores or hangs on the signal must not hang the test's after(): SIGKILL.
      const escalate = setTimeout(() => killOnExit(), graceMs);
      try {
        return await exit;
      } finally {
        clearTimeout(escalate);
      }
    },
  };
  return proc;
}

/** What a finished CLI run printed and how it exited. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs one `mesher` CLI command to completion (no registry or config center from the
 * environment unless `env` sets them); a run still going after 60 s is killed, never waited on.
 */
export function runMesher(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, 'src/cli/main.ts'), ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        MESHER_LOG_LEVEL: 'warn',
        MESHER_REGISTRY: '',
        MESHER_CONFIG_CENTER: '',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // Only a hung process is killed; a slow start on a loaded machine is not a failure.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}
