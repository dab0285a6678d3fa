/**
 * loadSidecarConfig's sources: where the config dir comes from, `--config FILE`, one spelling per
 * flat key, the file-size bound, and the shipped sample conf/ directory. (The table of key cases
 * is in ./load.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { SidecarFlags } from './flags.ts';
import { getFlat } from './flat-read.ts';
import { loadSidecarConfig } from './load.ts';

const root = mkdtempSync(join(tmpdir(), 'mesher-conf-src-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const MS = 'servicecomb:\n  service:\n    name: server1\n';
const CH = '';

function writeDir(files: Record<string, string>): string {
  const dir = join(root, `case-${n++}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('config dir: --config-dir flag, then CHASSIS_CONF_DIR, then $CHASSIS_HOME/conf', () => {
  const a = writeDir({ 'chassis.yaml': CH, 'microservice.yaml': 'servicecomb.service.name: a\n' });
  const b = writeDir({ 'chassis.yaml': CH, 'microservice.yaml': 'servicecomb.service.name: b\n' });
  const home = join(root, `home-${n++}`);
  mkdirSync(join(home, 'conf'), { recursive: true });
  writeFileSync(join(home, 'conf', 'chassis.yaml'), '');
  writeFileSync(join(home, 'conf', 'microservice.yaml'), 'servicecomb.service.name: c\n');
  const name = (env: Record<string, string>, flags: SidecarFlags = {}) =>
    loadSidecarConfig({ env, flags }).config.service.name;
  assert.equal(name({ CHASSIS_CONF_DIR: b, CHASSIS_HOME: home }, { configDir: a }), 'a');
  assert.equal(name({ CHASSIS_CONF_DIR: b, CHASSIS_HOME: home }), 'b');
  assert.equal(name({ CHASSIS_HOME: home }), 'c');
  assert.throws(
    () => loadSidecarConfig({ env: { CHASSIS_CONF_DIR: join(root, 'nope') } }),
    /config directory does not exist/,
  );
});

test('--config FILE replaces the directory mesher.yaml', () => {
  const dir = writeDir({
    'chassis.yaml': CH,
    'microservice.yaml': MS,
    'mesher.yaml': 'admin: { enable: true }\n',
  });
  const other = join(writeDir({}), 'custom-mesher.yaml');
  writeFileSync(other, 'admin: { enable: false }\n');
  assert.equal(
    loadSidecarConfig({ confDir: dir, env: {}, flags: { configFile: other } }).config.listeners.admin,
    null,
  );
  assert.throws(
    () => loadSidecarConfig({ confDir: dir, env: {}, flags: { configFile: join(root, 'missing.yaml') } }),
    /command line: --config: .*does not exist/,
  );
});

test('flat keeps one spelling per key and getFlat reads either', () => {
  const dir = writeDir({
    'chassis.yaml':
      'cse:\n  flowcontrol:\n    Consumer:\n      qps:\n        limit:\n          server2: 10\n',
    'microservice.yaml': MS,
  });
  const { config } = loadSidecarConfig({
    confDir: dir,
    env: { servicecomb_flowcontrol_Consumer_qps_limit_server2: '20' },
  });
  assert.equal(config.flat['servicecomb.flowcontrol.Consumer.qps.limit.server2'], '20');
  assert.equal(config.flat['cse.flowcontrol.Consumer.qps.limit.server2'], undefined);
  assert.equal(getFlat(config.flat, 'cse.flowcontrol.Consumer.qps.limit.server2'), '20');
});

test('oversized files are refused before parsing', () => {
  const dir = writeDir({ 'chassis.yaml': `# ${'x'.repeat(1024 * 1024 + 10)}\n`, 'microservice.yaml': MS });
  assert.throws(
    () => loadSidecarConfig({ confDir: dir, env: {} }),
    /chassis\.yaml: file is \d+ bytes; the limit is 1048576/,
  );
});

test('the sample conf/ directory loads without warnings', () => {
  const { config, warnings } = loadSidecarConfig({
    confDir: new URL('../../../conf', import.meta.url).pathname,
    env: {},
  });
  assert.deepEqual(warnings, []);
  assert.equal(config.service.name, 'demo-service');
  assert.equal(config.listeners.inbound, null);
});
