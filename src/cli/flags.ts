/**
 * @module cli/flags
 * The flags every operator command shares: the common connection flags (`--registry`,
 * `--config-center`, `--project`, `--domain`, `--timeout`, `--json`, `--help`) with their usage
 * text, strict parsing (an unknown flag is a usage error, exit 2), the api-client they configure,
 * and the label flags (`--label k=v`, `--app`, `--service`, `--version`, `--environment`) that
 * choose which sidecars a config-center key applies to.
 */
import { parseArgs } from 'node:util';
import { type ApiClient, createApiClient, isApiError } from '../api-client/index.ts';
import { usageError } from './output.ts';

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

/** The label flags `labelsFrom` reads (config-center keys: which sidecars a key applies to). */
export const LABEL_OPTIONS = {
  label: { type: 'string', multiple: true },
  app: { type: 'string' },
  service: { type: 'string' },
  version: { type: 'string' },
  environment: { type: 'string' },
} as const;

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
