/**
 * @module sidecar/telemetry/access-log
 * One JSON line per request through pino, to stdout or a file, written asynchronously
 * (`pino.destination({ sync: false })`, i.e. sonic-boom) so the event loop never waits for the
 * disk. The in-memory buffer is bounded (`maxBufferBytes`): when the disk cannot keep up, lines
 * are dropped and counted instead of growing memory. Sampling happens before any string is built.
 */
import { type DestinationStream, type Logger, pino } from 'pino';
import type { Random } from '../../shared/clock.ts';

/** The fields of one line (pino adds `log: "access"` and `time`, ISO 8601). */
export interface AccessLogEntry {
  readonly direction: 'inbound' | 'outbound';
  readonly source: string | undefined;
  readonly destination: string;
  readonly endpoint: string | undefined;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly errorCode: string | undefined;
  readonly durationMs: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly attempt: number;
  readonly traceId: string | undefined;
  readonly spanId: string | undefined;
}

export interface AccessLogOptions {
  readonly sampleRate: number;
  readonly random: Random;
  /** A file path, or "" for stdout. */
  readonly file?: string;
  /** A ready-made destination (tests). */
  readonly destination?: DestinationStream;
  /** Bytes buffered before lines are dropped. Default 16 MiB. */
  readonly maxBufferBytes?: number;
}

export class AccessLog {
  readonly #logger: Logger;
  readonly #sampleRate: number;
  readonly #random: Random;
  readonly #dest: DestinationStream & { flushSync?: () => void; end?: () => void };
  /** Lines dropped because the destination's buffer was full. */
  dropped = 0;
  written = 0;

  constructor(opts: AccessLogOptions) {
    this.#sampleRate = opts.sampleRate;
    this.#random = opts.random;
    if (opts.destination !== undefined) this.#dest = opts.destination;
    else {
      const boom = pino.destination({
        dest: opts.file === undefined || opts.file === '' ? 1 : opts.file,
        sync: false,
        mkdir: true,
        maxLength: opts.maxBufferBytes ?? 16 * 1024 * 1024,
      });
      boom.on('drop', () => {
        this.dropped++;
      });
      boom.on('error', () => {
        this.dropped++;
      });
      this.#dest = boom;
    }
    this.#logger = pino(
      {
        base: null,
        messageKey: 'msg',
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: () => ({ log: 'access' }) },
      },
      this.#dest,
    );
  }

  /** Whether this request should be logged (decided before any field is gathered). */
  sample(): boolean {
    return this.#sampleRate >= 1 || (this.#sampleRate > 0 && this.#random() < this.#sampleRate);
  }

  write(e: AccessLogEntry): void {
    this.written++;
    this.#logger.info(e);
  }

  close(): void {
    try {
      this.#dest.flushSync?.();
    } catch {
      // an async destination that is not ready yet cannot flush synchronously; its end() below still flushes
    }
    if (this.#dest !== process.stdout) this.#dest.end?.();
  }
}
