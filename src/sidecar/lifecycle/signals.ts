/**
 * @module sidecar/lifecycle/signals
 * Process-level shutdown on SIGTERM/SIGINT for the `mesher sidecar` and `mesher run` commands:
 * the first signal starts the graceful path and arms a hard deadline; a second signal, or the
 * deadline passing, exits at once. The exit function and the signal source are injected so this is
 * testable without killing the test runner.
 */
import { constants } from 'node:os';

export interface SignalSource {
  on(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  removeListener(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface ShutdownSignalOptions {
  /** Prefix of the lines written to stderr (`mesher sidecar`). */
  readonly name: string;
  /** The graceful path; resolves with the exit code. Called once, for the first signal. */
  readonly onSignal: (signal: NodeJS.Signals) => Promise<number>;
  /** Called before a forced exit (second signal or deadline), e.g. to SIGKILL a child. */
  readonly onForce?: (reason: 'signal' | 'deadline') => void;
  /** Hard deadline from the first signal, ms. */
  readonly deadlineMs: number;
  readonly signals?: readonly NodeJS.Signals[];
  readonly source?: SignalSource;
  readonly exit?: (code: number) => void;
  readonly write?: (line: string) => void;
}

/** The shell's convention for "terminated by signal n": 128 + n (SIGTERM 143, SIGINT 130). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/** Install the handlers; returns a function that removes them. */
export function handleShutdownSignals(opts: ShutdownSignalOptions): () => void {
  const source: SignalSource = opts.source ?? process;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const write = opts.write ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const signals = opts.signals ?? (['SIGTERM', 'SIGINT'] as const);
  let first: NodeJS.Signals | undefined;
  let deadline: NodeJS.Timeout | undefined;
  let exited = false;
  const finish = (code: number) => {
    if (exited) return;
    exited = true;
    if (deadline) clearTimeout(deadline);
    exit(code);
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (first !== undefined) {
      write(`${opts.name}: second signal (${signal}), exiting now`);
      opts.onForce?.('signal');
      finish(signalExitCode(signal));
      return;
    }
    first = signal;
    write(
      `${opts.name}: ${signal}, shutting down gracefully (deadline ${opts.deadlineMs} ms; send it again to force)`,
    );
    deadline = setTimeout(() => {
      write(`${opts.name}: shutdown deadline of ${opts.deadlineMs} ms passed, exiting now`);
      opts.onForce?.('deadline');
      finish(1);
    }, opts.deadlineMs);
    opts.onSignal(signal).then(finish, (err: unknown) => {
      write(`${opts.name}: error while stopping: ${err instanceof Error ? err.message : String(err)}`);
      finish(1);
    });
  };
  for (const s of signals) source.on(s, onSignal);
  return () => {
    for (const s of signals) source.removeListener(s, onSignal);
    if (deadline) clearTimeout(deadline);
  };
}
