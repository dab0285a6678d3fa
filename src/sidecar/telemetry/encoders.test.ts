import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeOtlp, msToNanos } from './otlp-json.ts';
import { FinishedSpan } from './span.ts';
import { encodeZipkin } from './zipkin-json.ts';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const client = new FinishedSpan(
  T,
  '00f067aa0ba902b7',
  '1111111111111111',
  'client',
  1_700_000_000_123.5,
  2.25,
  'GET',
  '/hello?secret=1',
  200,
  undefined,
  'server1',
  '127.0.0.1:8080',
  2,
);
const server = new FinishedSpan(
  T,
  '2222222222222222',
  '00f067aa0ba902b7',
  'server',
  1_700_000_000_124,
  1,
  'POST',
  '/x',
  503,
  'LOCAL_APP_UNAVAILABLE',
  'client',
  '127.0.0.1',
  1,
);
const resource = { serviceName: 'client', serviceVersion: '1.0.0', instanceId: 'inst-1' };

test('msToNanos is exact to the microsecond', () => {
  assert.equal(msToNanos(1_700_000_000_123.5), '1700000000123500000');
  assert.equal(msToNanos(0.001), '1000');
});

test('OTLP/JSON: resource, kinds, hex ids, attributes, error status; no query string', () => {
  const body = JSON.parse(encodeOtlp([client, server], resource).toString());
  const rs = body.resourceSpans[0];
  assert.deepEqual(
    rs.resource.attributes.find((a: { key: string }) => a.key === 'service.name'),
    { key: 'service.name', value: { stringValue: 'client' } },
  );
  const [c, s] = rs.scopeSpans[0].spans;
  assert.equal(c.traceId, T);
  assert.equal(c.parentSpanId, '1111111111111111');
  assert.equal(c.kind, 3);
  assert.equal(s.kind, 2);
  assert.equal(c.name, 'GET server1');
  assert.equal(c.startTimeUnixNano, '1700000000123500000');
  assert.equal(c.endTimeUnixNano, '1700000000125750000');
  const attr = (span: { attributes: Array<{ key: string; value: unknown }> }, k: string) =>
    span.attributes.find((a) => a.key === k)?.value;
  assert.deepEqual(attr(c, 'url.path'), { stringValue: '/hello' });
  assert.deepEqual(attr(c, 'http.response.status_code'), { intValue: '200' });
  assert.deepEqual(attr(c, 'mesher.attempt'), { intValue: '2' });
  assert.deepEqual(attr(c, 'peer.service'), { stringValue: 'server1' });
  assert.deepEqual(c.status, { code: 0 });
  assert.deepEqual(s.status, { code: 2, message: 'LOCAL_APP_UNAVAILABLE' });
  assert.deepEqual(attr(s, 'mesher.error_code'), { stringValue: 'LOCAL_APP_UNAVAILABLE' });
});

test('Zipkin v2: microseconds, kinds, endpoints, string tags, error tag', () => {
  const [c, s] = JSON.parse(encodeZipkin([client, server], resource).toString());
  assert.equal(c.id, '00f067aa0ba902b7');
  assert.equal(c.parentId, '1111111111111111');
  assert.equal(c.kind, 'CLIENT');
  assert.equal(c.timestamp, 1_700_000_000_123_500);
  assert.equal(c.duration, 2250);
  assert.deepEqual(c.localEndpoint, { serviceName: 'client' });
  assert.deepEqual(c.remoteEndpoint, { serviceName: 'server1', ipv4: '127.0.0.1', port: 8080 });
  assert.deepEqual(c.tags, {
    'http.method': 'GET',
    'http.path': '/hello',
    'mesher.attempt': '2',
    'http.status_code': '200',
  });
  assert.equal(s.kind, 'SERVER');
  assert.equal(s.tags.error, 'LOCAL_APP_UNAVAILABLE');
  assert.deepEqual(s.remoteEndpoint, { serviceName: 'client', ipv4: '127.0.0.1' });
});
