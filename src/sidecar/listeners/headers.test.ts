import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filterResponseHeaders, mergeCseContext, readSourceService, scanRequestHeaders } from './headers.ts';
import { parseConnectTarget, parseRequestTarget, splitAuthority } from './target-parse.ts';

test('scanRequestHeaders drops hop-by-hop and pulls out forwarding and identity headers', () => {
  const s = scanRequestHeaders([
    'Host',
    'svc:81',
    'Connection',
    'keep-alive, X-Hop',
    'X-Hop',
    '1',
    'Keep-Alive',
    'timeout=5',
    'Proxy-Connection',
    'keep-alive',
    'TE',
    'trailers',
    'Transfer-Encoding',
    'chunked',
    'X-Forwarded-For',
    '1.1.1.1',
    'X-Forwarded-For',
    '2.2.2.2',
    'X-Forwarded-Port',
    '81',
    'x-cse-context',
    '{"a":1}',
    'Set-Thing',
    'a',
    'Set-Thing',
    'b',
  ]);
  assert.deepEqual(s.headers, ['Host', 'svc:81', 'Set-Thing', 'a', 'Set-Thing', 'b']);
  assert.equal(s.forwardedFor, '1.1.1.1, 2.2.2.2');
  assert.equal(s.forwardedPort, '81');
  assert.equal(s.cseContext, '{"a":1}');
  assert.equal(s.hasBody, true);
  assert.equal(s.host, 'svc:81');
});

test('content-length 0 is no body; upgrade is reported', () => {
  const s = scanRequestHeaders(['content-length', '0', 'Upgrade', 'websocket', 'Connection', 'Upgrade']);
  assert.equal(s.hasBody, false);
  assert.equal(s.upgrade, 'websocket');
});

test('filterResponseHeaders keeps Upgrade/Connection only on 101', () => {
  const raw = ['Connection', 'Upgrade', 'Upgrade', 'websocket', 'Keep-Alive', 'timeout=5', 'X', '1'];
  assert.deepEqual(filterResponseHeaders(raw), ['X', '1']);
  assert.deepEqual(filterResponseHeaders(raw, true), [
    'Connection',
    'Upgrade',
    'Upgrade',
    'websocket',
    'X',
    '1',
  ]);
});

test('x-cse-context merge and source identity', () => {
  const fresh = '{"x-cse-src-microservice":"me"}';
  assert.equal(mergeCseContext(undefined, 'me', fresh), fresh);
  assert.equal(mergeCseContext('[1]', 'me', fresh), fresh);
  assert.deepEqual(JSON.parse(mergeCseContext('{"k":"v"}', 'me', fresh)), {
    k: 'v',
    'x-cse-src-microservice': 'me',
  });
  assert.equal(readSourceService('{"x-cse-src-microservice":"a"}', 'b'), 'a');
  assert.equal(readSourceService('not json', 'b'), 'b');
  assert.equal(readSourceService(undefined, undefined), undefined);
});

test('request targets: proxy-form, origin-form, CONNECT, and the 400 cases', () => {
  assert.deepEqual(parseRequestTarget('http://server2:8080/a?b=1', undefined), {
    service: 'server2',
    port: '8080',
    path: '/a?b=1',
  });
  assert.deepEqual(parseRequestTarget('http://server2', undefined), {
    service: 'server2',
    port: undefined,
    path: '/',
  });
  assert.deepEqual(parseRequestTarget('http://server2?x', undefined), {
    service: 'server2',
    port: undefined,
    path: '/?x',
  });
  assert.deepEqual(parseRequestTarget('HTTP://user:pw@server2/x', undefined), {
    service: 'server2',
    port: undefined,
    path: '/x',
  });
  assert.deepEqual(parseRequestTarget('/x', 'server2:81'), { service: 'server2', port: '81', path: '/x' });
  assert.deepEqual(parseConnectTarget('server2:443'), { service: 'server2', port: '443', path: '' });
  assert.deepEqual(splitAuthority('[::1]:80'), { host: '::1', port: '80' });
  for (const [url, host] of [
    ['/x', undefined],
    ['/x', '127.0.0.1:30101'],
    ['/x', 'localhost'],
    ['http://127.0.0.1:30101/x', undefined],
    ['http:///x', undefined],
    ['https://server2/x', undefined],
    ['*', undefined],
    ['http://server2:abc/x', undefined],
  ] as const) {
    assert.throws(
      () => parseRequestTarget(url, host),
      (e: { code: string }) => e.code === 'BAD_REQUEST',
      `${url} ${host}`,
    );
  }
});
