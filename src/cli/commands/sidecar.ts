/**
 * @module cli/commands/sidecar
 * `mesher [sidecar] --config-dir DIR --service-ports rest:8080 [--mode sidecar|edge]`: load and
 * validate the config (every error at once, naming file and key; exit 2), start the sidecar, print
 * one "listening" line on stdout, and on SIGTERM/SIGINT deregister, drain and exit 0.
 */
import {
  isConfigError,
  loadSidecarConfig,
  parseSidecarFlags,
  SIDECAR_USAGE,
} from '../../sidecar/config/index.ts';
import { startSidecar } from '../../sidecar/main.ts';

/** How long in-flight and late requests are still served after deregistering (MESHER_DRAIN_MS). */
function drainMs(): number {
  const v = Number(process.env.MESHER_DRAIN_MS ?? '1000');
  return Number.isFinite(v) && v >= 0 ? v : 1000;
}

export async function run(argv: string[]): Promise<number | undefined> {
  let flags: ReturnType<typeof parseSidecarFlags>;
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
  let loaded: ReturnType<typeof loadSidecarConfig>;
  try {
    loaded = loadSidecarConfig({ flags });
  } catch (err) {
    if (isConfigError(err)) {
      process.stderr.write(`mesher sidecar: invalid configuration\n${err.message}\n`);
      // Warnings from the same pass often name the real cause (a misspelt key).
      for (const w of err.warnings) process.stderr.write(`mesher sidecar: warning: ${w}\n`);
      return 2;
    }
    throw err;
  }
  for (const w of loaded.warnings) process.stderr.write(`mesher sidecar: warning: ${w}\n`);

  let sidecar: Awaited<ReturnType<typeof startSidecar>>;
  try {
    sidecar = await startSidecar({ config: loaded.config });
  } catch (err) {
    // Route rules and telemetry keys are validated when the sidecar builds them.
    if (isConfigError(err)) {
      process.stderr.write(`mesher sidecar: invalid configuration\n${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const a = sidecar.addresses;
  const parts = [`outbound=${a.outbound.address}:${a.outbound.port}`];
  if (a.inbound) parts.push(`inbound=${a.inbound.address}:${a.inbound.port}`);
  if (a.admin) parts.push(`admin=${a.admin.address}:${a.admin.port}`);
  process.stdout.write(`mesher sidecar listening ${parts.join(' ')}\n`);

  const stop = (signal: NodeJS.Signals) => {
    process.stderr.write(`mesher sidecar: ${signal}, deregistering and draining\n`);
    sidecar.close({ drainMs: drainMs() }).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`mesher sidecar: error while stopping: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return undefined;
}
