/**
 * @module sidecar/config/sources
 * Turns the config directory and the environment into one list of flat entries, each remembering
 * where it came from (`chassis.yaml`, `env`) and its rank, then picks one winner per key:
 * environment over files, `servicecomb.` over `cse.` within a source, earlier file over later.
 * Every file is bounded (size, key count, nesting depth, YAML aliases).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { canonicalKey, KNOWN_TOP } from './schema.ts';
import { substitute } from './substitute.ts';
import type { ConfigIssue } from './types.ts';

export const MAX_FILE_BYTES = 1024 * 1024;
export const MAX_KEYS_PER_FILE = 10_000;
const MAX_DEPTH = 32;

/** Source ranks: a higher rank wins. */
export const RANK = { file: 1, envAlias: 2, env: 3 } as const;

export interface Entry {
  /** The key as written (`cse.loadbalance.strategy.name`, or the env var's dotted form). */
  readonly key: string;
  readonly canonical: string;
  readonly value: unknown;
  /** ConfigIssue.file for this entry: a file name, or `env`. */
  readonly file: string;
  /** ConfigIssue.key for this entry: the key as written, or the env variable's name. */
  readonly where: string;
  readonly rank: number;
  /** Order of appearance (file order, then position), for deterministic tie-breaks. */
  readonly seq: number;
}

type Env = Readonly<Record<string, string | undefined>>;
const REQUIRED = ['chassis.yaml', 'microservice.yaml'];
const FIRST = ['chassis.yaml', 'microservice.yaml', 'mesher.yaml'];

/** The files to read, in priority order: chassis, microservice, mesher, then the rest alphabetically. */
export function listConfigFiles(confDir: string, issues: ConfigIssue[]): string[] {
  let names: string[];
  try {
    names = readdirSync(confDir).filter((n) => /\.ya?ml$/.test(n));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    issues.push({
      file: confDir,
      key: '',
      message:
        code === 'ENOENT'
          ? 'config directory does not exist (set --config-dir, CHASSIS_CONF_DIR or CHASSIS_HOME)'
          : `cannot read config directory: ${(err as Error).message}`,
    });
    return [];
  }
  for (const r of REQUIRED) {
    if (!names.includes(r))
      issues.push({ file: r, key: '', message: `required file is missing from ${confDir}` });
  }
  const rest = names.filter((n) => !FIRST.includes(n)).sort();
  return [...FIRST.filter((n) => names.includes(n)), ...rest].map((n) => join(confDir, n));
}

/** Flatten a parsed YAML tree into dotted keys; arrays and scalars are leaves, null means "not set". */
function flatten(
  node: unknown,
  prefix: string,
  out: Array<[string, unknown]>,
  depth: number,
  fail: (m: string) => void,
): void {
  if (depth > MAX_DEPTH) {
    fail(`nesting deeper than ${MAX_DEPTH} levels under ${prefix}`);
    return;
  }
  if (node === null || node === undefined) return;
  if (typeof node === 'object' && !Array.isArray(node) && !(node instanceof Date)) {
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      flatten(v, prefix ? `${prefix}.${k}` : k, out, depth + 1, fail);
    }
    return;
  }
  if (out.length >= MAX_KEYS_PER_FILE) {
    fail(`more than ${MAX_KEYS_PER_FILE} keys`);
    return;
  }
  out.push([prefix, node instanceof Date ? node.toISOString() : node]);
}

/** Read one YAML file into entries. `name` is how issues refer to it (the file's base name). */
export function readYamlFile(
  path: string,
  rankSeq: { seq: number },
  env: Env,
  issues: ConfigIssue[],
  warnings: string[],
  name = basename(path),
): Entry[] {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_FILE_BYTES) {
      issues.push({ file: name, key: '', message: `file is ${size} bytes; the limit is ${MAX_FILE_BYTES}` });
      return [];
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    issues.push({ file: name, key: '', message: `cannot read: ${(err as Error).message}` });
    return [];
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const at = lineCounter.linePos(e.pos[0]);
      const where = at ? `line ${at.line}, column ${at.col}: ` : '';
      issues.push({ file: name, key: '', message: `invalid YAML: ${where}${e.message.split('\n')[0]}` });
    }
    return [];
  }
  for (const w of doc.warnings) warnings.push(`${name}: ${w.message.split('\n')[0]}`);
  let tree: unknown;
  try {
    tree = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    issues.push({ file: name, key: '', message: `invalid YAML: ${(err as Error).message}` });
    return [];
  }
  if (tree === null || tree === undefined) return [];
  if (typeof tree !== 'object' || Array.isArray(tree)) {
    issues.push({ file: name, key: '', message: 'the top level must be a map of keys' });
    return [];
  }
  const pairs: Array<[string, unknown]> = [];
  let failed = false;
  flatten(tree, '', pairs, 0, (m) => {
    if (!failed) issues.push({ file: name, key: '', message: m });
    failed = true;
  });
  return pairs.map(([key, raw]) => {
    const value = substitute(raw, env, (v) =>
      warnings.push(
        `${name}: ${key}: environment variable ${v} is not set and \${${v}} has no default; using ""`,
      ),
    );
    return {
      key,
      canonical: canonicalKey(key),
      value,
      file: name,
      where: key,
      rank: RANK.file,
      seq: rankSeq.seq++,
    };
  });
}

/**
 * Environment overrides, as the original: a variable is seen as-is and with `_` turned into `.`
 * (`servicecomb_registry_address` -> `servicecomb.registry.address`). To keep PATH and friends out,
 * only variables whose dotted form starts with `servicecomb.`/`cse.`, or names a known top-level
 * namespace, or matches a key some file sets, count. Empty values count as unset.
 */
export function envEntries(env: Env, fileKeys: ReadonlySet<string>, rankSeq: { seq: number }): Entry[] {
  const out: Entry[] = [];
  const tops = new Set<string>(KNOWN_TOP);
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    const dotted = name.includes('.') ? name : name.replaceAll('_', '.');
    const canonical = canonicalKey(dotted);
    const top = canonical.split('.')[0] as string;
    let key: string | undefined;
    if (fileKeys.has(canonicalKey(name))) key = name;
    else if (canonical.startsWith('servicecomb.') || (tops.has(top) && canonical.includes('.'))) key = dotted;
    else if (fileKeys.has(canonical)) key = dotted;
    if (key === undefined) continue;
    out.push({
      key,
      canonical: canonicalKey(key),
      value,
      file: 'env',
      where: name,
      rank: RANK.env,
      seq: rankSeq.seq++,
    });
  }
  return out;
}

/** The go-chassis variables that stand for a config key (below an explicit key override). */
const ENV_ALIASES: ReadonlyArray<{ names: readonly string[]; key: string }> = [
  { names: ['PAAS_CSE_SC_ENDPOINT', 'PAAS_CSE_ENDPOINT'], key: 'servicecomb.registry.address' },
  { names: ['CAS_COMPONENT_NAME'], key: 'servicecomb.service.name' },
  { names: ['CAS_APPLICATION_NAME'], key: 'servicecomb.service.app' },
  { names: ['CAS_INSTANCE_VERSION'], key: 'servicecomb.service.version' },
];

export function envAliasEntries(env: Env, rankSeq: { seq: number }): Entry[] {
  const out: Entry[] = [];
  for (const a of ENV_ALIASES) {
    const name = a.names.find((n) => env[n] !== undefined && env[n] !== '');
    if (!name) continue;
    out.push({
      key: a.key,
      canonical: a.key,
      value: env[name],
      file: 'env',
      where: name,
      rank: RANK.envAlias,
      seq: rankSeq.seq++,
    });
  }
  return out;
}

function better(a: Entry, b: Entry): boolean {
  if (a.rank !== b.rank) return a.rank > b.rank;
  const aCanon = a.key === a.canonical;
  const bCanon = b.key === b.canonical;
  if (aCanon !== bCanon) return aCanon;
  return a.seq < b.seq;
}

/** One winner per canonical key; warns when two files disagree about a key. */
export function pickWinners(entries: readonly Entry[], warnings: string[]): Map<string, Entry> {
  const winners = new Map<string, Entry>();
  const fileSeen = new Map<string, Entry>();
  for (const e of entries) {
    if (e.rank === RANK.file) {
      const prev = fileSeen.get(e.canonical);
      if (prev && JSON.stringify(prev.value) !== JSON.stringify(e.value)) {
        const win = better(prev, e) ? prev : e;
        const lose = win === prev ? e : prev;
        warnings.push(
          `${lose.file}: ${lose.key}: also set in ${win.file} as ${win.key}; using the value from ${win.file}`,
        );
      }
      if (!prev || better(e, prev)) fileSeen.set(e.canonical, e);
    }
    const cur = winners.get(e.canonical);
    if (!cur || better(e, cur)) winners.set(e.canonical, e);
  }
  return winners;
}
