/**
 * localHealthCheck parsing as a table: accepted inputs with their normalised values, rejected ones
 * with the key each error must name.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isConfigError } from '../config/config-error.ts';
import { HEALTH_CHECK_DEFAULTS, parseHealthChecks, parseStatusMatch } from './health-check-config.ts';

describe('parseHealthChecks', () => {
  test('absent → no checks', () => {
    assert.deepEqual(parseHealthChecks(undefined), []);
  });

  test('the original example, with defaults filled in', () => {
    const [c] = parseHealthChecks([
      {
        port: '8080',
        protocol: 'rest',
        uri: '/health',
        interval: '30s',
        match: { status: '200', body: 'ok' },
      },
    ]);
    assert.ok(c);
    assert.equal(c.port, 8080);
    assert.equal(c.protocol, 'rest');
    assert.equal(c.uri, '/health');
    assert.equal(c.intervalMs, 30_000);
    assert.equal(c.timeoutMs, 10_000);
    assert.equal(c.failureThreshold, HEALTH_CHECK_DEFAULTS.failureThreshold);
    assert.equal(c.status.test(200), true);
    assert.equal(c.status.test(204), false);
    assert.equal(c.body?.test('all ok'), true);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.name, 'localHealthCheck[0]');
  });

  test('empty protocol is TCP; a rest check without match accepts 2xx only', () => {
    const [tcp, rest] = parseHealthChecks([
      { port: 9000, protocol: '' },
      { port: 9001, protocol: 'rest' },
    ]);
    assert.equal(tcp?.protocol, 'tcp');
    assert.equal(rest?.uri, '/');
    assert.equal(rest?.status.test(204), true);
    assert.equal(rest?.status.test(500), false, 'the original treated a 500 as healthy');
    assert.equal(rest?.status.test(302), false);
  });

  test('timeout defaults to min(10s, interval) and never exceeds the interval', () => {
    const [a, b] = parseHealthChecks([
      { port: 1, interval: '2s' },
      { port: 2, interval: '1s', timeout: '5s' },
    ]);
    assert.equal(a?.timeoutMs, 2000);
    assert.equal(b?.timeoutMs, 1000);
  });

  test('a single map is accepted as a one-check list', () => {
    assert.equal(parseHealthChecks({ port: 80 }).length, 1);
  });

  const rejected: Array<[string, unknown, RegExp[]]> = [
    ['port missing', [{ protocol: 'rest' }], [/localHealthCheck\[0\]\.port: is required/]],
    ['port out of range', [{ port: 70000 }], [/localHealthCheck\[0\]\.port: must be a port/]],
    ['unknown protocol', [{ port: 1, protocol: 'grpc' }], [/localHealthCheck\[0\]\.protocol: must be rest/]],
    ['uri without slash', [{ port: 1, protocol: 'rest', uri: 'health' }], [/\.uri: must start with "\/"/]],
    ['bad interval', [{ port: 1, interval: 'soon' }], [/\.interval: must be a duration/]],
    ['zero interval', [{ port: 1, interval: 0 }], [/\.interval: must be a duration/]],
    [
      'bad status',
      [{ port: 1, protocol: 'rest', match: { status: 'ok' } }],
      [/\.match\.status: must be codes/],
    ],
    [
      'bad regex',
      [{ port: 1, protocol: 'rest', match: { body: '(' } }],
      [/\.match\.body: is not a valid regex/],
    ],
    ['unknown key', [{ port: 1, intervall: '1s' }], [/localHealthCheck\[0\]\.intervall: unknown key/]],
    [
      'unknown match key',
      [{ port: 1, protocol: 'rest', match: { code: 200 } }],
      [/\.match\.code: unknown key/],
    ],
    ['rest keys on tcp', [{ port: 1, uri: '/x' }], [/\.uri: only applies to protocol: rest/]],
    ['threshold 0', [{ port: 1, failureThreshold: 0 }], [/\.failureThreshold: must be a whole number/]],
    [
      'header with newline',
      [{ port: 1, protocol: 'rest', headers: { a: 'x\ny' } }],
      [/\.headers\.a: must not/],
    ],
    ['not a list', 'yes', [/localHealthCheck: must be a list/]],
    ['entry not a map', [5], [/localHealthCheck\[0\]: must be a map/]],
    [
      'every error in one pass, each naming its check',
      [{ port: 1 }, { port: 'x' }, { port: 2, protocol: 'http' }],
      [/localHealthCheck\[1\]\.port/, /localHealthCheck\[2\]\.protocol/],
    ],
    ['too many checks', Array.from({ length: 17 }, () => ({ port: 1 })), [/at most 16 checks/]],
  ];
  for (const [name, input, patterns] of rejected) {
    test(`rejects: ${name}`, () => {
      assert.throws(
        () => parseHealthChecks(input),
        (err: unknown) => {
          assert.ok(isConfigError(err));
          for (const re of patterns) assert.match(err.message, re);
          assert.match(err.message, /mesher\.yaml/);
          return true;
        },
      );
    });
  }
});

describe('parseStatusMatch', () => {
  test('codes, lists and classes', () => {
    const m = parseStatusMatch('200, 204,3xx');
    assert.ok(m);
    assert.deepEqual(
      [200, 204, 201, 301, 399, 404].map((s) => m.test(s)),
      [true, true, false, true, true, false],
    );
    assert.equal(parseStatusMatch(200)?.test(200), true);
    assert.equal(parseStatusMatch('6xx'), undefined);
    assert.equal(parseStatusMatch('200,'), undefined);
    assert.equal(parseStatusMatch(''), undefined);
  });
});
