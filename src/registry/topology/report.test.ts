/** Report validation: a table of bad bodies, each answered with the field it names. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRegistryError } from '../errors.ts';
import { LATENCY_BUCKETS, parseReport, REPORT_LIMITS } from './report.ts';

const latency = (n: number) => {
  const l = new Array<number>(LATENCY_BUCKETS).fill(0);
  l[3] = n;
  return l;
};

export function validReport(over: Record<string, unknown> = {}) {
  return {
    schema: 1,
    epoch: 'e1',
    uptimeMs: 1000,
    intervalMs: 10_000,
    service: { name: 'client', app: 'default', version: '1.0.0', environment: '' },
    edges: [
      {
        direction: 'outbound',
        source: 'client',
        destination: 'server1',
        version: '1.0.0',
        requests: 10,
        errors: 1,
        latency: latency(10),
      },
    ],
    ...over,
  };
}

test('a valid report parses, with app defaulted', () => {
  const r = parseReport(validReport({ service: { name: 'client' } }));
  assert.equal(r.service.app, 'default');
  assert.equal(r.edges.length, 1);
  assert.equal(r.edges[0]!.requests, 10);
});

const edge = (over: Record<string, unknown>) => ({ edges: [{ ...validReport().edges[0], ...over }] });

const CASES: Array<[string, unknown, string]> = [
  ['not an object', [], "'body'"],
  ['wrong schema', validReport({ schema: 2 }), "'schema'"],
  ['bad epoch', validReport({ epoch: 'a b' }), "'epoch'"],
  ['negative uptime', validReport({ uptimeMs: -1 }), "'uptimeMs'"],
  ['interval too small', validReport({ intervalMs: 10 }), "'intervalMs'"],
  ['no service name', validReport({ service: { app: 'x' } }), "'service.name'"],
  ['edges not a list', validReport({ edges: {} }), "'edges'"],
  ['bad direction', validReport(edge({ direction: 'sideways' })), "'edges[0].direction'"],
  ['fractional requests', validReport(edge({ requests: 1.5 })), "'edges[0].requests'"],
  ['errors > requests', validReport(edge({ errors: 11 })), "'edges[0].errors'"],
  ['short histogram', validReport(edge({ latency: [1, 2] })), "'edges[0].latency'"],
  ['histogram not adding up', validReport(edge({ latency: latency(9) })), "'edges[0].latency'"],
  ['control character in a name', validReport(edge({ source: 'a\u0001b' })), "'edges[0].source'"],
  ['name too long', validReport(edge({ destination: 'x'.repeat(129) })), "'edges[0].destination'"],
  ['duplicate edge', validReport({ edges: [validReport().edges[0], validReport().edges[0]] }), "'edges[1]'"],
  [
    'too many edges',
    validReport({
      edges: Array.from({ length: REPORT_LIMITS.maxEdges + 1 }, (_, i) => ({
        ...validReport().edges[0],
        destination: `s${i}`,
      })),
    }),
    "'edges'",
  ],
];

for (const [name, body, field] of CASES) {
  test(`rejects: ${name}`, () => {
    assert.throws(
      () => parseReport(body),
      (err: unknown) => isRegistryError(err) && err.code === 400001 && err.detail.includes(field),
    );
  });
}
