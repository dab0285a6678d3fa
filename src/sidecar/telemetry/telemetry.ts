/**
 * @module sidecar/telemetry/telemetry
 * One sidecar's telemetry, built by `createTelemetry`: its own prom-client Registry (never the
 * global one, so several sidecars in one process do not collide) with request metrics, governance
 * counters, exporter and process metrics; the tracer and its batch exporter; the access log; the
 * recent-errors ring; and the observe steps the wiring puts first in each chain:
 *
 *   const telemetry = createTelemetry({ config });
 *   createDataPlane({ ..., extraSteps: (c) => telemetry.steps(c) });
 *   router: '/v1/mesher/metrics' and '/metrics' → telemetry.metricsHandler,
 *           '/v1/mesher/log-level' → telemetry.logLevelHandler,
 *           '/v1/mesher/errors' → telemetry.recentErrorsHandler
 *   registration/registry client → telemetry.counters.setRegistryHealth(ok), setRegistered(ok)
 *   close(): after the data plane closed (flushes queued spans, closes the access-log file).
 *
 * `createTelemetry` throws a ConfigError on bad telemetry keys (startup fails loudly); later
 * config versions with bad keys are logged and the last good settings stay in force.
 */
import type { DestinationStream } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { type Clock, type Random, systemClock, systemRandom } from '../../shared/clock.ts';
import { createLogger } from '../../shared/log.ts';
import { createLogLevelHandler } from '../admin/log-level.ts';
import { createMetricsHandler } from '../admin/metrics.ts';
import { createRecentErrorsHandler } from '../admin/recent-errors.ts';
import type { AdminHandler } from '../admin/types.ts';
import type { Step } from '../chain/types.ts';
import type { SidecarConfig } from '../config/types.ts';
import { createObserve } from '../steps/observe.ts';
import { AccessLog } from './access-log.ts';
import { parseTelemetrySettings, type TelemetrySettings } from './config.ts';
import { createGovernanceCounters, type GovernanceCounters } from './counters.ts';
import { BatchExporter, type SpanSender } from './exporter.ts';
import { createHttpSender } from './http-sender.ts';
import { createRandomIds, type IdSource } from './ids.ts';
import { ReadMetric } from './labeled-metric.ts';
import { encodeOtlp, OTLP_CONTENT_TYPE, type ResourceInfo } from './otlp-json.ts';
import { type RecentError, RecentErrors } from './recent-errors.ts';
import { RequestMetrics } from './request-metrics.ts';
import { Tracer } from './tracer.ts';
import { encodeZipkin, ZIPKIN_CONTENT_TYPE } from './zipkin-json.ts';

const log = createLogger('sidecar.telemetry');

export interface TelemetryOptions {
  readonly config: SidecarConfig;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly ids?: IdSource;
  /** Instance id for the trace resource (`service.instance.id`). */
  readonly instanceId?: string;
  /** Replace the HTTP sender (tests): gets the encoded batch. */
  readonly sender?: SpanSender;
  /** Access-log destination override (tests): anything with `write(string)`. */
  readonly accessLogDestination?: DestinationStream;
  /** Register Node process metrics (default true). */
  readonly processMetrics?: boolean;
}

export interface Telemetry {
  /** The observe steps for a config version (first in each chain). Never throws. */
  steps(config: SidecarConfig): { outbound: Step[]; inbound: Step[] };
  /** Prometheus text of this sidecar's registry. */
  metricsText(): Promise<string>;
  readonly metricsContentType: string;
  readonly metricsHandler: AdminHandler;
  readonly logLevelHandler: AdminHandler;
  /** `GET /v1/mesher/errors`: the recent-errors ring as JSON. */
  readonly recentErrorsHandler: AdminHandler;
  /** Latest proxy errors, newest first. */
  recentErrors(): RecentError[];
  readonly counters: GovernanceCounters;
  /** The registry itself, for wiring that wants to add its own metrics. */
  readonly registry: Registry;
  /** The settings in force. */
  settings(): TelemetrySettings;
  /** Send queued spans now (tests, shutdown). */
  flush(): Promise<void>;
  /** Flush spans, close the exporter connection and the access log. Safe to call twice. */
  close(): Promise<void>;
}

interface Pipeline {
  readonly key: string;
  readonly tracer: Tracer | undefined;
  readonly exporter: BatchExporter | undefined;
  readonly close: () => void;
}

const EVENT_LOOP_SAMPLE_MS = 100;

export function createTelemetry(opts: TelemetryOptions): Telemetry {
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? systemRandom;
  const ids = opts.ids ?? createRandomIds();
  let settings = parseTelemetrySettings(opts.config.flat);
  const identity = opts.config.service;
  const resource: ResourceInfo = {
    serviceName: identity.name,
    serviceVersion: identity.version,
    ...(opts.instanceId === undefined ? {} : { instanceId: opts.instanceId }),
  };

  const registry = new Registry();
  // Event-loop delay sampled every 100 ms, not prom-client's 10 ms: the 10 ms sampler woke the
  // proxy's loop 100 times a second (bench/hot-path wake-ups/req); stalls worth alerting on
  // last far longer than 100 ms anyway.
  if (opts.processMetrics ?? true)
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const metrics = new RequestMetrics({
    maxServices: settings.metrics.maxServices,
    perInstance: settings.metrics.perInstance,
  });
  for (const m of metrics.registryMetrics()) registry.registerMetric(m as never);
  const counters = createGovernanceCounters(metrics.destinations);
  for (const m of counters.metrics) registry.registerMetric(m as never);
  const recent = new RecentErrors(settings.recentErrorsSize);

  let tracing = buildTracing(settings);
  let accessLog = buildAccessLog(settings);

  const exporterStats = () => tracing.exporter?.stats;
  registry.registerMetric(
    new ReadMetric('mesher_trace_spans_exported_total', 'Spans the collector accepted', 'counter', () => [
      [{}, exporterStats()?.exported ?? 0],
    ]) as never,
  );
  registry.registerMetric(
    new ReadMetric('mesher_trace_spans_dropped_total', 'Spans dropped before export', 'counter', () => [
      [{ reason: 'queue_full' }, exporterStats()?.droppedQueueFull ?? 0],
      [{ reason: 'export_failed' }, exporterStats()?.droppedExportFailed ?? 0],
    ]) as never,
  );
  registry.registerMetric(
    new ReadMetric(
      'mesher_trace_export_failures_total',
      'Span export requests that failed',
      'counter',
      () => [[{}, exporterStats()?.exportFailures ?? 0]],
    ) as never,
  );
  registry.registerMetric(
    new ReadMetric(
      'mesher_access_log_dropped_total',
      'Access-log lines dropped (buffer full)',
      'counter',
      () => [[{}, accessLog.log?.dropped ?? 0]],
    ) as never,
  );
  registry.registerMetric(
    new ReadMetric(
      'mesher_metrics_label_overflow_total',
      'Label values folded into "other" by the cardinality cap',
      'counter',
      () => [
        [{ label: 'source_service' }, metrics.sources.overflowed],
        [{ label: 'destination_service' }, metrics.destinations.overflowed],
        [{ label: 'destination_version' }, metrics.versions.overflowed],
      ],
    ) as never,
  );

  function buildTracing(s: TelemetrySettings): Pipeline {
    const t = s.tracing;
    const key = JSON.stringify({ ...t, endpoint: t.endpoint?.href });
    if (!t.enabled) return { key, tracer: undefined, exporter: undefined, close: () => {} };
    let exporter: BatchExporter | undefined;
    let closeSender = () => {};
    if (t.endpoint !== undefined || opts.sender !== undefined) {
      const zipkin = t.format === 'zipkin';
      let send = opts.sender;
      if (send === undefined) {
        const http = createHttpSender(
          t.endpoint!,
          zipkin ? ZIPKIN_CONTENT_TYPE : OTLP_CONTENT_TYPE,
          t.timeoutMs,
        );
        send = http.send;
        closeSender = http.close;
      }
      exporter = new BatchExporter({
        clock,
        send,
        encode: zipkin ? (spans) => encodeZipkin(spans, resource) : (spans) => encodeOtlp(spans, resource),
        maxBatch: t.batchSize,
        maxQueue: t.maxQueue,
        intervalMs: t.batchIntervalMs,
      });
    }
    const tracer = new Tracer({
      samplingRate: t.samplingRate,
      propagation: t.propagation,
      ids,
      random,
      exporter,
    });
    const ex = exporter;
    return {
      key,
      tracer,
      exporter,
      close: () => {
        void (ex?.close() ?? Promise.resolve()).finally(closeSender);
      },
    };
  }

  function buildAccessLog(s: TelemetrySettings): { key: string; log: AccessLog | undefined } {
    const a = s.accessLog;
    const key = JSON.stringify(a);
    if (!a.enabled) return { key, log: undefined };
    const destination = opts.accessLogDestination;
    return {
      key,
      log: new AccessLog({
        sampleRate: a.sampleRate,
        random,
        file: a.file,
        ...(destination ? { destination } : {}),
      }),
    };
  }

  function steps(config: SidecarConfig): { outbound: Step[]; inbound: Step[] } {
    try {
      settings = parseTelemetrySettings(config.flat);
    } catch (err) {
      log.error(
        { err: (err as Error).message },
        'telemetry settings rejected; the last good ones stay in force',
      );
    }
    const nextTracing = buildTracingIfChanged();
    if (nextTracing !== tracing) {
      tracing.close();
      tracing = nextTracing;
    }
    const a = settings.accessLog;
    if (JSON.stringify(a) !== accessLog.key) {
      accessLog.log?.close();
      accessLog = buildAccessLog(settings);
    }
    const observe = createObserve({
      localService: config.service.name,
      localVersion: config.service.version,
      metrics: settings.metrics.enabled ? metrics : undefined,
      tracer: tracing.tracer,
      accessLog: accessLog.log,
      recentErrors: recent,
      clock,
    });
    return { outbound: [observe], inbound: [observe] };
  }

  function buildTracingIfChanged(): Pipeline {
    const t = settings.tracing;
    const key = JSON.stringify({ ...t, endpoint: t.endpoint?.href });
    return key === tracing.key ? tracing : buildTracing(settings);
  }

  let closing: Promise<void> | undefined;
  const source = {
    metricsText: () => registry.metrics(),
    metricsContentType: registry.contentType as string,
  };
  return {
    steps,
    ...source,
    metricsHandler: createMetricsHandler(source),
    logLevelHandler: createLogLevelHandler(),
    recentErrorsHandler: createRecentErrorsHandler({
      recentErrors: () => recent.list(),
      recentErrorsTotal: () => recent.total,
    }),
    recentErrors: () => recent.list(),
    counters,
    registry,
    settings: () => settings,
    flush: async () => {
      await tracing.exporter?.flush();
    },
    close() {
      closing ??= (async () => {
        await tracing.exporter?.close();
        tracing.close();
        accessLog.log?.close();
      })();
      return closing;
    },
  };
}
