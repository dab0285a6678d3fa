/** The seed's listen rules as a table: listenAddress (+ advertise, admin, mode) -> listeners or errors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ADMIN_LISTEN_KEY,
  HTTP_ADVERTISE_KEY,
  HTTP_LISTEN_KEY,
  type ListenInput,
  type Problem,
  resolveListeners,
} from './listen.ts';

const base: ListenInput = {
  mode: 'sidecar',
  listen: '127.0.0.1:30101',
  advertise: undefined,
  admin: '127.0.0.1:30102',
  adminEnabled: true,
};
const hp = (s: string) => {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
};

interface Row {
  in: Partial<ListenInput>;
  /** outbound, inbound, advertise, admin ("-" = null) */
  out?: [string, string, string, string];
  errors?: Array<[string, RegExp]>;
  notes?: Array<[string, RegExp]>;
}

const rows: Row[] = [
  { in: {}, out: ['127.0.0.1:30101', '-', '-', '127.0.0.1:30102'] },
  {
    in: { listen: '192.168.1.1:30101' },
    out: ['127.0.0.1:30101', '192.168.1.1:30101', '192.168.1.1:30101', '127.0.0.1:30102'],
  },
  {
    in: { listen: '127.0.0.2:0', admin: '127.0.0.1:0' },
    out: ['127.0.0.1:0', '127.0.0.2:0', '127.0.0.2:0', '127.0.0.1:0'],
  },
  {
    in: { listen: '10.0.0.5:30101', advertise: '203.0.113.9:40000' },
    out: ['127.0.0.1:30101', '10.0.0.5:30101', '203.0.113.9:40000', '127.0.0.1:30102'],
  },
  { in: { adminEnabled: false, admin: 'garbage' }, out: ['127.0.0.1:30101', '-', '-', '-'] },
  {
    in: { advertise: '10.0.0.5:30101' },
    out: ['127.0.0.1:30101', '-', '-', '127.0.0.1:30102'],
    notes: [[HTTP_ADVERTISE_KEY, /ignored: listenAddress is on 127\.0\.0\.1/]],
  },
  {
    in: { mode: 'edge', listen: '0.0.0.0:8080', advertise: 'gw.example.com:443' },
    out: ['127.0.0.1:8080', '0.0.0.0:8080', 'gw.example.com:443', '127.0.0.1:30102'],
  },
  {
    in: { mode: 'edge', listen: '0.0.0.0:8080' },
    out: ['127.0.0.1:8080', '0.0.0.0:8080', '-', '127.0.0.1:30102'],
    notes: [[HTTP_ADVERTISE_KEY, /registers no endpoint/]],
  },
  {
    in: { admin: '0.0.0.0:30102' },
    out: ['127.0.0.1:30101', '-', '-', '0.0.0.0:30102'],
    notes: [[ADMIN_LISTEN_KEY, /reachable from the network/]],
  },
  {
    in: { listen: '0.0.0.0:30101' },
    errors: [
      [
        HTTP_LISTEN_KEY,
        /0\.0\.0\.0 is not allowed.*e\.g\. 10\.0\.0\.5:30101, or 127\.0\.0\.1:30101 for a consumer-only sidecar/,
      ],
    ],
  },
  {
    in: { listen: 'mesher.local:30101' },
    errors: [[HTTP_LISTEN_KEY, /not a literal IPv4 address.*10\.0\.0\.5:30101/]],
  },
  {
    in: { listen: 'localhost:30101' },
    errors: [[HTTP_LISTEN_KEY, /use 127\.0\.0\.1:30101 instead of localhost/]],
  },
  { in: { listen: '[::1]:30101' }, errors: [[HTTP_LISTEN_KEY, /IPv6.*not supported/]] },
  { in: { listen: '::1' }, errors: [[HTTP_LISTEN_KEY, /IPv6/]] },
  {
    in: { listen: '127.0.0.1:70000' },
    errors: [[HTTP_LISTEN_KEY, /port "70000" must be a number from 0 to 65535/]],
  },
  { in: { listen: '127.0.0.1:http' }, errors: [[HTTP_LISTEN_KEY, /port "http"/]] },
  { in: { listen: '127.0.0.1' }, errors: [[HTTP_LISTEN_KEY, /has no port/]] },
  { in: { listen: ':30101' }, errors: [[HTTP_LISTEN_KEY, /has no host/]] },
  { in: { listen: '224.0.0.1:30101' }, errors: [[HTTP_LISTEN_KEY, /not a unicast address/]] },
  {
    in: { listen: '10.0.0.5:30101', advertise: '0.0.0.0:30101' },
    errors: [[HTTP_ADVERTISE_KEY, /cannot be called by other instances/]],
  },
  {
    in: { listen: '10.0.0.5:30101', advertise: '10.0.0.5:0' },
    errors: [[HTTP_ADVERTISE_KEY, /from 1 to 65535/]],
  },
  {
    in: { admin: '127.0.0.1:30101' },
    errors: [[ADMIN_LISTEN_KEY, /port 30101 on 127\.0\.0\.1 is already taken/]],
  },
  {
    in: { listen: '0.0.0.0:1', admin: 'admin.host:2' },
    errors: [
      [HTTP_LISTEN_KEY, /0\.0\.0\.0 is not allowed/],
      [ADMIN_LISTEN_KEY, /not a literal IPv4/],
    ],
  },
];

for (const row of rows) {
  test(`listen rules: ${JSON.stringify(row.in)}`, () => {
    const problems: Problem[] = [];
    const notes: Problem[] = [];
    const l = resolveListeners({ ...base, ...row.in }, problems, notes);
    assert.deepEqual(
      problems.map((p) => p.key),
      (row.errors ?? []).map((e) => e[0]),
      JSON.stringify(problems),
    );
    for (const [i, [, re]] of (row.errors ?? []).entries()) assert.match(problems[i]?.message ?? '', re);
    assert.deepEqual(
      notes.map((p) => p.key),
      (row.notes ?? []).map((e) => e[0]),
      JSON.stringify(notes),
    );
    for (const [i, [, re]] of (row.notes ?? []).entries()) assert.match(notes[i]?.message ?? '', re);
    if (row.out) {
      const [o, i, a, ad] = row.out.map((s) => (s === '-' ? null : hp(s)));
      assert.deepEqual(l, { outbound: o, inbound: i, advertise: a, admin: ad });
    }
  });
}
