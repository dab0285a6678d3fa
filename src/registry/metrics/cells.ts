/**
 * @module registry/metrics/cells
 * The registry's own metric storage, shaped for prom-client's Registry (each family implements
 * the `get()` contract a registered metric has) but without its per-call label hashing:
 * - `HistogramFamily` hands out pre-bound `HistogramCell`s (plain numbers and a Float64Array),
 *   created once per label tuple and then incremented with no lookup and no allocation;
 * - `callbackMetric` reads a value (or a list of labelled values) when scraped, for gauges and
 *   for counters another component already keeps (the store's, the watcher's).
 * Nothing here runs a timer or keeps state beyond the cells.
 */

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly labels: Labels;
  readonly value: number;
  /** For histogram lines (`_bucket`, `_sum`, `_count`); the family's name otherwise. */
  readonly metricName?: string;
}

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** What prom-client's Registry reads from a registered metric (`registerMetric`). */
export interface PromMetric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: MetricType; aggregator: 'sum'; values: Sample[] }>;
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function checkName(name: string): void {
  if (!NAME_RE.test(name)) throw new RangeError(`metric name '${name}' is not a Prometheus name`);
}

/** A metric whose samples are read at scrape time: a number (no labels) or labelled samples. */
export function callbackMetric(
  name: string,
  help: string,
  type: 'counter' | 'gauge',
  read: () => number | readonly Sample[],
): PromMetric {
  checkName(name);
  return {
    name,
    help,
    type,
    aggregator: 'sum',
    async get() {
      const v = read();
      const values = typeof v === 'number' ? [{ labels: {}, value: v }] : [...v];
      return { name, help, type, aggregator: 'sum', values };
    },
  };
}

/** One label tuple of a histogram: observations in seconds (or any unit the bounds use). */
export class HistogramCell {
  /** Per-bucket counts, not cumulative (rendering makes them cumulative). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Labels,
    readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(v: number): void {
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += v;
    this.count++;
  }
}

/** A histogram family: cells are added once per label tuple by their owner, which keeps them. */
export class HistogramFamily implements PromMetric {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly cells: HistogramCell[] = [];
  readonly #bounds: readonly number[];
  readonly #maxCells: number;

  constructor(
    readonly name: string,
    readonly help: string,
    bounds: readonly number[],
    maxCells = 5000,
  ) {
    checkName(name);
    for (let i = 1; i < bounds.length; i++)
      if (!(bounds[i]! > bounds[i - 1]!)) throw new RangeError(`${name}: buckets must increase`);
    this.#bounds = bounds;
    this.#maxCells = maxCells;
  }

  /** A new cell for `labels`. Past `maxCells` the caller gets `overflow` (its labels folded). */
  add(labels: Labels, overflow?: () => HistogramCell): HistogramCell {
    if (this.cells.length >= this.#maxCells && overflow) return overflow();
    const cell = new HistogramCell(Object.freeze({ ...labels }), this.#bounds);
    this.cells.push(cell);
    return cell;
  }

  async get() {
    const values: Sample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const c of this.cells) {
      let acc = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        acc += c.counts[i]!;
        values.push({ metricName: bucket, labels: { ...c.labels, le: String(this.#bounds[i]) }, value: acc });
      }
      values.push({ metricName: bucket, labels: { ...c.labels, le: '+Inf' }, value: c.count });
      values.push({ metricName: `${this.name}_sum`, labels: c.labels, value: c.sum });
      values.push({ metricName: `${this.name}_count`, labels: c.labels, value: c.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
