import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testSidecarConfig } from '../../../test/support/fake-directory.ts';
import { ManualClock } from '../../shared/clock.ts';
import { setLogLevel } from '../../shared/log.ts';
import type { CallContext } from '../chain/types.ts';
import { isConfigError } from '../config/config-error.ts';
import { createTelemetry } from './telemetry.ts';

setLogLevel(process.env.MESHER_LOG_LEVEL ?? 'silent');

function call(): CallContext {
  return {
    direction: 'outbound',
    kind: 'request',
    method: 'GET',
    service: 'server1',
    path: '/',
    headers: [],
    hasBody: false,
    source: { service: 'client', address: undefined },
    timings: { startMs: performance.now() },
    attempt: 1,
  } as unknown as CallContext;
}

test('bad telemetry keys fail createTelemetry with a ConfigError', () => {
  assert.throws(
    () =>
      createTelemetry({
        config: testSidecarConfig({ flat: { 'tracing.samplingRate': 'lots' } }),
        processMetrics: false,
      }),
    (e) => isConfigError(e) && e.issues[0]!.key === 'tracing.samplingRate',
  );
});

test('hot reload: new tracing settings take effect, a bad version keeps the last good settings', async () => {
  const clock = new ManualClock();
  const sent: string[] = [];
  const config = testSidecarConfig({ flat: { 'tracing.enabled': true, 'tracing.samplingRate': 1 } });
  const t = createTelemetry({
    config,
    clock,
    processMetrics: false,
    sender: async (b) => void sent.push(b.toString()),
  });
  const next = async () => ({ status: 200, headers: [], body: null });
  await t.steps(config).outbound[0]!(call(), next);
  await t.flush();
  assert.equal(sent.length, 1);

  const off = testSidecarConfig({ flat: { 'tracing.enabled': true, 'tracing.samplingRate': 0 } });
  const [observe] = t.steps(off).outbound;
  assert.equal(t.settings().tracing.samplingRate, 0);
  const c = call();
  await observe!(c, next);
  await t.flush();
  assert.equal(sent.length, 1, 'nothing sampled at rate 0');
  assert.match(c.headers[1]!, /-00$/);

  const bad = testSidecarConfig({ flat: { 'tracing.samplingRate': 7 } });
  t.steps(bad);
  assert.equal(t.settings().tracing.samplingRate, 0, 'the last good settings stay');
  assert.match(await t.metricsText(), /mesher_requests_total\{[^}]*\} 2/, 'metrics survive config versions');
  await t.close();
  await t.close();
  assert.equal(clock.pending, 0, 'no timers left after close');
});
