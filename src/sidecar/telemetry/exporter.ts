/**
 * @module sidecar/telemetry/exporter
 * Batches finished spans off the request path. `enqueue` is O(1) and never blocks or allocates
 * beyond the array slot: the queue is bounded (`maxQueue`), a full queue drops the span and counts
 * it. A batch is sent when `maxBatch` spans are waiting or every `intervalMs`, one request at a
 * time; a failed or timed-out export drops that batch (no retry storm) and counts it, so an
 * unreachable collector costs one failed connection per batch and a counter, nothing per request.
 */
import type { Clock, TimerHandle } from '../../shared/clock.ts';
import type { FinishedSpan } from './span.ts';

/** Sends one encoded batch; rejects on any failure (connection, timeout, non-2xx). */
export type SpanSender = (body: Buffer) => Promise<void>;
export type SpanEncoder = (spans: readonly FinishedSpan[]) => Buffer;

export interface BatchExporterOptions {
  readonly clock: Clock;
  readonly encode: SpanEncoder;
  readonly send: SpanSender;
  /** Spans held at most; more are dropped (counted as `queue_full`). Default 2048. */
  readonly maxQueue?: number;
  /** Spans per export request; a full batch is sent at once. Default 512. */
  readonly maxBatch?: number;
  /** A partial batch is sent after at most this long. Default 5000. */
  readonly intervalMs?: number;
}

/** Counters the metrics module exposes as `mesher_trace_spans_*`. */
export interface ExporterStats {
  /** Spans the collector accepted. */
  exported: number;
  /** Spans dropped because the queue was full. */
  droppedQueueFull: number;
  /** Spans dropped because their batch failed to export. */
  droppedExportFailed: number;
  /** Export requests that failed. */
  exportFailures: number;
}

export class BatchExporter {
  readonly stats: ExporterStats = {
    exported: 0,
    droppedQueueFull: 0,
    droppedExportFailed: 0,
    exportFailures: 0,
  };
  readonly #clock: Clock;
  readonly #encode: SpanEncoder;
  readonly #send: SpanSender;
  readonly #maxQueue: number;
  readonly #maxBatch: number;
  #queue: FinishedSpan[] = [];
  #inFlight: Promise<void> | undefined;
  #kick: TimerHandle | undefined;
  readonly #interval: TimerHandle;
  #closed = false;

  constructor(opts: BatchExporterOptions) {
    this.#clock = opts.clock;
    this.#encode = opts.encode;
    this.#send = opts.send;
    this.#maxQueue = opts.maxQueue ?? 2048;
    this.#maxBatch = opts.maxBatch ?? 512;
    if (!(this.#maxBatch >= 1 && this.#maxQueue >= this.#maxBatch)) {
      throw new RangeError('BatchExporter: need 1 <= maxBatch <= maxQueue');
    }
    this.#interval = opts.clock.setInterval(() => this.#flushSoon(), opts.intervalMs ?? 5000);
  }

  /** Spans waiting to be sent. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Queue a span; false (and counted) when the queue is full or the exporter is closed. */
  enqueue(span: FinishedSpan): boolean {
    if (this.#closed || this.#queue.length >= this.#maxQueue) {
      this.stats.droppedQueueFull++;
      return false;
    }
    this.#queue.push(span);
    // A full batch goes out on the next timer turn, never inside the request's own tick.
    if (this.#queue.length >= this.#maxBatch && this.#kick === undefined && this.#inFlight === undefined) {
      this.#kick = this.#clock.setTimeout(() => {
        this.#kick = undefined;
        this.#flushSoon();
      }, 0);
    }
    return true;
  }

  #flushSoon(): void {
    if (this.#inFlight === undefined && this.#queue.length > 0) void this.flush();
  }

  /** Send everything queued, batch by batch; resolves when the last batch settled. Never rejects. */
  async flush(): Promise<void> {
    while (this.#inFlight !== undefined) await this.#inFlight;
    while (this.#queue.length > 0) {
      const batch = this.#queue.length <= this.#maxBatch ? this.#queue : this.#queue.slice(0, this.#maxBatch);
      this.#queue = batch === this.#queue ? [] : this.#queue.slice(this.#maxBatch);
      this.#inFlight = this.#exportBatch(batch);
      await this.#inFlight;
      this.#inFlight = undefined;
    }
  }

  async #exportBatch(batch: FinishedSpan[]): Promise<void> {
    try {
      await this.#send(this.#encode(batch));
      this.stats.exported += batch.length;
    } catch {
      this.stats.exportFailures++;
      this.stats.droppedExportFailed += batch.length;
    }
  }

  /** Stop the timers, send what is queued (bounded by the sender's own timeout), refuse new spans. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#interval.cancel();
    this.#kick?.cancel();
    await this.flush();
  }
}
