/**
 * @module registry/metrics/exposition
 * A reader for the Prometheus text format as prom-client writes it (one sample per line, no
 * timestamps, `# HELP`/`# TYPE` comments), for tests, benchmarks and tools that scrape a registry
 * or a sidecar. Not a general parser: escaped quotes inside label values are kept escaped.
 */

export interface ExpositionSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample in `text`; throws a SyntaxError naming the first line it cannot read. */
export function parseExposition(text: string): ExpositionSample[] {
  const out: ExpositionSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE_RE.exec(line);
    if (!m) throw new SyntaxError(`not a Prometheus text line: ${line.slice(0, 200)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL_RE)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/**
 * The sum of the samples called `name` whose labels include `labels` (a subset match), or
 * undefined when there is none.
 */
export function sampleValue(
  samples: readonly ExpositionSample[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  let sum: number | undefined;
  for (const s of samples) {
    if (s.name !== name) continue;
    let ok = true;
    for (const k in labels) if (s.labels[k] !== labels[k]) ok = false;
    if (ok) sum = (sum ?? 0) + s.value;
  }
  return sum;
}
