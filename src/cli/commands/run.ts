/**
 * @module cli/commands/run
 * `mesher run [sidecar flags] -- <app command...>`: the sidecar and its app as one process tree.
 *
 * 1. Start the sidecar in-process; the app starts only once the proxy listeners are up
 *    (registration and discovery continue in the background).
 * 2. Start the app with `http_proxy`/`HTTP_PROXY` pointing at the outbound listener and
 *    `no_proxy`/`NO_PROXY` covering localhost (added to whatever was set), stdio inherited.
 * 3. SIGTERM/SIGINT: deregister, keep serving for the drain period while the app still runs (only
 *    when this sidecar registered an instance: a consumer-only sidecar has nobody to drain for),
 *    then forward the signal to the app, wait for it to exit, close the listeners (in-flight bound).
 *    A second signal SIGKILLs the app and exits at once; so does the hard deadline.
 * 4. The app exits by itself (a batch job): deregister, close at once (nothing is left to serve),
 *    exit with the app's exit code (killed by a signal → 128+n; command not found → 127).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { parseSidecarFlags, type SidecarFlags } from '../../sidecar/config/index.ts';
import { handleShutdownSignals, signalExitCode } from '../../sidecar/lifecycle/signals.ts';
import type { Sidecar } from '../../sidecar/main.ts';
import { describeAddresses, startFromFlags } from './sidecar.ts';

const NAME = 'mesher run';

export const RUN_USAGE = `usage: mesher run [sidecar flags] -- <command> [args...]

Starts the sidecar, then the command with http_proxy set to the sidecar's outbound listener.
On SIGTERM/SIGINT the sidecar deregisters and drains, then the command gets the signal; when the
command exits, the sidecar stops and mesher exits with the command's exit code.

sidecar flags: --config-dir DIR, --config FILE, --service-ports LIST, --mode sidecar|edge`;

/** Entries already in `current` (comma list) plus the loopback names, without duplicates. */
export function mergeNoProxy(current: string | undefined): string {
  const seen = new Set<string>();
  for (const part of [...(current ?? '').split(','), 'localhost', '127.0.0.1', '::1']) {
    const p = part.trim();
    if (p !== '') seen.add(p);
  }
  return [...seen].join(',');
}

/** The app's environment: ours plus the proxy variables. */
export function appEnv(env: NodeJS.ProcessEnv, proxyUrl: string): NodeJS.ProcessEnv {
  const noProxy = mergeNoProxy([env.no_proxy, env.NO_PROXY].filter(Boolean).join(','));
  return { ...env, http_proxy: proxyUrl, HTTP_PROXY: proxyUrl, no_proxy: noProxy, NO_PROXY: noProxy };
}

function splitArgv(argv: string[]): { flags: string[]; command: string[] } | undefined {
  const cut = argv.indexOf('--');
  if (cut < 0) return undefined;
  return { flags: argv.slice(0, cut), command: argv.slice(cut + 1) };
}

/** Resolves with the app's exit code once it has exited (or failed to start). */
function exitCodeOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('error', (err: Error & { code?: string }) => {
      process.stderr.write(`${NAME}: could not start the command: ${err.message}\n`);
      resolve(err.code === 'ENOENT' ? 127 : 126);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? signalExitCode(signal) : 1)));
  });
}

export async function run(argv: string[]): Promise<number | undefined> {
  if (argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write(`${RUN_USAGE}\n`);
    return 0;
  }
  const split = splitArgv(argv);
  if (!split || split.command.length === 0) {
    process.stderr.write(`${NAME}: missing "-- <command>"\n${RUN_USAGE}\n`);
    return 2;
  }
  let flags: SidecarFlags;
  try {
    flags = parseSidecarFlags(split.flags);
  } catch (err) {
    process.stderr.write(`${NAME}: ${(err as Error).message}\n${RUN_USAGE}\n`);
    return 2;
  }
  const started = await startFromFlags(flags, NAME);
  if (typeof started === 'number') return started;
  const sidecar: Sidecar = started;
  process.stderr.write(`${NAME}: sidecar listening ${describeAddresses(sidecar)}\n`);

  const proxyUrl = `http://127.0.0.1:${sidecar.addresses.outbound.port}`;
  const [cmd, ...args] = split.command as [string, ...string[]];
  const child = spawn(cmd, args, { stdio: 'inherit', env: appEnv(process.env, proxyUrl) });
  let appExited = false;
  const appExit = exitCodeOf(child).then((code) => {
    appExited = true;
    return code;
  });
  // Nobody can still be routing to a sidecar that registered no instance: no drain for it.
  const hasInstance = sidecar.config().listeners.advertise !== null;
  let signalled = false;

  const uninstall = handleShutdownSignals({
    name: NAME,
    // The app's own shutdown runs inside the deadline too.
    deadlineMs: sidecar.shutdownSettings.deadlineMs,
    onSignal: async (signal) => {
      signalled = true;
      await sidecar.shutdown({
        drain: hasInstance && !appExited,
        beforeClose: async () => {
          if (!appExited) child.kill(signal);
          await appExit;
        },
      });
      return appExit;
    },
    onForce: () => {
      if (!appExited) child.kill('SIGKILL');
    },
  });

  const code = await appExit;
  if (signalled) {
    // The signal path owns the exit; the app is gone, so there is nothing left to drain for.
    sidecar.endDrain();
    return new Promise<never>(() => {});
  }
  await sidecar.shutdown({ drain: false });
  uninstall();
  process.exit(code);
}
