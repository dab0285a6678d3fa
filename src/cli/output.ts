/**
 * @module cli/output
 * What every operator command (services, instances, route, config, sidecar-status) prints and how
 * it fails: fixed-width tables, pretty JSON, label sets, usage text on `--help`, and the one-line
 * failure report with its exit code (1, or 2 for usage errors). Commands decide nothing: they call
 * the api-client and format what it returns with these.
 */
import { isApiError } from '../api-client/index.ts';

/** A failure the command reports in one line, with the exit code to use. */
export class CliFailure extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

export function usageError(message: string): CliFailure {
  return new CliFailure(message, 2);
}

/** Fixed-width columns; cells are single-line and capped so one long value cannot wreck a table. */
export function table(header: string[], rows: string[][], maxCell = 60): string {
  const clean = (s: string) => {
    const one = s.replace(/\s*\n\s*/g, ' ⏎ ');
    return one.length > maxCell ? `${one.slice(0, maxCell - 1)}…` : one;
  };
  const all = [header, ...rows.map((r) => r.map(clean))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return `${all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n')}\n`;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function formatLabels(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort();
  return keys.length === 0 ? '(all)' : keys.map((k) => `${k}=${labels[k]}`).join(',');
}

/** `--help`/`-h` given: print `usage` and return true (the command then stops, exit 0). */
export function printedUsage(help: boolean | undefined, usage: string): boolean {
  if (!help) return false;
  process.stdout.write(`${usage}\n`);
  return true;
}

/**
 * For commands with subcommands (`mesher route set ...`): `--help`/`-h` anywhere, or as the
 * subcommand, prints `usage` and returns true (exit 0). No subcommand at all prints it too and is
 * a usage error naming the `subcommands` to choose from.
 */
export function printedSubcommandUsage(
  sub: string | undefined,
  help: boolean | undefined,
  usage: string,
  subcommands: string,
): boolean {
  if (!help && sub !== undefined && sub !== '--help' && sub !== '-h') return false;
  process.stdout.write(`${usage}\n`);
  if (sub === undefined) throw usageError(`a subcommand is required: ${subcommands}`);
  return true;
}

/** The one line an operator reads when something failed. */
export function describeError(err: unknown): string {
  if (err instanceof CliFailure) return err.message;
  if (isApiError(err)) {
    if (err.status === 0) return err.message;
    return `${err.message} (HTTP ${err.status}, code ${err.code})`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Run a command body: exit 0 on success, or one line on stderr and its exit code. */
export async function runCommand(name: string, body: () => Promise<void>): Promise<number> {
  try {
    await body();
    return 0;
  } catch (err) {
    process.stderr.write(`mesher ${name}: ${describeError(err)}\n`);
    return err instanceof CliFailure ? err.exitCode : 1;
  }
}
