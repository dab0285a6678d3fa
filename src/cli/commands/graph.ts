/**
 * @module cli/commands/graph
 * `mesher graph`: who calls whom over a window, from the registry's topology view (built from the
 * sidecars' reports). One line per edge, `--dot` for Graphviz, `--json` for the whole view.
 * The number formatting here is shared with `mesher top`.
 */
import type { Topology, TopologyEdge } from '../../api-client/index.ts';
import { COMMON_USAGE, clientFrom, parseFlags } from '../flags.ts';
import { printedUsage, printJson, runCommand, table, usageError } from '../output.ts';

const USAGE = `usage: mesher graph [--window 60s] [--dot] [--json] [flags]

Who calls whom, with request rate, error ratio and p99 latency per edge, as the registry
aggregates the sidecars' topology reports (in memory per registry replica).

  --window D            the window: 30s, 5m or ms (default 60s, at most 5m)
  --dot                 print a Graphviz digraph (render with: dot -Tsvg)

${COMMON_USAGE}`;

export const WINDOW_OPTION = { window: { type: 'string' } } as const;

/** `12.3`, `0.05`, `1234` rps: three significant digits, no exponent. */
export function formatRate(rps: number): string {
  if (rps === 0) return '0';
  if (rps >= 100) return String(Math.round(rps));
  return String(Number(rps.toPrecision(3)));
}

export function formatRatio(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}

export function formatMs(ms: number | null): string {
  if (ms === null) return '-';
  return ms >= 10 ? `${Math.round(ms)} ms` : `${Number(ms.toPrecision(2))} ms`;
}

function edgeRows(edges: readonly TopologyEdge[]): string[][] {
  return edges.map((e) => [
    e.source,
    '→',
    e.destination,
    `${formatRate(e.rps)} rps`,
    `${formatRatio(e.errorRatio)} err`,
    `p50 ${formatMs(e.p50Ms)}`,
    `p99 ${formatMs(e.p99Ms)}`,
  ]);
}

const quote = (s: string) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;

/** A Graphviz digraph: every service a node, every active edge labelled; error-heavy edges red. */
export function toDot(t: Topology): string {
  const lines = ['digraph mesh {', '  rankdir=LR;', '  node [shape=box, fontname="sans-serif"];'];
  for (const n of t.nodes) lines.push(`  ${quote(n.service)};`);
  for (const e of t.edges) {
    const label = `${formatRate(e.rps)} rps\\n${formatRatio(e.errorRatio)} err\\np99 ${formatMs(e.p99Ms)}`;
    const color = e.errorRatio >= 0.05 ? ', color="red", fontcolor="red"' : '';
    lines.push(`  ${quote(e.source)} -> ${quote(e.destination)} [label="${label}"${color}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

export async function run(argv: string[]): Promise<number> {
  return runCommand('graph', async () => {
    const { values, positionals } = parseFlags(argv, { ...WINDOW_OPTION, dot: { type: 'boolean' } });
    if (printedUsage(values.help, USAGE)) return;
    if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'\n${USAGE}`);
    if (values.dot && values.json) throw usageError('--dot and --json cannot be combined');
    const topology = await clientFrom(values).topology.get({ window: values.window });
    if (values.json) {
      printJson(topology);
      return;
    }
    if (values.dot) {
      process.stdout.write(toDot(topology));
      return;
    }
    if (topology.edges.length === 0) {
      process.stdout.write(
        `no calls in the last ${topology.windowMs / 1000} s (${topology.reporters} sidecars reporting to this registry)\n`,
      );
      return;
    }
    // Aligned like a table, without the header: `client  →  server1  12.3 rps  0.0% err  …`.
    const text = table(['', '', '', '', '', '', ''], edgeRows(topology.edges));
    process.stdout.write(text.slice(text.indexOf('\n') + 1));
  });
}
