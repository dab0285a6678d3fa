/**
 * @module sidecar/telemetry/config
 * Reads the telemetry keys from `SidecarConfig.flat` once per config version into a frozen value.
 * Every bad value is reported in one ConfigError (key + message); unknown keys are the config
 * loader's business. Keys are read in either spelling (`servicecomb.` / `cse.`), tracing keys also
 * at top level (`tracing.samplingRate`), the original's place for them.
 *
 * Defaults (one table, see docs/observability.md):
 *   metrics.enabled true · metrics.perInstance false · metrics.maxServices 1000
 *   tracing.enabled = an endpoint is set · tracing.format otlp · tracing.samplingRate 1.0
 *   tracing.propagation "w3c,b3multi" · tracing.batchSize 512 · tracing.batchInterval 5s
 *   tracing.maxQueue 2048 · tracing.timeout 10s
 *   accessLog.enabled false · accessLog.sampleRate 1.0 · accessLog.file "" (stdout)
 *   recentErrors.size 100
 */
import { ConfigError } from '../config/config-error.ts';
import { getFlat } from '../config/flat-read.ts';
import type { ConfigIssue } from '../config/types.ts';
import { bool, type Coercer, int, ms, num, oneOf } from '../policy/values.ts';
import { PROPAGATION_FORMATS, type PropagationFormat } from './trace-context.ts';

export interface MetricsSettings {
  readonly enabled: boolean;
  /** Opt-in: label request metrics with the endpoint (instance) too. */
  readonly perInstance: boolean;
  /** Distinct services per label before new ones fold into "other". */
  readonly maxServices: number;
}

export interface TracingSettings {
  readonly enabled: boolean;
  /** Collector URL including the path (default path added: /v1/traces or /api/v2/spans). */
  readonly endpoint: URL | undefined;
  readonly format: 'otlp' | 'zipkin';
  /** Probability of sampling a new trace (a caller's decision is always followed). */
  readonly samplingRate: number;
  /** Formats written on outgoing requests (plus whichever came in). */
  readonly propagation: readonly PropagationFormat[];
  readonly batchSize: number;
  readonly batchIntervalMs: number;
  readonly maxQueue: number;
  readonly timeoutMs: number;
}

export interface AccessLogSettings {
  readonly enabled: boolean;
  readonly sampleRate: number;
  /** File path, or "" for stdout. */
  readonly file: string;
}

export interface TelemetrySettings {
  readonly metrics: MetricsSettings;
  readonly tracing: TracingSettings;
  readonly accessLog: AccessLogSettings;
  readonly recentErrorsSize: number;
}

const propagationList: Coercer<readonly PropagationFormat[]> = (raw) => {
  const items = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? raw.split(',') : undefined;
  const out: PropagationFormat[] = [];
  for (const item of items ?? [undefined]) {
    const f = item?.trim().toLowerCase();
    const known = PROPAGATION_FORMATS.find((p) => p === f);
    if (known === undefined) {
      return {
        ok: false,
        message: `must list formats among ${PROPAGATION_FORMATS.join(', ')} (got ${JSON.stringify(raw)})`,
      };
    }
    if (!out.includes(known)) out.push(known);
  }
  return { ok: true, value: out };
};

const text: Coercer<string> = (raw) =>
  typeof raw === 'string' ? { ok: true, value: raw.trim() } : { ok: false, message: 'must be a string' };

const DEFAULT_PATH = { otlp: '/v1/traces', zipkin: '/api/v2/spans' } as const;

export function parseTelemetrySettings(flat: Readonly<Record<string, unknown>>): TelemetrySettings {
  const issues: ConfigIssue[] = [];
  function read<T>(keys: readonly string[], coerce: Coercer<T>, fallback: T): T {
    for (const key of keys) {
      const raw = getFlat(flat, key);
      if (raw === undefined || raw === null || raw === '') continue;
      const r = coerce(raw);
      if (r.ok) return r.value;
      issues.push({ file: 'config', key, message: r.message });
      return fallback;
    }
    return fallback;
  }
  const m = (k: string) => [`servicecomb.metrics.${k}`];
  const t = (k: string) => [`servicecomb.tracing.${k}`, `tracing.${k}`];
  const a = (k: string) => [`servicecomb.accessLog.${k}`];

  const metrics: MetricsSettings = Object.freeze({
    enabled: read([...m('enabled'), ...m('enable')], bool, true),
    perInstance: read(m('perInstance'), bool, false),
    maxServices: read(m('maxServices'), int(1, 100_000), 1000),
  });

  const format = read(t('format'), oneOf('otlp', 'zipkin'), 'otlp');
  const endpointText = read([...t('endpoint'), ...t('collectorTarget')], text, '');
  let endpoint: URL | undefined;
  if (endpointText !== '') {
    try {
      endpoint = new URL(endpointText);
      if (endpoint.protocol !== 'http:') throw new Error('not http');
      if (endpoint.pathname === '/' || endpoint.pathname === '') endpoint.pathname = DEFAULT_PATH[format];
    } catch {
      issues.push({
        file: 'config',
        key: 'servicecomb.tracing.endpoint',
        message: `must be an http:// URL such as http://127.0.0.1:4318/v1/traces (got ${JSON.stringify(endpointText)})`,
      });
      endpoint = undefined;
    }
  }
  const tracing: TracingSettings = Object.freeze({
    enabled: read(t('enabled'), bool, endpoint !== undefined),
    endpoint,
    format,
    samplingRate: read(t('samplingRate'), num(0, 1), 1),
    propagation: Object.freeze(read(t('propagation'), propagationList, ['w3c', 'b3multi'] as const)),
    batchSize: read(t('batchSize'), int(1, 10_000), 512),
    batchIntervalMs: read(t('batchInterval'), ms(10, 3_600_000), 5000),
    maxQueue: read(t('maxQueue'), int(1, 1_000_000), 2048),
    timeoutMs: read(t('timeout'), ms(100, 120_000), 10_000),
  });
  if (tracing.maxQueue < tracing.batchSize) {
    issues.push({
      file: 'config',
      key: 'servicecomb.tracing.maxQueue',
      message: `must be at least tracing.batchSize (${tracing.batchSize})`,
    });
  }

  const accessLog: AccessLogSettings = Object.freeze({
    enabled: read(a('enabled'), bool, false),
    sampleRate: read(a('sampleRate'), num(0, 1), 1),
    file: read(a('file'), text, ''),
  });

  const recentErrorsSize = read(['mesher.recentErrors.size'], int(1, 10_000), 100);
  if (issues.length > 0) throw new ConfigError(issues);
  return Object.freeze({ metrics, tracing, accessLog, recentErrorsSize });
}
