// `mesher registry` flag parsing: storage choice (--data-dir | --in-memory | --etcd / env), and
// errors that name the flag (or the environment variable) and the bad value.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ETCD_ENV, parseRegistryFlags } from './registry.ts';

const ok = (argv: string[], env: Record<string, string> = {}) => {
  const f = parseRegistryFlags(argv, env);
  if (typeof f === 'string') assert.fail(f);
  return f;
};

test('--etcd takes a comma list of http(s) URLs; the env var is the fallback', () => {
  const f = ok(['--etcd', 'http://127.0.0.1:2379, http://127.0.0.1:22379/', '--listen', '127.0.0.1:0']);
  assert.deepEqual(f.etcd, ['http://127.0.0.1:2379', 'http://127.0.0.1:22379']);
  assert.equal(f.port, 0);
  assert.deepEqual(ok([], { [ETCD_ENV]: 'http://10.0.0.1:2379' }).etcd, ['http://10.0.0.1:2379']);
  assert.deepEqual(ok(['--etcd=http://a:1'], { [ETCD_ENV]: 'http://b:2' }).etcd, ['http://a:1']);
  assert.equal(ok(['--in-memory'], { [ETCD_ENV]: 'http://b:2' }).etcd, null, 'an explicit store wins');
  assert.equal(ok([]).etcd, null);
  assert.equal(ok(['--etcd', 'http://a:1', '--etcd-namespace', '/team-a']).etcdNamespace, '/team-a');
});

test('bad values name the flag and the entry', () => {
  const table: Array<[string[], Record<string, string>, RegExp]> = [
    [['--etcd', 'localhost:2379'], {}, /--etcd: 'localhost:2379' is not an etcd client URL/],
    [['--etcd', 'http://a:1,ftp://b:2'], {}, /--etcd: 'ftp:\/\/b:2'/],
    [['--etcd', 'http://a'], {}, /--etcd: 'http:\/\/a' .*want http:\/\/HOST:PORT/],
    [['--etcd', 'http://a:1/v3'], {}, /--etcd: 'http:\/\/a:1\/v3'/],
    [['--etcd', ','], {}, /--etcd: needs at least one URL/],
    [['--etcd'], {}, /--etcd needs a value/],
    [[], { [ETCD_ENV]: 'nope' }, new RegExp(`${ETCD_ENV}: 'nope'`)],
    [['--etcd', 'http://a:1', '--data-dir', '/x'], {}, /--etcd and --data-dir cannot be used together/],
    [['--in-memory', '--etcd', 'http://a:1'], {}, /--in-memory and --etcd/],
    [['--etcd-namespace', '/x'], {}, /--etcd-namespace needs --etcd/],
    [['--etcd', 'http://a:1', '--etcd-namespace', '/a b'], {}, /invalid --etcd-namespace/],
    [['--etcd', 'http://a:1', '--etcd-namespace', 'team'], {}, /invalid --etcd-namespace 'team'/],
  ];
  for (const [argv, env, re] of table) {
    const r = parseRegistryFlags(argv, env);
    assert.equal(typeof r, 'string', argv.join(' '));
    assert.match(r as string, re, argv.join(' '));
  }
});
