/**
 * @module cli/v8-flags
 * V8 heap settings the long-running sidecar applies to itself before it loads anything heavy,
 * so that plain `node dist/cli/main.js sidecar` takes them without a wrapper or NODE_OPTIONS.
 *
 * Why (docs/benchmarks.md, "Memory"): with V8's defaults the young generation grows to two 16 MB
 * semi-spaces while the modules load and under load, and every page of it that was touched stays
 * resident. `MESHER_V8_FLAGS=--optimize-for-size` keeps it at a few MB (idle -13 MB, at 1,000 rps
 * -5 to -7 MB, at saturation -25 MB RSS), but measured side by side with bench/hot-path/run.ts it
 * cost 10-20% CPU per request at saturation and raised p99 at 1,000 rps several-fold (not profiled;
 * presumably its more frequent full GCs), so the default is no flags: an opt-in for memory-tight deployments.
 *
 * Only flags that V8 reads while it runs work here: `--max-semi-space-size` is fixed when the
 * heap is created and has no effect once the process started (measured: docs/benchmarks.md "Memory"),
 * so it is on the node command line: the `mesher` executable's shebang (./main.ts) gives 32 MB
 * semi-spaces (docs/lifecycle.md, docs/benchmarks.md "Young generation").
 *
 *   MESHER_V8_FLAGS unset   → DEFAULT_SIDECAR_V8_FLAGS
 *   MESHER_V8_FLAGS=off     → nothing (V8's defaults); so does an empty value
 *   MESHER_V8_FLAGS="--a --b=1" → exactly these (space-separated)
 */
import { setFlagsFromString } from 'node:v8';

/** What `mesher sidecar` applies unless MESHER_V8_FLAGS says otherwise (none: see above). */
export const DEFAULT_SIDECAR_V8_FLAGS: readonly string[] = Object.freeze([]);

/** The measured memory-saving choice, for MESHER_V8_FLAGS (docs/benchmarks.md "Memory"). */
export const SMALL_HEAP_V8_FLAGS: readonly string[] = Object.freeze(['--optimize-for-size']);

/** The flags MESHER_V8_FLAGS asks for (the default when unset). Throws on a token that is not a `--flag`. */
export function sidecarV8Flags(env: Readonly<Record<string, string | undefined>>): readonly string[] {
  const raw = env.MESHER_V8_FLAGS;
  if (raw === undefined) return DEFAULT_SIDECAR_V8_FLAGS;
  const text = raw.trim();
  if (text === '' || text === 'off') return [];
  const flags = text.split(/\s+/);
  const bad = flags.find((f) => !/^--[a-z0-9][a-z0-9_-]*(=[^\s]*)?$/i.test(f));
  if (bad !== undefined) throw new Error(`MESHER_V8_FLAGS: '${bad}' is not a --flag or --flag=value`);
  return flags;
}

/** Apply `flags` to the running V8; returns them (for the start-up log). */
export function applyV8Flags(flags: readonly string[]): readonly string[] {
  for (const f of flags) setFlagsFromString(f);
  return flags;
}
