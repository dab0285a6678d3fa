/**
 * @module sidecar/telemetry/labeled-metric
 * A small counter or gauge keyed by a tuple of label values, bounded to `maxSeries` (further tuples
 * are folded into one series whose labels are all `other`), that a prom-client Registry can
 * render (it implements the registry's `get()` contract). Used for the governance counters
 * (retries, rate limits, circuits, ejections, faults) and health gauges: not the per-request
 * hot path, which has its own pre-bound storage in ./request-metrics.ts.
 */
import { OTHER } from './label-cap.ts';

type Labels = Record<string, string>;

interface MetricValue {
  value: number;
  labels: Labels;
}

/** The shape prom-client's Registry reads from a registered metric. */
export interface RegistryMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: unknown[] }>;
}

export class LabeledMetric implements RegistryMetric {
  readonly aggregator = 'sum' as const;
  readonly #series = new Map<string, MetricValue>();
  readonly #labelNames: readonly string[];
  readonly #maxSeries: number;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
    labelNames: readonly string[],
    maxSeries = 10_000,
  ) {
    this.#labelNames = labelNames;
    this.#maxSeries = maxSeries;
  }

  #entry(values: readonly string[]): MetricValue {
    const key = values.length === 1 ? values[0]! : values.join('\u0001');
    let e = this.#series.get(key);
    if (e === undefined) {
      const folded = this.#series.size >= this.#maxSeries;
      const labels: Labels = {};
      for (let i = 0; i < this.#labelNames.length; i++) {
        labels[this.#labelNames[i]!] = folded ? OTHER : (values[i] ?? '');
      }
      const k = folded ? OTHER : key;
      e = this.#series.get(k) ?? { value: 0, labels };
      this.#series.set(k, e);
    }
    return e;
  }

  inc(values: readonly string[], by = 1): void {
    this.#entry(values).value += by;
  }

  set(values: readonly string[], value: number): void {
    this.#entry(values).value = value;
  }

  value(values: readonly string[]): number {
    const key = values.length === 1 ? values[0]! : values.join('\u0001');
    return this.#series.get(key)?.value ?? 0;
  }

  /** Forget one series (a gauge for an instance that went away). */
  remove(values: readonly string[]): void {
    this.#series.delete(values.length === 1 ? values[0]! : values.join('\u0001'));
  }

  async get() {
    const values: MetricValue[] = [];
    for (const e of this.#series.values()) values.push({ value: e.value, labels: e.labels });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** A metric whose value is read at scrape time (exporter stats, queue depth...). */
export class ReadMetric implements RegistryMetric {
  readonly aggregator = 'sum' as const;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
    private readonly read: () => ReadonlyArray<readonly [Labels, number]>,
  ) {}

  async get() {
    const values = this.read().map(([labels, value]) => ({ labels, value }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
