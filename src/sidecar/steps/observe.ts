/**
 * @module sidecar/steps/observe
 * The telemetry step, first in both chains: it starts the call's span (joining the caller's trace
 * and rewriting the trace headers for the next hop), counts the call in flight, and when the call
 * is over, meaning the response body ended or was closed, or a MeshError was thrown, it records
 * the RED metrics, the span, the access-log line and, for failures, an entry in the recent-errors
 * ring. Thrown errors are rethrown unchanged for the rescue module.
 *
 * Hot path: one `CallRecord` object per call (it is the metrics sample, the trace slot and the
 * close listener at once); strings are built only for sampled spans and logged lines. Response
 * sizes come from Content-Length, or from a counting pass-through when the body has no length.
 */
import { channel } from 'node:diagnostics_channel';
import { Transform, type TransformCallback } from 'node:stream';
import { type Clock, systemClock } from '../../shared/clock.ts';
import { isMeshError } from '../../shared/errors.ts';
import type { CallContext, Outcome, Step } from '../chain/types.ts';
import type { AccessLog } from '../telemetry/access-log.ts';
import type { RecentErrors } from '../telemetry/recent-errors.ts';
import type { RequestMetrics, RequestSample } from '../telemetry/request-metrics.ts';
import { FinishedSpan } from '../telemetry/span.ts';
import type { Tracer, TraceSlot } from '../telemetry/tracer.ts';

export interface ObserveDeps {
  /** Our own service name and version (inbound destination / outbound source). */
  readonly localService: string;
  readonly localVersion: string;
  readonly metrics: RequestMetrics | undefined;
  readonly tracer: Tracer | undefined;
  readonly accessLog: AccessLog | undefined;
  readonly recentErrors: RecentErrors | undefined;
  readonly clock?: Clock;
}

/**
 * `diagnostics_channel` on which every finished call is published (only when someone subscribed:
 * `hasSubscribers` is checked first, so it costs nothing otherwise). The message is the
 * `ObservedCall` below; tools (topology, debugging) subscribe without touching the chain.
 */
export const CALL_CHANNEL = 'mesher:sidecar:call';
const callChannel = channel(CALL_CHANNEL);

/** What `mesher:sidecar:call` subscribers receive. */
export interface ObservedCall {
  readonly direction: 'inbound' | 'outbound';
  readonly source: string;
  readonly destination: string;
  readonly endpoint: string;
  readonly status: number;
  readonly errorCode: string;
  readonly durationMs: number;
  readonly traceId: string | undefined;
}

/** Content-Length from a flat header list; -1 when absent or malformed. */
export function contentLength(headers: readonly string[]): number {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length !== 14 || (name.charCodeAt(0) | 0x20) !== 0x63) continue;
    if (name.toLowerCase() !== 'content-length') continue;
    const n = Number(headers[i + 1]);
    return Number.isSafeInteger(n) && n >= 0 ? n : -1;
  }
  return -1;
}

/** Counts bytes flowing through (only used for responses without Content-Length). */
class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/** Everything known about one call; doubles as the metrics sample and the trace slot. */
class CallRecord implements RequestSample, TraceSlot {
  direction: 'inbound' | 'outbound';
  sourceService: string;
  destinationService: string;
  destinationVersion = '';
  status = 0;
  errorCode = '';
  errorMessage = '';
  instance = '';
  durationSeconds = 0;
  requestBytes: number;
  responseBytes = -1;
  traceId: string | undefined = undefined;
  spanId: string | undefined = undefined;
  parentSpanId: string | undefined = undefined;
  sampled = false;
  inFlight: { value: number } | undefined = undefined;
  counter: ByteCounter | undefined = undefined;
  done = false;

  constructor(
    readonly owner: Observer,
    readonly call: CallContext,
  ) {
    this.direction = call.direction;
    this.sourceService =
      call.direction === 'outbound' ? owner.localService : (call.source.service ?? 'unknown');
    this.destinationService = call.direction === 'outbound' ? call.service : owner.localService;
    this.requestBytes = call.hasBody ? contentLength(call.headers) : 0;
  }
}

class Observer {
  readonly localService: string;
  readonly localVersion: string;
  readonly metrics: RequestMetrics | undefined;
  readonly tracer: Tracer | undefined;
  readonly accessLog: AccessLog | undefined;
  readonly recentErrors: RecentErrors | undefined;
  readonly clock: Clock;

  constructor(deps: ObserveDeps) {
    this.localService = deps.localService;
    this.localVersion = deps.localVersion;
    this.metrics = deps.metrics;
    this.tracer = deps.tracer;
    this.accessLog = deps.accessLog;
    this.recentErrors = deps.recentErrors;
    this.clock = deps.clock ?? systemClock;
  }

  start(call: CallContext): CallRecord {
    const r = new CallRecord(this, call);
    if (this.metrics !== undefined) {
      r.inFlight = this.metrics.inFlight(call.direction, r.destinationService);
      r.inFlight.value++;
    }
    this.tracer?.begin(call, r);
    return r;
  }

  /** The chain answered: watch the body to its end (or record now when there is none). */
  answered(r: CallRecord, outcome: Outcome): Outcome {
    r.status = outcome.status;
    if (outcome.errorCode !== undefined) r.errorCode = outcome.errorCode;
    const body = outcome.body;
    if (body === null) {
      r.responseBytes = 0;
      this.finish(r);
      return outcome;
    }
    if (Buffer.isBuffer(body)) {
      r.responseBytes = body.length;
      this.finish(r);
      return outcome;
    }
    r.responseBytes = contentLength(outcome.headers);
    // One listener closure per streamed response (the only per-call closure).
    const onClose = () => this.finish(r);
    if (r.responseBytes >= 0 || (this.metrics === undefined && this.accessLog === undefined)) {
      body.once('close', onClose);
      return outcome;
    }
    // No length: count what flows. The counter is what the listener pipes; destroying it (client
    // gone) destroys the upstream body too.
    const counter = new ByteCounter();
    r.counter = counter;
    counter.once('close', onClose);
    body.once('error', (err) => counter.destroy(err));
    counter.once('close', () => {
      if (!body.destroyed && !body.readableEnded) body.destroy();
    });
    body.pipe(counter);
    return { ...outcome, body: counter };
  }

  failed(r: CallRecord, err: unknown): void {
    if (isMeshError(err)) {
      r.status = err.status;
      r.errorCode = err.code;
      r.errorMessage = err.message;
    } else {
      r.status = 500;
      r.errorCode = 'INTERNAL';
      r.errorMessage = 'Internal proxy error';
    }
    r.responseBytes = 0;
    this.finish(r);
  }

  finish(r: CallRecord): void {
    if (r.done) return;
    r.done = true;
    const call = r.call;
    const durationMs = performance.now() - call.timings.startMs;
    r.durationSeconds = durationMs / 1000;
    if (r.counter !== undefined) r.responseBytes = r.counter.bytes;
    const target = call.target;
    if (call.direction === 'outbound') r.destinationVersion = call.endpoint?.version ?? '';
    else r.destinationVersion = this.localVersion;
    if (target !== undefined) r.instance = target.key;
    if (r.inFlight !== undefined) r.inFlight.value--;
    this.metrics?.record(r);
    if (r.sampled && this.tracer?.exporting) {
      const peerService = call.direction === 'outbound' ? call.service : call.source.service;
      const peerAddress =
        call.direction === 'outbound'
          ? target === undefined
            ? undefined
            : `${target.host}:${target.port}`
          : call.source.address;
      this.tracer.end(
        new FinishedSpan(
          r.traceId!,
          r.spanId!,
          r.parentSpanId,
          call.direction === 'outbound' ? 'client' : 'server',
          // Wall-clock start = now - elapsed: one clock read, and only for sampled spans.
          this.clock.now() - durationMs,
          durationMs,
          call.method,
          call.path,
          r.status,
          r.errorCode === '' ? undefined : r.errorCode,
          peerService,
          peerAddress,
          call.attempt,
        ),
      );
    }
    const isFailure = r.errorCode !== '' || r.status >= 500;
    if (isFailure && this.recentErrors !== undefined) {
      this.recentErrors.record({
        time: this.clock.now(),
        direction: call.direction,
        service: call.direction === 'outbound' ? call.service : (call.source.service ?? 'unknown'),
        endpoint: target?.key ?? '',
        code: r.errorCode !== '' ? r.errorCode : `HTTP_${r.status}`,
        message: r.errorMessage !== '' ? r.errorMessage : `upstream answered ${r.status}`,
        status: r.status,
        traceId: r.traceId,
      });
    }
    if (callChannel.hasSubscribers) {
      const message: ObservedCall = {
        direction: call.direction,
        source: r.sourceService,
        destination: r.destinationService,
        endpoint: r.instance,
        status: r.status,
        errorCode: r.errorCode,
        durationMs,
        traceId: r.traceId,
      };
      callChannel.publish(message);
    }
    const log = this.accessLog;
    if (log?.sample()) {
      log.write({
        direction: call.direction,
        source: call.direction === 'outbound' ? this.localService : call.source.service,
        destination: r.destinationService,
        endpoint: target?.key,
        method: call.method,
        path: call.path,
        status: r.status,
        errorCode: r.errorCode === '' ? undefined : r.errorCode,
        durationMs: Math.round(durationMs * 1000) / 1000,
        bytesIn: r.requestBytes,
        bytesOut: r.responseBytes,
        attempt: call.attempt,
        traceId: r.traceId,
        spanId: r.spanId,
      });
    }
  }
}

/**
 * The observe step. Put it first in both chains so it sees every call and every error the later
 * steps throw: `extraSteps: (c) => ({ outbound: [observe, ...], inbound: [observe, ...] })`.
 */
export function createObserve(deps: ObserveDeps): Step {
  const observer = new Observer(deps);
  return async function observe(call, next) {
    const r = observer.start(call);
    let outcome: Outcome;
    try {
      outcome = await next(call);
    } catch (err) {
      observer.failed(r, err);
      throw err;
    }
    return observer.answered(r, outcome);
  };
}
