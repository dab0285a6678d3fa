import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isConfigError } from './config-error.ts';
import { parseSidecarFlags } from './flags.ts';

test('flags in both --flag value and --flag=value forms, with or without the sidecar command', () => {
  const cases: Array<[string[], object]> = [
    [[], {}],
    [['sidecar'], {}],
    [['--config-dir', './conf'], { configDir: './conf' }],
    [['sidecar', '--config-dir=/etc/mesher', '--mode', 'edge'], { configDir: '/etc/mesher', mode: 'edge' }],
    [['--service-ports', 'rest:8080,grpc:9000'], { servicePorts: 'rest:8080,grpc:9000' }],
    [['--config', 'conf/mesher.yaml', '-h'], { configFile: 'conf/mesher.yaml', help: true }],
  ];
  for (const [argv, want] of cases) assert.deepEqual(parseSidecarFlags(argv), want, argv.join(' '));
});

test('every bad flag is reported at once with what is wrong', () => {
  let caught: unknown;
  try {
    parseSidecarFlags([
      '--confg-dir',
      'x',
      '--mode',
      'per-host',
      '--service-ports',
      '--config-dir',
      'a',
      '--config-dir=b',
    ]);
  } catch (err) {
    caught = err;
  }
  assert.ok(isConfigError(caught));
  const got = caught.issues.map((i) => `${i.file}|${i.key}|${i.message}`);
  assert.deepEqual(got, [
    'command line|--confg-dir|unknown flag (known: --config-dir, --config, --service-ports, --mode, --help)',
    'command line|x|unexpected argument',
    'command line|--mode|must be sidecar or edge, not "per-host" (per-host is not supported)',
    'command line|--service-ports|needs a value',
    'command line|--config-dir|given more than once',
  ]);
});
