/**
 * @module cli/commands/services
 * `mesher services`: every service in the registry with its instance count, as a table or JSON.
 *
 * This file also holds the small pieces every operator command shares (flag parsing, the
 * one-line failure report, tables), since a command file may import only the api-client.
 * Operator commands decide nothing: they call the api-client and format what it returns.
 */
import { parseArgs } from 'node:util';
import { type ApiClient, createApiClient, isApiError } from '../../api-client/index.ts';

// === shared by the operator commands ===

export const DEFAULT_REGISTRY = 'http://127.0.0.1:30100';

/** Flags every operator command accepts. */
export const COMMON_OPTIONS = {
  registry: { type: 'string' },
  'config-center': { type: 'string' },
  project: { type: 'string' },
  domain: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const COMMON_USAGE = `common flags:
  --registry URL        registry (default $MESHER_REGISTRY or ${DEFAULT_REGISTRY})
  --config-center URL   config center (default $MESHER_CONFIG_CENTER or the registry)
  --project P           ServiceComb project (default "default")
  --domain D            X-Domain-Name tenant (default "default")
  --timeout MS          per-request timeout (default 10000)
  --json                print JSON instead of a table`;

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

/** parseArgs with the common flags; unknown flags are usage errors. */
export function parseFlags<
  T extends Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>,
>(argv: string[], options: T) {
  try {
    return parseArgs({
      args: argv,
      options: { ...COMMON_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw usageError((err as Error).message.split('\n')[0] ?? 'bad flags');
  }
}

export function clientFrom(values: Record<string, unknown>): ApiClient {
  // An empty variable counts as unset.
  const registry = (values.registry as string | undefined) || process.env.MESHER_REGISTRY || DEFAULT_REGISTRY;
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0))
    throw usageError(`--timeout must be a positive number of milliseconds, got '${values.timeout}'`);
  try {
    return createApiClient({
      registry,
      configCenter:
        (values['config-center'] as string | undefined) || process.env.MESHER_CONFIG_CENTER || undefined,
      project: values.project as string | undefined,
      domain: values.domain as string | undefined,
      timeoutMs: timeout,
    });
  } catch (err) {
    throw usageError(isApiError(err) ? err.message : String(err));
  }
}

/** `--label k=v` (repeatable) → labels; `--app A` / `--service S` are shorthands. */
export function labelsFrom(values: Record<string, unknown>): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const raw of (values.label as string[] | undefined) ?? []) {
    const i = raw.indexOf('=');
    if (i <= 0) throw usageError(`--label must be name=value, got '${raw}'`);
    labels[raw.slice(0, i)] = raw.slice(i + 1);
  }
  for (const k of ['app', 'service', 'version', 'environment'] as const) {
    const v = values[k];
    if (typeof v === 'string') labels[k] = v;
  }
  return labels;
}

export function formatLabels(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort();
  return keys.length === 0 ? '(all)' : keys.map((k) => `${k}=${labels[k]}`).join(',');
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

// === mesher services ===

const USAGE = `usage: mesher services [--app A] [flags]

List the services in the registry with their instance counts.

${COMMON_USAGE}`;

export async function run(argv: string[]): Promise<number> {
  return runCommand('services', async () => {
    const { values, positionals } = parseFlags(argv, { app: { type: 'string' } });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'\n${USAGE}`);
    const api = clientFrom(values);
    const services = (await api.registry.listServices()).filter((s) => !values.app || s.appId === values.app);
    // Instance counts: a few requests at a time, so a big registry is not hit all at once.
    const counts: number[] = [];
    for (let i = 0; i < services.length; i += 8) {
      const chunk = services.slice(i, i + 8);
      counts.push(
        ...(await Promise.all(
          chunk.map(async (s) => (await api.registry.listInstances(s.serviceId)).length),
        )),
      );
    }
    const rows = services.map((s, i) => ({ ...s, instances: counts[i] ?? 0 }));
    if (values.json) {
      printJson(rows);
      return;
    }
    process.stdout.write(
      table(
        ['APP', 'SERVICE', 'VERSION', 'ENV', 'INSTANCES', 'SERVICE ID'],
        rows.map((s) => [
          s.appId,
          s.serviceName,
          s.version,
          s.environment || '-',
          String(s.instances),
          s.serviceId,
        ]),
      ),
    );
  });
}
