/**
 * @module sidecar/config/load
 * `loadSidecarConfig`: the sidecar's configuration, read once from the config directory, the
 * environment and the command line, validated in one pass, returned deep-frozen.
 *
 *   config dir:  opts.confDir > --config-dir > $CHASSIS_CONF_DIR > $CHASSIS_HOME/conf > ./conf
 *   files:       chassis.yaml, microservice.yaml (both required), mesher.yaml (or --config FILE),
 *                every other *.yaml / *.yml; all flattened into one dotted key space
 *   priority:    env key (servicecomb_registry_address) > go-chassis env (PAAS_CSE_SC_ENDPOINT...)
 *                > files; `servicecomb.` beats `cse.`; an earlier file beats a later one
 *
 * Any problem anywhere -> one ConfigError listing all of them. Unknown keys are warnings.
 */
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { buildConfig } from './build.ts';
import { ConfigError } from './config-error.ts';
import { deepFreeze } from './deep-freeze.ts';
import type { SidecarFlags } from './flags.ts';
import {
  type Entry,
  envAliasEntries,
  envEntries,
  listConfigFiles,
  pickWinners,
  readYamlFile,
} from './sources.ts';
import type { ConfigIssue, SidecarConfig } from './types.ts';
import { validateEntries } from './validate.ts';

export interface LoadOptions {
  /** Read this directory (wins over flags and env; tests and the hot-reload watcher use it). */
  readonly confDir?: string;
  /** Environment (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly flags?: SidecarFlags;
}

export interface LoadResult {
  readonly config: SidecarConfig;
  /** Human-readable `file: key: message` lines: unknown keys, ignored settings, conflicts. */
  readonly warnings: readonly string[];
}

/** The config directory per the precedence above, absolute. */
export function resolveConfDir(
  opts: Pick<LoadOptions, 'confDir' | 'flags'>,
  env: Readonly<Record<string, string | undefined>>,
): string {
  if (opts.confDir) return resolve(opts.confDir);
  if (opts.flags?.configDir) return resolve(opts.flags.configDir);
  if (env.CHASSIS_CONF_DIR) return resolve(env.CHASSIS_CONF_DIR);
  if (env.CHASSIS_HOME) return resolve(env.CHASSIS_HOME, 'conf');
  return resolve('conf');
}

export function loadSidecarConfig(opts: LoadOptions = {}): LoadResult {
  const env = opts.env ?? process.env;
  const flags = opts.flags ?? {};
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  const confDir = resolveConfDir(opts, env);

  const seq = { seq: 0 };
  const entries: Entry[] = [];
  let files = listConfigFiles(confDir, issues);
  if (flags.configFile) {
    const path = resolve(flags.configFile);
    if (!existsSync(path)) {
      issues.push({ file: 'command line', key: '--config', message: `${path} does not exist` });
    } else {
      files = files.filter((f) => basename(f) !== 'mesher.yaml' && resolve(f) !== path);
      files.splice(Math.min(2, files.length), 0, path);
    }
  }
  for (const f of files) entries.push(...readYamlFile(f, seq, env, issues, warnings));
  const fileKeys = new Set(entries.map((e) => e.canonical));
  entries.push(...envAliasEntries(env, seq), ...envEntries(env, fileKeys, seq));

  const winners = pickWinners(entries, warnings);
  const flat: Record<string, unknown> = {};
  for (const e of [...winners.values()].sort((a, b) => a.canonical.localeCompare(b.canonical))) {
    flat[e.key] = e.value;
  }

  const validated = validateEntries(winners, issues, warnings);
  const config = buildConfig(
    {
      values: validated.values,
      origin: validated.origin,
      env,
      confDir,
      mode: flags.mode ?? 'sidecar',
      servicePortsFlag: flags.servicePorts,
      flat,
    },
    issues,
    warnings,
  );
  if (issues.length > 0) throw new ConfigError(sortIssues(dedupe(issues)), warnings);
  return deepFreeze({ config, warnings });
}

/** Group by file (files first, then env, then command line), keeping discovery order within one. */
function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  const rank = (f: string) => (f === 'env' ? 1 : f === 'command line' ? 2 : 0);
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort(
      (a, b) =>
        rank(a.issue.file) - rank(b.issue.file) || a.issue.file.localeCompare(b.issue.file) || a.i - b.i,
    )
    .map((x) => x.issue);
}

function dedupe(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.file}\0${i.key}\0${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
