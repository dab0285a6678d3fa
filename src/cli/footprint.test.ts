// Issue 7 (sidecar memory): what `mesher sidecar` loads, checked from inside a real child process
// (module ids, not RSS, which is too noisy to assert on). A fake registry/config center on an
// ephemeral port answers the sidecar; once the config center has been polled, the child reports
// its loaded modules (testdata/module-probe.mjs) and the test asserts that
//  - the global fetch is never called: its first call sets up Node's bundled undici (its own
//    llhttp WASM, +10 MB RSS); the config-center poller rides the registry client's npm undici
//    (src/sidecar/config-center/kie-poll.ts). (Node's bundled undici *module* is loaded anyway:
//    npm undici touches globalThis.Headers when it loads.)
//  - nothing of the registry's server side (etcd3, gRPC), no npm undici (only `transport: undici`
//    loads it, src/sidecar/upstream/lazy-undici.ts) and none of the dev tooling is loaded;
//  - MESHER_V8_FLAGS (src/cli/v8-flags.ts) reaches V8 from inside the process: with
//    --optimize-for-size the new space stays at a few MB; by default (no flags) it grows past that
//    while the sidecar loads.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

const PROBE = join(import.meta.dirname, 'testdata/module-probe.mjs');
const MAIN = join(import.meta.dirname, 'main.ts');

interface Probe {
  builtins: string[];
  cjs: string[];
  fetchCalls: number;
  newSpaceBytes: number;
}

let server: Server;
let origin = '';
let kiePolls = 0;
const held = new Set<import('node:http').ServerResponse>();
const dirs: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    if (req.url?.includes('/kie/kv')) {
      kiePolls++;
      // A long poll (revision given) is held until the test ends; the first round answers at once.
      if (req.url.includes('revision=')) {
        held.add(res);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-kie-revision': '1' });
      res.end('{"data":[],"total":0}');
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"errorCode":"400012","errorMessage":"not here"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const r of held) r.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function configDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mesher-footprint-'));
  dirs.push(dir);
  writeFileSync(
    join(dir, 'chassis.yaml'),
    [
      'servicecomb:',
      '  protocols:',
      '    http: { listenAddress: "127.0.0.1:0" }',
      '    rest-admin: { listenAddress: "127.0.0.1:0" }',
      '  registry:',
      `    address: "${origin}"`,
      '    watch: true',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'microservice.yaml'),
    'servicecomb:\n  service: { name: footprint, app: default, version: "1.0.0" }\n',
  );
  return dir;
}

function waitFor(child: ChildProcess, stream: 'stdout' | 'stderr', re: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(
      () => done(new Error(`no ${re} within ${ms} ms; ${stream}: ${text.slice(-2000)}`)),
      ms,
    );
    const onData = (d: Buffer) => {
      text += d.toString();
      const m = text.match(re);
      if (m) done(undefined, m[1] ?? m[0]);
    };
    const onExit = (code: number | null) =>
      done(new Error(`child exited (${code}) before ${re}: ${text.slice(-2000)}`));
    function done(err?: Error, value?: string) {
      clearTimeout(timer);
      child[stream]?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(value!);
    }
    child[stream]?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Start `mesher sidecar`, wait for it to listen and for the config center to be polled, probe. */
async function probeSidecar(env: Record<string, string>): Promise<Probe> {
  const polled = kiePolls;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', PROBE, MAIN, 'sidecar', '--config-dir', configDir()],
    {
      env: { ...process.env, MESHER_LOG_LEVEL: 'error', MESHER_DRAIN_MS: '0', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  try {
    await waitFor(child, 'stdout', /mesher sidecar listening/, 30_000);
    for (let i = 0; i < 300 && kiePolls === polled; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(kiePolls > polled, 'the sidecar polled the config center');
    await new Promise((r) => setTimeout(r, 200));
    const answer = waitFor(child, 'stderr', /MODULE-PROBE (.*)\n/, 10_000);
    child.stdin?.write('probe\n');
    return JSON.parse(await answer) as Probe;
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}

const packageOf = (file: string) => file.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//)?.[1];

test('mesher sidecar: no global fetch, no registry server or dev packages, V8 defaults', async () => {
  const p = await probeSidecar({});
  assert.ok(p.builtins.length > 50, 'the probe saw the module list');
  assert.ok(p.builtins.includes('NativeModule http'), 'sanity: the list holds loaded built-ins');
  assert.equal(p.fetchCalls, 0, 'the sidecar never calls the global fetch');
  const packages = new Set(p.cjs.map(packageOf).filter((x) => x !== undefined));
  assert.ok(packages.has('prom-client'), 'sanity: the CommonJS packages the sidecar uses are listed');
  for (const heavy of [
    'etcd3',
    '@grpc/grpc-js',
    '@grpc/proto-loader',
    'http-proxy',
    'fast-check',
    'undici',
  ]) {
    assert.equal(packages.has(heavy), false, `${heavy} is not loaded by the sidecar`);
  }
  assert.ok(p.newSpaceBytes > 8 * 1048576, `default V8 settings: new space ${p.newSpaceBytes} B > 8 MB`);
});

test('MESHER_V8_FLAGS=--optimize-for-size takes effect: the new space stays at most 8 MB', async () => {
  const p = await probeSidecar({ MESHER_V8_FLAGS: '--optimize-for-size' });
  assert.ok(p.newSpaceBytes > 0 && p.newSpaceBytes <= 8 * 1048576, `new space ${p.newSpaceBytes} B <= 8 MB`);
});
