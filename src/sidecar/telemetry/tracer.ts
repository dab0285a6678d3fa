/**
 * @module sidecar/telemetry/tracer
 * Per-call trace decisions: join the caller's trace (or start one), decide sampling parent-based
 * (a caller's decision is always followed; a new trace is sampled with probability
 * `samplingRate`), give the proxy's own span a fresh id and rewrite the outgoing trace headers so
 * the next hop's parent is this span. Finished sampled spans go to the BatchExporter.
 *
 * The sampling decision is propagated even when it is "no" (flag 0), so every hop of one trace
 * agrees and a 1% rate gives 1% of whole traces, not fragments.
 */
import type { Random } from '../../shared/clock.ts';
import type { CallContext } from '../chain/types.ts';
import type { BatchExporter } from './exporter.ts';
import type { IdSource } from './ids.ts';
import type { FinishedSpan } from './span.ts';
import { extract, formatsToBits, inject, type PropagationFormat } from './trace-context.ts';

/** Where the tracer writes a call's trace identity (the observe step's per-call record). */
export interface TraceSlot {
  traceId: string | undefined;
  spanId: string | undefined;
  parentSpanId: string | undefined;
  sampled: boolean;
}

export interface TracerOptions {
  readonly samplingRate: number;
  readonly propagation: readonly PropagationFormat[];
  readonly ids: IdSource;
  readonly random: Random;
  /** Where sampled spans go; undefined = propagate only (no collector configured). */
  readonly exporter: BatchExporter | undefined;
}

export class Tracer {
  readonly #rate: number;
  readonly #formats: number;
  readonly #ids: IdSource;
  readonly #random: Random;
  readonly #exporter: BatchExporter | undefined;

  constructor(opts: TracerOptions) {
    this.#rate = opts.samplingRate;
    this.#formats = formatsToBits(opts.propagation);
    this.#ids = opts.ids;
    this.#random = opts.random;
    this.#exporter = opts.exporter;
  }

  /** Decide the call's trace identity into `slot` and rewrite `call.headers` for the next hop. */
  begin(call: CallContext, slot: TraceSlot): void {
    const found = extract(call.headers);
    const parent = found.parent;
    const formats = this.#formats | found.formats;
    let traceState: string | undefined;
    if (parent !== undefined && parent.traceId !== undefined) {
      slot.traceId = parent.traceId;
      slot.parentSpanId = parent.spanId;
      slot.sampled = parent.sampled ?? this.#decide();
      traceState = parent.traceState;
    } else {
      slot.traceId = this.#ids.traceId();
      slot.parentSpanId = undefined;
      slot.sampled = parent !== undefined ? parent.sampled : this.#decide();
    }
    const spanId = this.#ids.spanId();
    slot.spanId = spanId;
    call.headers = inject(
      call.headers,
      found.present,
      { traceId: slot.traceId, spanId, parentSpanId: slot.parentSpanId, sampled: slot.sampled, traceState },
      formats,
    );
  }

  #decide(): boolean {
    return this.#rate >= 1 || (this.#rate > 0 && this.#random() < this.#rate);
  }

  /** Hand a finished sampled span to the exporter (no-op without a collector). */
  end(span: FinishedSpan): void {
    this.#exporter?.enqueue(span);
  }

  get exporting(): boolean {
    return this.#exporter !== undefined;
  }
}
