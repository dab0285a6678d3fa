/**
 * @module sidecar/config/flags
 * Command-line flags of `mesher [sidecar]`. Parsing only checks the flags' shape; their values are
 * validated by the loader together with everything else, so all problems are reported at once.
 */
import { ConfigError } from './config-error.ts';
import type { ConfigIssue } from './types.ts';

export interface SidecarFlags {
  /** --config-dir DIR: where chassis.yaml, microservice.yaml, mesher.yaml live. */
  readonly configDir?: string;
  /** --config FILE: the original's flag for mesher.yaml's path (read instead of <dir>/mesher.yaml). */
  readonly configFile?: string;
  /** --service-ports rest:8080[,grpc:9000] (raw; parsed by the loader). */
  readonly servicePorts?: string;
  /** --mode sidecar|edge (default sidecar). */
  readonly mode?: 'sidecar' | 'edge';
  /** --help / -h was given. */
  readonly help?: boolean;
}

export const SIDECAR_USAGE = `usage: mesher [sidecar] [flags]

  --config-dir DIR          config directory (default: $CHASSIS_CONF_DIR, $CHASSIS_HOME/conf, ./conf)
  --config FILE             mesher.yaml to read instead of DIR/mesher.yaml
  --service-ports LIST      local application ports, e.g. rest:8080,grpc:9000 (env SERVICE_PORTS)
  --mode sidecar|edge       run as a sidecar (default) or as an edge gateway
  -h, --help                show this help`;

const VALUE_FLAGS = {
  '--config-dir': 'configDir',
  '--config': 'configFile',
  '--service-ports': 'servicePorts',
  '--mode': 'mode',
} as const;

const KNOWN = [...Object.keys(VALUE_FLAGS), '--help'].join(', ');

/** Parse `[sidecar] --flag value | --flag=value ...`; throws ConfigError listing every bad flag. */
export function parseSidecarFlags(argv: readonly string[]): SidecarFlags {
  const out: Record<string, string | boolean> = {};
  const issues: ConfigIssue[] = [];
  const bad = (key: string, message: string) => issues.push({ file: 'command line', key, message });
  let i = argv[0] === 'sidecar' ? 1 : 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h' || arg === '--help') {
      out.help = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const field = VALUE_FLAGS[name as keyof typeof VALUE_FLAGS];
    if (!field) {
      bad(arg, arg.startsWith('-') ? `unknown flag (known: ${KNOWN})` : 'unexpected argument');
      continue;
    }
    let value: string | undefined;
    if (eq > 0 && name !== arg) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('--')) {
        value = next;
        i++;
      }
    }
    if (value === undefined || value === '') {
      bad(name, 'needs a value');
      continue;
    }
    if (out[field] !== undefined) bad(name, 'given more than once');
    if (field === 'mode' && value !== 'sidecar' && value !== 'edge') {
      bad(
        name,
        `must be sidecar or edge, not "${value}"${value === 'per-host' ? ' (per-host is not supported)' : ''}`,
      );
      continue;
    }
    out[field] = value;
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return out as SidecarFlags;
}
