/** Small pieces: durations, edit distance, key classification, flat readers, masking. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { closest, editDistance } from './did-you-mean.ts';
import { formatDurationMs, parseDurationMs } from './duration.ts';
import { flatUnder, getFlat } from './flat-read.ts';
import { classifyKey } from './key-walk.ts';
import { isSecretKey, MASK, maskSecrets } from './mask.ts';

test('durations: Go units, plain numbers as seconds, garbage rejected', () => {
  const table: Array<[unknown, number | undefined]> = [
    ['30s', 30_000],
    ['500ms', 500],
    ['1m', 60_000],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    [30, 30_000],
    ['30', 30_000],
    [0.5, 500],
    [' 2s ', 2000],
    ['0', 0],
    ['-1', undefined],
    [-1, undefined],
    ['30 s', undefined],
    ['soon', undefined],
    ['1d', undefined],
    [Number.POSITIVE_INFINITY, undefined],
    [true, undefined],
  ];
  for (const [input, want] of table) assert.equal(parseDurationMs(input), want, JSON.stringify(input));
});

test('durations round-trip through formatDurationMs', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 10 * 86_400_000 }),
      (ms) => parseDurationMs(formatDurationMs(ms)) === ms,
    ),
  );
});

test('edit distance counts a transposition as one edit', () => {
  assert.equal(editDistance('registry', 'regsitry'), 1);
  assert.equal(editDistance('address', 'adress'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(closest('LISTENADDRESS', ['listenAddress'])?.distance, 0);
  assert.equal(closest('zzz', ['listenAddress']), undefined);
});

test('key classification', () => {
  const table: Array<[string, string]> = [
    ['servicecomb.registry.address', 'known'],
    ['servicecomb.protocols.grpc.listenAddress', 'known'],
    ['servicecomb.service.properties.a.b', 'known'],
    ['servicecomb.loadbalance.a.b.strategy.name', 'known'],
    ['servicecomb.isolation.Consumer.timeoutInMilliseconds', 'passthrough'],
    ['mesher.ingress.rule.http', 'passthrough'],
    ['ssl.registry.Consumer.verifyPeer', 'passthrough'],
    ['someOtherTool.key', 'passthrough'],
    ['servicecomb.registry', 'section'],
    ['servicecomb.loadbalance.server2', 'section'],
    ['servicecomb.nothing', 'unknown'],
    ['servicecomb.service.registry.address', 'stale'],
  ];
  for (const [key, kind] of table) assert.equal(classifyKey(key).kind, kind, key);
  assert.deepEqual(classifyKey('servicecomb.loadbalance.a.b.strategy.name'), {
    kind: 'known',
    path: ['servicecomb', 'loadbalance', 'a.b', 'strategy', 'name'],
  });
});

test('getFlat and flatUnder read either prefix spelling', () => {
  const flat = { 'cse.isolation.Consumer.timeoutInMilliseconds': 100, 'servicecomb.match.m1': 'x', other: 1 };
  assert.equal(getFlat(flat, 'servicecomb.isolation.Consumer.timeoutInMilliseconds'), 100);
  assert.equal(getFlat(flat, 'cse.match.m1'), 'x');
  assert.equal(getFlat(flat, 'cse.nothing'), undefined);
  assert.deepEqual(flatUnder(flat, 'servicecomb.isolation'), { 'Consumer.timeoutInMilliseconds': 100 });
});

test('maskSecrets hides secret-looking keys, PEM keys and URL credentials, and nothing else', () => {
  const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIB...\n-----END RSA PRIVATE KEY-----';
  const flat = {
    'ssl.registry.Consumer.keyFile': '/etc/tls/key.pem',
    'ssl.registry.Consumer.certPwdFile': '/etc/tls/pwd',
    'ssl.registry.Consumer.password': 'hunter2',
    'servicecomb.credentials.accessKey': 'AK',
    'servicecomb.credentials.secretKey': 'SK',
    'cse.credentials.project': 'p',
    'servicecomb.registry.address': 'http://user:pw@10.0.0.1:30100,http://10.0.0.2:30100',
    'some.inline.key': pem,
    'mesher.auth.token': 'abc',
    'servicecomb.service.name': 'server1',
    localHealthCheck: [{ port: '8080', headers: { Authorization: 'Bearer x' } }],
    'empty.password': '',
  };
  assert.deepEqual(maskSecrets(flat), {
    'ssl.registry.Consumer.keyFile': '/etc/tls/key.pem',
    'ssl.registry.Consumer.certPwdFile': '/etc/tls/pwd',
    'ssl.registry.Consumer.password': MASK,
    'servicecomb.credentials.accessKey': MASK,
    'servicecomb.credentials.secretKey': MASK,
    'cse.credentials.project': MASK,
    'servicecomb.registry.address': `http://${MASK}@10.0.0.1:30100,http://10.0.0.2:30100`,
    'some.inline.key': MASK,
    'mesher.auth.token': MASK,
    'servicecomb.service.name': 'server1',
    localHealthCheck: [{ port: '8080', headers: { Authorization: MASK } }],
    'empty.password': '',
  });
  assert.equal(isSecretKey('x.apiKey'), true);
  assert.equal(isSecretKey('x.keyFile'), false);
  assert.equal(flat['ssl.registry.Consumer.password'], 'hunter2', 'the input is not modified');
});
