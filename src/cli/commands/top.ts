/**
 * @module cli/commands/top
 * `mesher top`: one row per service with its inbound rate, success ratio, p50/p99 latency and
 * caller count over a window (plus outbound rate), busiest first, from the registry's topology
 * view. `--watch N` refreshes every N seconds until interrupted; `--json` prints the services.
 */
import type { Topology, TopologyNode } from '../../api-client/index.ts';
import { COMMON_USAGE, clientFrom, parseFlags } from '../flags.ts';
import { printedUsage, printJson, runCommand, table, usageError } from '../output.ts';
import { formatMs, formatRate, formatRatio, WINDOW_OPTION } from './graph.ts';

const USAGE = `usage: mesher top [--window 60s] [--watch SECONDS] [--json] [flags]

Per service: inbound requests per second, success ratio, p50/p99 latency and number of callers,
and outbound requests per second, as the registry aggregates the sidecars' topology reports.

  --window D            the window: 30s, 5m or ms (default 60s, at most 5m)
  --watch SECONDS       refresh every SECONDS until interrupted (Ctrl-C)

${COMMON_USAGE}`;

/** Busiest first (inbound, then outbound rate), then by name. */
function ordered(t: Topology): TopologyNode[] {
  return [...t.nodes].sort(
    (a, b) =>
      b.inbound.rps - a.inbound.rps || b.outbound.rps - a.outbound.rps || a.service.localeCompare(b.service),
  );
}

export function topTable(t: Topology): string {
  const rows = ordered(t).map((n) => [
    n.service,
    n.app || '-',
    String(n.instances),
    formatRate(n.inbound.rps),
    n.inbound.requests === 0 ? '-' : formatRatio(1 - n.inbound.errorRatio),
    formatMs(n.inbound.p50Ms),
    formatMs(n.inbound.p99Ms),
    String(n.inbound.callers),
    formatRate(n.outbound.rps),
  ]);
  return table(
    ['SERVICE', 'APP', 'INSTANCES', 'RPS IN', 'SUCCESS', 'P50', 'P99', 'CALLERS', 'RPS OUT'],
    rows,
  );
}

export async function run(argv: string[]): Promise<number> {
  return runCommand('top', async () => {
    const { values, positionals } = parseFlags(argv, { ...WINDOW_OPTION, watch: { type: 'string' } });
    if (printedUsage(values.help, USAGE)) return;
    if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'\n${USAGE}`);
    let watchSeconds: number | undefined;
    if (values.watch !== undefined) {
      watchSeconds = Number(values.watch);
      if (!(Number.isFinite(watchSeconds) && watchSeconds >= 0.5 && watchSeconds <= 3600))
        throw usageError(`--watch must be a number of seconds from 0.5 to 3600, got '${values.watch}'`);
    }
    const api = clientFrom(values);
    for (;;) {
      const topology = await api.topology.get({ window: values.window });
      if (values.json) printJson(ordered(topology));
      else {
        // Redraw in place on a terminal; plain appended blocks when piped.
        if (watchSeconds !== undefined && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
        if (watchSeconds !== undefined)
          process.stdout.write(
            `${new Date(topology.generatedAt).toISOString()}  window ${topology.windowMs / 1000} s  ${topology.reporters} sidecars reporting\n`,
          );
        process.stdout.write(topTable(topology));
      }
      if (watchSeconds === undefined) return;
      await new Promise((r) => setTimeout(r, watchSeconds * 1000));
    }
  });
}
