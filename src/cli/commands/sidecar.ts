/**
 * @module cli/commands/sidecar
 * `mesher [sidecar] --config-dir DIR --service-ports rest:8080 [--mode sidecar|edge]`: load and
 * validate the config (every error at once, naming file and key; exit 2), start the sidecar, print
 * one "listening" line on stdout, and on SIGTERM/SIGINT shut down gracefully (deregister, keep
 * serving for the drain period, close with a bound on in-flight requests) and exit 0. A second
 * signal, or the hard deadline (`mesher.shutdown.deadlineMs`), exits at once.
 */
import {
  isConfigError,
  loadSidecarConfig,
  parseSidecarFlags,
  SIDECAR_USAGE,
  type SidecarFlags,
} from '../../sidecar/config/index.ts';
import { handleShutdownSignals } from '../../sidecar/lifecycle/signals.ts';
import { type Sidecar, startSidecar } from '../../sidecar/main.ts';

/**
 * Load the config for `flags` and start the sidecar. Problems are written to stderr prefixed with
 * `name`; the result is then the exit code (2 for invalid configuration).
 */
export async function startFromFlags(flags: SidecarFlags, name: string): Promise<Sidecar | number> {
  let loaded: ReturnType<typeof loadSidecarConfig>;
  try {
    loaded = loadSidecarConfig({ flags });
  } catch (err) {
    if (isConfigError(err)) {
      process.stderr.write(`${name}: invalid configuration\n${err.message}\n`);
      // Warnings from the same pass often name the real cause (a misspelt key).
      for (const w of err.warnings) process.stderr.write(`${name}: warning: ${w}\n`);
      return 2;
    }
    throw err;
  }
  for (const w of loaded.warnings) process.stderr.write(`${name}: warning: ${w}\n`);
  try {
    return await startSidecar({ config: loaded.config });
  } catch (err) {
    // Route rules, telemetry keys, localHealthCheck and mesher.shutdown are validated when the sidecar builds them.
    if (isConfigError(err)) {
      process.stderr.write(`${name}: invalid configuration\n${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

/** `outbound=127.0.0.1:p inbound=... admin=...`, as printed in the listening line. */
export function describeAddresses(sidecar: Sidecar): string {
  const a = sidecar.addresses;
  const parts = [`outbound=${a.outbound.address}:${a.outbound.port}`];
  if (a.inbound) parts.push(`inbound=${a.inbound.address}:${a.inbound.port}`);
  if (a.admin) parts.push(`admin=${a.admin.address}:${a.admin.port}`);
  return parts.join(' ');
}

export async function run(argv: string[]): Promise<number | undefined> {
  let flags: SidecarFlags;
  try {
    flags = parseSidecarFlags(argv);
  } catch (err) {
    process.stderr.write(`mesher sidecar: ${(err as Error).message}\n${SIDECAR_USAGE}\n`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(`${SIDECAR_USAGE}\n`);
    return 0;
  }
  const sidecar = await startFromFlags(flags, 'mesher sidecar');
  if (typeof sidecar === 'number') return sidecar;
  process.stdout.write(`mesher sidecar listening ${describeAddresses(sidecar)}\n`);

  handleShutdownSignals({
    name: 'mesher sidecar',
    deadlineMs: sidecar.shutdownSettings.deadlineMs,
    onSignal: async () => {
      await sidecar.shutdown();
      return 0;
    },
  });
  return undefined;
}
