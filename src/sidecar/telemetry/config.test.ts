import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isConfigError } from '../config/config-error.ts';
import { parseTelemetrySettings } from './config.ts';

test('defaults: metrics on, tracing off without an endpoint, access log off', () => {
  const s = parseTelemetrySettings({});
  assert.deepEqual(s.metrics, { enabled: true, perInstance: false, maxServices: 1000 });
  assert.equal(s.tracing.enabled, false);
  assert.equal(s.tracing.samplingRate, 1);
  assert.deepEqual(s.tracing.propagation, ['w3c', 'b3multi']);
  assert.deepEqual(s.accessLog, { enabled: false, sampleRate: 1, file: '' });
  assert.equal(s.recentErrorsSize, 100);
  assert.ok(Object.isFrozen(s) && Object.isFrozen(s.tracing));
});

test('keys in every accepted spelling', () => {
  const table: Array<
    [Record<string, unknown>, (s: ReturnType<typeof parseTelemetrySettings>) => unknown, unknown]
  > = [
    [
      { 'servicecomb.tracing.endpoint': 'http://127.0.0.1:4318' },
      (s) => s.tracing.endpoint?.href,
      'http://127.0.0.1:4318/v1/traces',
    ],
    [
      { 'cse.tracing.endpoint': 'http://127.0.0.1:9411', 'cse.tracing.format': 'Zipkin' },
      (s) => s.tracing.endpoint?.href,
      'http://127.0.0.1:9411/api/v2/spans',
    ],
    [{ 'tracing.endpoint': 'http://127.0.0.1:1/custom' }, (s) => s.tracing.endpoint?.pathname, '/custom'],
    [{ 'tracing.endpoint': 'http://127.0.0.1:1' }, (s) => s.tracing.enabled, true],
    [
      { 'tracing.endpoint': 'http://127.0.0.1:1', 'servicecomb.tracing.enabled': 'false' },
      (s) => s.tracing.enabled,
      false,
    ],
    [{ 'tracing.samplingRate': '0.01' }, (s) => s.tracing.samplingRate, 0.01],
    [{ 'servicecomb.tracing.propagation': 'b3, W3C,b3' }, (s) => s.tracing.propagation, ['b3', 'w3c']],
    [{ 'servicecomb.tracing.batchInterval': '250ms' }, (s) => s.tracing.batchIntervalMs, 250],
    [{ 'servicecomb.metrics.perInstance': true }, (s) => s.metrics.perInstance, true],
    [{ 'cse.metrics.enable': 'false' }, (s) => s.metrics.enabled, false],
    [
      { 'servicecomb.accessLog.enabled': 'true', 'servicecomb.accessLog.sampleRate': 0.5 },
      (s) => [s.accessLog.enabled, s.accessLog.sampleRate],
      [true, 0.5],
    ],
  ];
  for (const [flat, pick, want] of table)
    assert.deepEqual(pick(parseTelemetrySettings(flat)), want, JSON.stringify(flat));
});

test('every bad value is reported at once, naming the key', () => {
  try {
    parseTelemetrySettings({
      'tracing.samplingRate': 2,
      'servicecomb.tracing.format': 'jaeger',
      'servicecomb.tracing.endpoint': 'ftp://x',
      'servicecomb.accessLog.enabled': 'maybe',
      'servicecomb.tracing.propagation': 'w3c,xray',
      'servicecomb.tracing.batchSize': 100,
      'servicecomb.tracing.maxQueue': 10,
    });
    assert.fail('should throw');
  } catch (err) {
    assert.ok(isConfigError(err));
    const keys = err.issues.map((i) => i.key).sort();
    assert.deepEqual(keys, [
      'servicecomb.accessLog.enabled',
      'servicecomb.tracing.endpoint',
      'servicecomb.tracing.format',
      'servicecomb.tracing.maxQueue',
      'servicecomb.tracing.propagation',
      'tracing.samplingRate',
    ]);
  }
});
