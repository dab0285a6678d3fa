import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { RequestMetrics, type RequestSample } from './request-metrics.ts';

function sample(over: Partial<RequestSample> = {}): RequestSample {
  return {
    direction: 'outbound',
    sourceService: 'client',
    destinationService: 'server1',
    destinationVersion: '1.0.0',
    status: 200,
    errorCode: '',
    instance: 'i1@127.0.0.1:1',
    durationSeconds: 0.003,
    requestBytes: 0,
    responseBytes: 100,
    ...over,
  };
}

async function text(m: RequestMetrics): Promise<string> {
  const r = new Registry();
  for (const x of m.registryMetrics()) r.registerMetric(x as never);
  return r.metrics();
}

test('counts, histogram buckets and labels in Prometheus text', async () => {
  const m = new RequestMetrics({ maxServices: 1000, perInstance: false });
  m.record(sample());
  m.record(sample({ durationSeconds: 0.0002 }));
  m.record(sample({ status: 503, errorCode: 'NO_ENDPOINTS', responseBytes: 80 }));
  const t = await text(m);
  const base =
    'direction="outbound",source_service="client",destination_service="server1",destination_version="1.0.0"';
  assert.match(t, new RegExp(`mesher_requests_total\\{${base},status_class="2xx",error_code=""\\} 2\n`));
  assert.match(
    t,
    new RegExp(`mesher_requests_total\\{${base},status_class="5xx",error_code="NO_ENDPOINTS"\\} 1\n`),
  );
  assert.match(t, /mesher_request_duration_seconds_bucket\{[^}]*status_class="2xx"[^}]*le="0.0005"\} 1\n/);
  assert.match(t, /mesher_request_duration_seconds_bucket\{[^}]*status_class="2xx"[^}]*le="0.005"\} 2\n/);
  assert.match(t, /mesher_request_duration_seconds_bucket\{[^}]*status_class="2xx"[^}]*le="\+Inf"\} 2\n/);
  assert.match(t, /mesher_request_duration_seconds_count\{[^}]*status_class="2xx"[^}]*\} 2\n/);
  assert.match(t, /mesher_response_size_bytes_bucket\{[^}]*status_class="5xx"[^}]*le="256"\} 1\n/);
  assert.doesNotMatch(t, /instance=/, 'no instance label unless opted in');
  assert.equal(m.seriesCount, 2);
});

test('cardinality is bounded: services past the cap fold into "other", unknown codes into other', async () => {
  const m = new RequestMetrics({ maxServices: 3, perInstance: false });
  for (let i = 0; i < 10; i++) m.record(sample({ destinationService: `svc${i}` }));
  m.record(sample({ destinationService: 'svc0', errorCode: 'NOT_A_CODE', status: 500 }));
  const t = await text(m);
  assert.match(t, /destination_service="other"[^}]*\} 7\n/);
  assert.equal(m.destinations.overflowed, 7);
  assert.match(t, /error_code="other"/);
  m.record(sample({ sourceService: 'x'.repeat(500) }));
  assert.doesNotMatch(await text(m), /x{129}/, 'an overlong caller name from a header is folded');
  assert.equal(m.seriesCount, 6, 'four services + other, and the folded caller');
});

test('perInstance adds the instance label; sizes of -1 are not observed', async () => {
  const m = new RequestMetrics({ maxServices: 10, perInstance: true });
  m.record(sample({ requestBytes: -1, responseBytes: -1 }));
  m.record(sample({ instance: 'i2@127.0.0.1:2', requestBytes: -1, responseBytes: -1 }));
  const t = await text(m);
  assert.match(t, /mesher_requests_total\{[^}]*instance="i1@127.0.0.1:1"\} 1/);
  assert.match(t, /mesher_requests_total\{[^}]*instance="i2@127.0.0.1:2"\} 1/);
  assert.doesNotMatch(t, /mesher_response_size_bytes_count/);
});

test('in-flight cells are shared per direction and destination', async () => {
  const m = new RequestMetrics({ maxServices: 10, perInstance: false });
  const a = m.inFlight('outbound', 'server1');
  assert.equal(m.inFlight('outbound', 'server1'), a);
  a.value += 2;
  m.inFlight('inbound', 'server1').value++;
  const t = await text(m);
  assert.match(t, /mesher_requests_in_flight\{direction="outbound",destination_service="server1"\} 2/);
  assert.match(t, /mesher_requests_in_flight\{direction="inbound",destination_service="server1"\} 1/);
});
