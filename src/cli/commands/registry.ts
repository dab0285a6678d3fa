/**
 * @module cli/commands/registry
 * `mesher registry [--listen HOST:PORT] [--data-dir DIR | --in-memory | --etcd URL[,URL...]]`:
 * runs the ServiceComb v4 compatible registry. With `--etcd` (or `MESHER_ETCD_ENDPOINTS`) the data
 * lives in an etcd v3 cluster and any number of registries on it are replicas of one another.
 * Prints exactly one stdout line once listening (`mesher registry listening on http://HOST:PORT`);
 * SIGINT/SIGTERM flush storage, deregister and exit 0. Bad flags: one line on stderr naming the
 * flag, exit 2.
 */
import { parseEtcdEndpoints, startRegistry } from '../../registry/main.ts';
import { createLogger } from '../../shared/log.ts';

interface Flags {
  host: string;
  port: number;
  dataDir: string | null;
  /** etcd client URLs; null = the embedded store. */
  etcd: string[] | null;
  etcdNamespace: string | undefined;
}

const USAGE =
  'usage: mesher registry [--listen HOST:PORT] [--data-dir DIR | --in-memory | --etcd URL[,URL...] [--etcd-namespace PREFIX]]';

/** The environment variable that plays `--etcd` (the flag wins). */
export const ETCD_ENV = 'MESHER_ETCD_ENDPOINTS';

export function parseRegistryFlags(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): Flags | string {
  const flags: Flags = {
    host: '127.0.0.1',
    port: 30100,
    dataDir: './data/registry',
    etcd: null,
    etcdNamespace: undefined,
  };
  let storageFlag: string | null = null;
  const storage = (name: string): string | null => {
    if (storageFlag !== null && storageFlag !== name)
      return `mesher registry: ${storageFlag} and ${name} cannot be used together`;
    storageFlag = name;
    return null;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string | undefined => (inline !== undefined ? inline : argv[++i]);
    switch (name) {
      case '--listen': {
        const v = value();
        const m = v === undefined ? null : /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(v);
        const port = m ? Number(m[2]) : Number.NaN;
        if (!m || port > 65535) return `mesher registry: invalid --listen '${v ?? ''}' (want HOST:PORT)`;
        flags.host = m[1]!.replace(/^\[|\]$/g, '');
        flags.port = port;
        break;
      }
      case '--etcd': {
        const v = value();
        const clash = storage('--etcd');
        if (clash) return clash;
        if (v === undefined) return 'mesher registry: --etcd needs a value (http://HOST:PORT[,...])';
        try {
          flags.etcd = parseEtcdEndpoints(v, '--etcd');
        } catch (err) {
          return `mesher registry: ${(err as Error).message}`;
        }
        break;
      }
      case '--etcd-namespace': {
        const v = value();
        if (v === undefined || !/^\/[A-Za-z0-9_./-]{0,127}$/.test(v))
          return `mesher registry: invalid --etcd-namespace '${v ?? ''}' (a '/' then up to 127 of A-Z a-z 0-9 _ . / -)`;
        flags.etcdNamespace = v;
        break;
      }
      case '--data-dir': {
        const clash = storage('--data-dir');
        if (clash) return clash;
        const v = value();
        if (v === undefined) return "mesher registry: --data-dir needs a value (use '' for no persistence)";
        flags.dataDir = v === '' ? null : v;
        break;
      }
      case '--in-memory': {
        const clash = storage('--in-memory');
        if (clash) return clash;
        if (inline !== undefined) return 'mesher registry: --in-memory takes no value';
        flags.dataDir = null;
        break;
      }
      case '--help':
      case '-h':
        return USAGE;
      default:
        return `mesher registry: unknown flag '${arg}'\n${USAGE}`;
    }
  }
  const fromEnv = env[ETCD_ENV];
  if (flags.etcd === null && storageFlag === null && fromEnv) {
    try {
      flags.etcd = parseEtcdEndpoints(fromEnv, ETCD_ENV);
    } catch (err) {
      return `mesher registry: ${(err as Error).message}`;
    }
  }
  if (flags.etcdNamespace !== undefined && flags.etcd === null)
    return 'mesher registry: --etcd-namespace needs --etcd';
  return flags;
}

export async function run(argv: string[]): Promise<number | undefined> {
  const flags = parseRegistryFlags(argv);
  if (typeof flags === 'string') {
    const help = argv.includes('--help') || argv.includes('-h');
    (help ? process.stdout : process.stderr).write(`${flags}\n`);
    return help ? 0 : 2;
  }
  const log = createLogger('registry');
  let server: Awaited<ReturnType<typeof startRegistry>>;
  try {
    server = await startRegistry({
      host: flags.host,
      port: flags.port,
      dataDir: flags.dataDir,
      logger: log,
      ...(flags.etcd ? { etcd: { endpoints: flags.etcd, namespace: flags.etcdNamespace } } : {}),
    });
  } catch (err) {
    process.stderr.write(
      `mesher registry: cannot start: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return 1;
  }
  process.stdout.write(`mesher registry listening on ${server.url}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  return undefined;
}
