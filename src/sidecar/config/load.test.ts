/**
 * Table-driven tests of loadSidecarConfig: each case writes its files into a fresh temp dir and
 * expects either parts of the config (and warnings) or an exact set of issues (file + key).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type ConfigError, isConfigError } from './config-error.ts';
import { dumpSidecarConfig } from './dump.ts';
import type { SidecarFlags } from './flags.ts';
import { loadSidecarConfig } from './load.ts';
import type { SidecarConfig } from './types.ts';

const root = mkdtempSync(join(tmpdir(), 'mesher-conf-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** `${NAME}` written without tripping the template-literal lint. */
const ph = (inner: string) => `$${'{'}${inner}}`;
const MS = 'servicecomb:\n  service:\n    name: server1\n';
const CH = '';

function writeDir(files: Record<string, string>): string {
  const dir = join(root, `case-${n++}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> | T[K] : T[K] };

interface Case {
  name: string;
  files: Record<string, string>;
  env?: Record<string, string>;
  flags?: SidecarFlags;
  /** Expected subset of the config. */
  expect?: DeepPartial<SidecarConfig>;
  /** Exact flat entries expected. */
  flat?: Record<string, unknown>;
  /** Each must match some warning. */
  warnings?: RegExp[];
  /** Exactly these issues (file, key, message pattern), in any order. */
  issues?: Array<[string, string, RegExp]>;
}

const cases: Case[] = [
  {
    name: 'defaults: consumer-only sidecar on 127.0.0.1:30101, admin on 30102, LeastLoaded',
    files: { 'chassis.yaml': CH, 'microservice.yaml': MS },
    expect: {
      mode: 'sidecar',
      proxy: { engine: 'fast' },
      service: { name: 'server1', app: 'default', version: '0.0.1', environment: '', properties: {} },
      listeners: {
        outbound: { host: '127.0.0.1', port: 30101 },
        inbound: null,
        advertise: null,
        admin: { host: '127.0.0.1', port: 30102 },
      },
      registry: {
        addresses: ['http://127.0.0.1:30100'],
        watch: false,
        refreshIntervalMs: 30_000,
        heartbeatIntervalMs: 30_000,
        project: 'default',
        domain: 'default',
      },
      servicePorts: {},
      localApp: null,
      loadBalance: { strategy: 'LeastLoaded', perService: {} },
    },
  },
  {
    name: 'the seed example: cse: prefix, external IP -> inbound + advertise, SPECIFIC_ADDR',
    files: {
      'chassis.yaml': 'cse:\n  protocols:\n    http:\n      listenAddress: 192.168.1.1:30101\n',
      'microservice.yaml': MS,
    },
    env: { SPECIFIC_ADDR: '127.0.0.1:80' },
    expect: {
      listeners: {
        outbound: { host: '127.0.0.1', port: 30101 },
        inbound: { host: '192.168.1.1', port: 30101 },
        advertise: { host: '192.168.1.1', port: 30101 },
      },
      servicePorts: { rest: 80 },
      localApp: { host: '127.0.0.1', port: 80 },
    },
    flat: { 'cse.protocols.http.listenAddress': '192.168.1.1:30101' },
  },
  {
    name: 'every typed key from files, durations in several forms, properties coerced to strings',
    files: {
      'chassis.yaml': [
        'servicecomb:',
        '  protocols:',
        '    http: { listenAddress: "127.0.0.2:0", advertiseAddress: "mesh-a.internal:30101" }',
        '    rest-admin: { listenAddress: "127.0.0.1:0" }',
        '  registry:',
        '    address: http://10.0.0.1:30100, https://10.0.0.2:30100/ ,http://10.0.0.1:30100',
        '    watch: true',
        '    refreshInterval: 500ms',
        '    heartbeat: { interval: 2 }',
        'region: { name: r1, availableZone: az1 }',
      ].join('\n'),
      'microservice.yaml': [
        'servicecomb:',
        '  service:',
        '    name: my.svc-1',
        '    app: shop',
        '    version: "1.2.3.4"',
        '    environment: production',
        '    hostname: pod-7',
        '    properties: { allowCrossApp: true, weight: 3 }',
        '    instanceProperties: { zone.tag: blue }',
      ].join('\n'),
      'mesher.yaml': 'admin:\n  enable: true\n',
    },
    expect: {
      service: {
        name: 'my.svc-1',
        app: 'shop',
        version: '1.2.3.4',
        environment: 'production',
        hostname: 'pod-7',
        properties: { allowCrossApp: 'true', weight: '3' },
        instanceProperties: { 'zone.tag': 'blue' },
        dataCenter: { name: 'r1', region: 'r1', availableZone: 'az1' },
      },
      listeners: {
        outbound: { host: '127.0.0.1', port: 0 },
        inbound: { host: '127.0.0.2', port: 0 },
        advertise: { host: 'mesh-a.internal', port: 30101 },
        admin: { host: '127.0.0.1', port: 0 },
      },
      registry: {
        addresses: ['http://10.0.0.1:30100', 'https://10.0.0.2:30100'],
        watch: true,
        refreshIntervalMs: 500,
        heartbeatIntervalMs: 2000,
      },
    },
    warnings: [/no rest port for the local application/],
  },
  {
    name: 'env overrides files (underscore form, any prefix spelling); PAAS_CSE_SC_ENDPOINT below it',
    files: {
      'chassis.yaml': 'servicecomb:\n  registry:\n    address: http://file:1\n    watch: false\n',
      'microservice.yaml': MS,
    },
    env: {
      servicecomb_registry_watch: 'true',
      cse_registry_refreshInterval: '1m',
      PAAS_CSE_SC_ENDPOINT: 'http://paas:2',
      CSE_PROJECT_ID: 'proj1',
      servicecomb_service_version: '2.0.0',
      PATH: '/usr/bin',
    },
    expect: {
      registry: { addresses: ['http://paas:2'], watch: true, refreshIntervalMs: 60_000, project: 'proj1' },
      service: { version: '2.0.0' },
    },
    flat: { 'servicecomb.registry.watch': 'true', 'servicecomb.registry.address': 'http://paas:2' },
  },
  {
    name: 'the exact env key beats PAAS_CSE_SC_ENDPOINT',
    files: { 'chassis.yaml': CH, 'microservice.yaml': MS },
    env: { PAAS_CSE_SC_ENDPOINT: 'http://paas:2', servicecomb_registry_address: 'http://exact:3' },
    expect: { registry: { addresses: ['http://exact:3'] } },
  },
  {
    name: 'ENV||default substitution, set and unset, several per value',
    files: {
      'chassis.yaml': `servicecomb:\n  registry:\n    address: http://${ph('REG_HOST||127.0.0.1')}:${ph('REG_PORT||30100')}\n`,
      'microservice.yaml': `servicecomb:\n  service:\n    name: ${ph('SVC||fallback')}\n    version: ${ph('VER')}\n`,
    },
    env: { REG_HOST: '10.1.1.1', VER: '3.0' },
    expect: {
      registry: { addresses: ['http://10.1.1.1:30100'] },
      service: { name: 'fallback', version: '3.0' },
    },
  },
  {
    name: 'a placeholder with its variable unset and no default becomes "" with a warning',
    files: { 'chassis.yaml': CH, 'microservice.yaml': `${MS}    properties:\n      tag: x\${NOPE}\n` },
    expect: { service: { properties: { tag: 'x' } } },
    warnings: [
      /microservice\.yaml: servicecomb\.service\.properties\.tag: environment variable NOPE is not set/,
    ],
  },
  {
    name: 'an empty value from a placeholder still has to be valid',
    files: { 'chassis.yaml': CH, 'microservice.yaml': `${MS}    app: \${NOPE}\n` },
    issues: [['microservice.yaml', 'servicecomb.service.app', /not a valid app id/]],
  },
  {
    name: 'servicecomb. beats cse. in files; two files disagreeing warn; any *.yaml is read',
    files: {
      'chassis.yaml': 'cse:\n  loadbalance:\n    strategy:\n      name: random\n',
      'microservice.yaml': MS,
      'load_balancing.yaml': [
        'servicecomb:',
        '  loadbalance:',
        '    strategy: { name: roundrobin }',
        '    server2: { strategy: { name: weightedresponse } }',
        '    my.dotted.svc: { strategy: { name: SESSIONSTICKINESS } }',
        '    server3: { retryEnabled: true }',
      ].join('\n'),
    },
    expect: {
      loadBalance: {
        strategy: 'RoundRobin',
        perService: {
          server2: { strategy: 'WeightedResponse' },
          'my.dotted.svc': { strategy: 'SessionStickiness' },
        },
      },
    },
    warnings: [/chassis\.yaml: cse\.loadbalance\.strategy\.name: also set in load_balancing\.yaml/],
  },
  {
    name: 'unknown keys warn with did-you-mean; other features namespaces pass through silently',
    files: {
      'chassis.yaml': [
        'servicecomb:',
        '  registry: { adress: http://x:1, heartbeatInterval: 5s }',
        '  protocols: { http: { listenAdress: 1.2.3.4:1 } }',
        '  routeRule: { server2: "- precedence: 1" }',
        'cse:',
        '  isolation: { Consumer: { timeoutInMilliseconds: 100 } }',
        '  loadbalance: { stratgy: { name: Random } }',
        'servicecmb: { x: 1 }',
        'lager: { level: info }',
        'tracing: { tracer: zipkin }',
      ].join('\n'),
      'microservice.yaml': MS,
      'mesher.yaml': 'admin: { enabled: false }\nlocalHealthCheck: [{ port: "8080" }]\n',
    },
    warnings: [
      /chassis\.yaml: servicecomb\.registry\.adress: unknown key \(did you mean servicecomb\.registry\.address\?\)/,
      /servicecomb\.registry\.heartbeatInterval: unknown key \(did you mean servicecomb\.registry\.heartbeat\.interval\?\)/,
      /did you mean servicecomb\.protocols\.http\.listenAddress\?/,
      /cse\.loadbalance\.stratgy\.name: unknown key \(did you mean cse\.loadbalance\.strategy\.name\?\)/,
      /servicecmb\.x: unknown key \(did you mean servicecomb\.x\?\)/,
      /mesher\.yaml: admin\.enabled: unknown key \(did you mean admin\.enable\?\)/,
    ],
    flat: {
      'cse.isolation.Consumer.timeoutInMilliseconds': 100,
      'servicecomb.routeRule.server2': '- precedence: 1',
      'lager.level': 'info',
      localHealthCheck: [{ port: '8080' }],
    },
    expect: {
      loadBalance: { strategy: 'LeastLoaded' },
      listeners: { admin: { host: '127.0.0.1', port: 30102 } },
    },
  },
  {
    name: 'mesher.proxy.engine: fast by default, node when mesher.yaml says so (any case)',
    files: {
      'chassis.yaml': CH,
      'microservice.yaml': MS,
      'mesher.yaml': 'mesher:\n  proxy: { engine: Node }\n',
    },
    expect: { proxy: { engine: 'node' } },
  },
  {
    name: 'mesher.proxy.engine: anything but fast or node is an error naming the file and key',
    files: {
      'chassis.yaml': CH,
      'microservice.yaml': MS,
      'mesher.yaml': 'mesher:\n  proxy: { engine: turbo }\n',
    },
    issues: [['mesher.yaml', 'mesher.proxy.engine', /"turbo" is not an engine; use fast or node/]],
  },
  {
    name: 'admin.enable false -> no admin listener (env string "false" too)',
    files: { 'chassis.yaml': CH, 'microservice.yaml': MS, 'mesher.yaml': 'admin:\n  enable: true\n' },
    env: { admin_enable: 'false' },
    expect: { listeners: { admin: null } },
  },
  {
    name: '--service-ports wins over SERVICE_PORTS and SPECIFIC_ADDR; http is taken as rest',
    files: { 'chassis.yaml': CH, 'microservice.yaml': MS },
    env: { SERVICE_PORTS: 'rest:1', SPECIFIC_ADDR: '127.0.0.1:2' },
    flags: { servicePorts: 'http:8080, grpc:9000', mode: 'sidecar' },
    expect: { servicePorts: { rest: 8080, grpc: 9000 }, localApp: { host: '127.0.0.1', port: 8080 } },
    warnings: [/command line: --service-ports: "http:8080": the protocol is named rest/],
  },
  {
    name: 'SERVICE_PORTS is read directly (the original ignored it)',
    files: { 'chassis.yaml': CH, 'microservice.yaml': MS },
    env: { SERVICE_PORTS: 'rest:8081' },
    expect: { localApp: { host: '127.0.0.1', port: 8081 } },
  },
  {
    name: 'provider without a rest port warns that inbound calls will fail',
    files: {
      'chassis.yaml': 'servicecomb.protocols.http.listenAddress: 10.0.0.5:30101\n',
      'microservice.yaml': MS,
    },
    warnings: [/no rest port for the local application/],
    expect: { listeners: { inbound: { host: '10.0.0.5', port: 30101 } } },
  },
  {
    name: 'multiple errors are reported together, each with its file and key',
    files: {
      'chassis.yaml': [
        'servicecomb:',
        '  protocols: { http: { listenAddress: 0.0.0.0:30101 }, rest-admin: { listenAddress: "localhost:1" } }',
        '  registry: { address: "127.0.0.1:30100", watch: maybe, refreshInterval: soon, heartbeat: { interval: 0 } }',
        '  loadbalance: { strategy: { name: Fastest }, server2: { strategy: { name: nope } } }',
      ].join('\n'),
      'microservice.yaml':
        'servicecomb:\n  service: { name: -bad-, version: 1.99999.0, environment: prod, app: "a b" }\n',
    },
    env: {
      servicecomb_registry_heartbeat_interval: '-1',
      SERVICE_PORTS: 'rest:99999',
      servicecomb_regsitry_watch: 'true',
    },
    warnings: [
      /env: servicecomb_regsitry_watch: unknown key \(did you mean servicecomb\.registry\.watch\?\)/,
    ],
    issues: [
      [
        'chassis.yaml',
        'servicecomb.protocols.http.listenAddress',
        /0\.0\.0\.0 is not allowed.*10\.0\.0\.5:30101.*127\.0\.0\.1:30101/,
      ],
      [
        'chassis.yaml',
        'servicecomb.protocols.rest-admin.listenAddress',
        /use 127\.0\.0\.1:1 instead of localhost/,
      ],
      [
        'chassis.yaml',
        'servicecomb.registry.address',
        /must be an http\(s\) URL, e\.g\. http:\/\/127\.0\.0\.1:30100/,
      ],
      ['chassis.yaml', 'servicecomb.registry.watch', /must be true or false/],
      ['chassis.yaml', 'servicecomb.registry.refreshInterval', /must be a duration/],
      ['env', 'servicecomb_registry_heartbeat_interval', /must be a duration/],
      ['chassis.yaml', 'servicecomb.loadbalance.strategy.name', /"Fastest" is not a strategy/],
      ['chassis.yaml', 'servicecomb.loadbalance.server2.strategy.name', /"nope" is not a strategy/],
      ['microservice.yaml', 'servicecomb.service.name', /not a valid service name/],
      ['microservice.yaml', 'servicecomb.service.version', /each at most 32767/],
      ['microservice.yaml', 'servicecomb.service.environment', /development, testing/],
      ['microservice.yaml', 'servicecomb.service.app', /not a valid app id/],
      ['env', 'SERVICE_PORTS', /port must be a number from 1 to 65535/],
    ],
  },
  {
    name: 'heartbeat interval 0 is rejected (it would spin)',
    files: { 'chassis.yaml': 'servicecomb.registry.heartbeat.interval: 0s\n', 'microservice.yaml': MS },
    issues: [['chassis.yaml', 'servicecomb.registry.heartbeat.interval', /positive duration/]],
  },
  {
    name: 'missing required files are named; a missing service name is reported',
    files: { 'mesher.yaml': 'admin: { enable: true }\n' },
    issues: [
      ['chassis.yaml', '', /required file is missing/],
      ['microservice.yaml', '', /required file is missing/],
      ['microservice.yaml', 'servicecomb.service.name', /is required/],
    ],
  },
  {
    name: 'YAML syntax errors and duplicate keys are reported with their line',
    files: { 'chassis.yaml': 'servicecomb:\n  registry: [unclosed\n', 'microservice.yaml': `${MS}${MS}` },
    issues: [
      ['chassis.yaml', '', /invalid YAML: line \d+/],
      ['microservice.yaml', '', /invalid YAML: line 4.*unique/i],
      ['microservice.yaml', 'servicecomb.service.name', /is required/],
    ],
  },
  {
    name: 'a section given a plain value, and a non-map top level',
    files: {
      'chassis.yaml': 'servicecomb:\n  registry: http://x:1\n',
      'microservice.yaml': MS,
      'extra.yaml': '- a\n',
    },
    issues: [
      ['chassis.yaml', 'servicecomb.registry', /is a section, not a value \(it holds type, address/],
      ['extra.yaml', '', /top level must be a map/],
    ],
  },
  {
    name: 'CAS_* env vars name the service (go-chassis compatibility)',
    files: { 'chassis.yaml': CH, 'microservice.yaml': 'servicecomb:\n  service:\n    name: fromfile\n' },
    env: { CAS_COMPONENT_NAME: 'fromenv', CAS_APPLICATION_NAME: 'app2', CAS_INSTANCE_VERSION: '9.9' },
    expect: { service: { name: 'fromenv', app: 'app2', version: '9.9' } },
  },
  {
    name: 'a number version warns that YAML changed it',
    files: { 'chassis.yaml': CH, 'microservice.yaml': `${MS}    version: 1.0\n` },
    expect: { service: { version: '1' } },
    warnings: [/YAML read this version as a number \(1\)/],
  },
  {
    name: 'pre-v2 keys are pointed at their replacement',
    files: {
      'chassis.yaml':
        'servicecomb:\n  service:\n    registry:\n      address: http://x:1\nrouteRule: {}\nrouteRule.a: b\n',
      'microservice.yaml': MS,
    },
    warnings: [/servicecomb\.service\.registry\.address: pre-v2 key, ignored: use servicecomb\.registry\.\*/],
  },
];

function assertSubset(actual: unknown, expected: unknown, path: string): void {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    assert.ok(
      actual !== null && typeof actual === 'object',
      `${path} should be an object, got ${JSON.stringify(actual)}`,
    );
    for (const [k, v] of Object.entries(expected))
      assertSubset((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
    if (Object.keys(expected).length === 0) assert.deepEqual(actual, expected, path);
  } else assert.deepEqual(actual, expected, path);
}

for (const c of cases) {
  test(c.name, () => {
    const confDir = writeDir(c.files);
    const run = () => loadSidecarConfig({ confDir, env: c.env ?? {}, flags: c.flags ?? {} });
    if (c.issues) {
      let caught: unknown;
      try {
        run();
      } catch (err) {
        caught = err;
      }
      assert.ok(isConfigError(caught), `expected a ConfigError, got ${String(caught)}`);
      const got = (caught as ConfigError).issues;
      for (const [file, key, re] of c.issues) {
        assert.ok(
          got.some((i) => i.file === file && i.key === key && re.test(i.message)),
          `missing issue ${file}: ${key}: ${re}\ngot:\n${(caught as Error).message}`,
        );
      }
      assert.equal(got.length, c.issues.length, `unexpected extra issues:\n${(caught as Error).message}`);
      // The message lists every issue, one per line, as file: key: message.
      const lines = (caught as Error).message.split('\n').slice(1);
      assert.equal(lines.length, got.length);
      for (const re of c.warnings ?? []) {
        const ws = (caught as ConfigError).warnings;
        assert.ok(
          ws.some((w) => re.test(w)),
          `no warning matches ${re}:\n${ws.join('\n')}`,
        );
      }
      return;
    }
    const { config, warnings } = run();
    assert.equal(config.confDir, confDir);
    if (c.expect) assertSubset(config, c.expect, 'config');
    for (const [k, v] of Object.entries(c.flat ?? {})) assert.deepEqual(config.flat[k], v, `flat[${k}]`);
    for (const re of c.warnings ?? []) {
      assert.ok(
        warnings.some((w) => re.test(w)),
        `no warning matches ${re}:\n${warnings.join('\n')}`,
      );
    }
    if (!c.warnings) assert.deepEqual(warnings, []);
    assert.ok(
      Object.isFrozen(config) && Object.isFrozen(config.listeners.outbound) && Object.isFrozen(config.flat),
    );
  });
}

test('round trip: dumping a loaded config and loading the dump gives the same config', () => {
  for (const c of cases.filter((x) => !x.issues)) {
    const first = loadSidecarConfig({
      confDir: writeDir(c.files),
      env: c.env ?? {},
      flags: c.flags ?? {},
    }).config;
    const dir = writeDir(dumpSidecarConfig(first));
    // Env that names the local app still applies; env that overrides keys is already in the dump.
    const env = Object.fromEntries(
      Object.entries(c.env ?? {}).filter(([k]) =>
        ['SERVICE_PORTS', 'SPECIFIC_ADDR', 'CSE_PROJECT_ID'].includes(k),
      ),
    );
    const second = loadSidecarConfig({ confDir: dir, env, flags: c.flags ?? {} }).config;
    const strip = (x: SidecarConfig) => ({ ...x, flat: undefined, confDir: undefined });
    assert.deepEqual(strip(second), strip(first), c.name);
  }
});
