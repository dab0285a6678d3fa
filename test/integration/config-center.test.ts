/**
 * Config center end to end (issue 5 item 4): a registry with the config center on its store, a
 * sidecar's real file+env config (`loadSidecarConfig`), the sidecar's config-center source, and
 * the `mesher` CLI as the operator. Checks the priority config center > env > files, a route rule
 * set with `mesher route set` reaching the sidecar within 1 s through the long poll, and the
 * validate-or-keep-last-good rule with the real route-table reload when a bad rule is stored
 * behind the CLI's back.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ConfigCenterClient } from '../../src/api-client/index.ts';
import { type ConfigCenterServer, serveConfigCenter } from '../../src/registry/config-center/index.ts';
import { type RegistryServer, startRegistry } from '../../src/registry/main.ts';
import { ManualClock, systemClock } from '../../src/shared/clock.ts';
import { loadSidecarConfig, type SidecarConfig } from '../../src/sidecar/config/index.ts';
import {
  createConfigCenterSource,
  mergeFlat,
  type OverridesUpdate,
} from '../../src/sidecar/config-center/index.ts';
import { reloadRouteTable } from '../../src/sidecar/routing/parse.ts';
import { EMPTY_TABLE, type RouteTable, tableSpecs } from '../../src/sidecar/routing/table.ts';
import { runMesher } from '../support/mesher-process.ts';

let registry: RegistryServer;
let cc: ConfigCenterServer;
let dir: string;

before(async () => {
  registry = await startRegistry({ port: 0, dataDir: null, clock: new ManualClock() });
  cc = await serveConfigCenter({ store: registry.store, clock: systemClock });
  dir = mkdtempSync(join(tmpdir(), 'mesher-cc-'));
});
after(async () => {
  await cc.close();
  await registry.close();
  rmSync(dir, { recursive: true, force: true });
});

// The CLI as operators run it; --registry/--config-center name the servers (none from the env).
const mesher = (args: string[]) => runMesher(args);

/** The sidecar side of the wiring, as main.ts is asked to do it: merge, re-validate, keep last good. */
class SidecarModel {
  flat: Record<string, unknown>;
  routes: RouteTable = EMPTY_TABLE;
  rejected: string[] = [];
  readonly updates: OverridesUpdate[] = [];
  #waiters: Array<() => void> = [];

  constructor(readonly base: SidecarConfig) {
    this.flat = { ...base.flat };
    this.routes = reloadRouteTable(this.flat, EMPTY_TABLE).table;
  }

  apply = (u: OverridesUpdate) => {
    this.updates.push(u);
    const merged = mergeFlat(this.base.flat, u.overrides);
    const r = reloadRouteTable(merged, this.routes);
    if (r.accepted) {
      this.flat = merged;
      this.routes = r.table;
    } else {
      this.rejected.push(...r.issues.map((i) => `${i.key}: ${i.message}`));
    }
    for (const w of this.#waiters.splice(0)) w();
  };

  next(): Promise<void> {
    return new Promise((r) => this.#waiters.push(r));
  }
}

test('config center over env over files; route set by the CLI applies within 1 s; a bad rule keeps the last good', {
  timeout: 60_000,
}, async (t) => {
  const conf = join(dir, 'conf');
  mkdirSync(conf);
  writeFileSync(
    join(conf, 'chassis.yaml'),
    [
      'servicecomb:',
      `  registry: { address: ${registry.url} }`,
      `  config: { client: { serverUri: ${cc.url}, refreshMode: 0 } }`,
      '  loadbalance: { strategy: { name: RoundRobin } }',
      '  isolation: { Consumer: { timeoutInMilliseconds: 1000 } }',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(conf, 'microservice.yaml'),
    'servicecomb:\n  service: { name: client, app: shop, version: 1.0.0 }\n',
  );
  const { config } = loadSidecarConfig({
    confDir: conf,
    env: { servicecomb_loadbalance_strategy_name: 'Random' },
  });
  assert.equal(config.flat['servicecomb.loadbalance.strategy.name'], 'Random', 'env over files');

  const kie = new ConfigCenterClient({ baseUrl: cc.url });
  const lb = await kie.create({
    key: 'cse.loadbalance.strategy.name',
    value: 'WeightedResponse',
    labels: { app: 'shop', service: 'client' },
  });
  await kie.create({
    key: 'cse.loadbalance.strategy.name',
    value: 'SessionStickiness',
    labels: { app: 'bank' },
  });

  const sidecar = new SidecarModel(config);
  const errors: unknown[] = [];
  const source = createConfigCenterSource({
    config,
    clock: systemClock,
    onChange: sidecar.apply,
    onError: (e) => errors.push(e),
  });
  try {
    await source.start();
    assert.equal(sidecar.flat['cse.loadbalance.strategy.name'], 'WeightedResponse', 'config center over env');
    assert.equal(sidecar.flat['servicecomb.loadbalance.strategy.name'], undefined, 'one spelling only');
    assert.equal(
      sidecar.flat['servicecomb.isolation.Consumer.timeoutInMilliseconds'],
      1000,
      'files still apply',
    );

    // The operator sets a route rule for calls to server2, for every sidecar of app shop.
    const rule = join(dir, 'rule.yaml');
    writeFileSync(rule, '- precedence: 1\n  route:\n    - {tags: {version: 2.0.0}, weight: 100}\n');
    let tApplied = 0;
    const applied = sidecar.next().then(() => {
      tApplied = performance.now();
    });
    const t0 = performance.now();
    const set = await mesher([
      'route',
      'set',
      'server2',
      '-f',
      rule,
      '--app',
      'shop',
      '--registry',
      registry.url,
      '--config-center',
      cc.url,
    ]);
    const tCli = performance.now();
    assert.equal(set.code, 0, set.stderr);
    await applied;
    // The sidecar usually has the rule before the CLI process has even exited.
    const lagMs = tApplied - tCli;
    t.diagnostic(
      `route rule applied ${lagMs.toFixed(1)} ms relative to the CLI's exit (CLI run ${(tCli - t0).toFixed(0)} ms)`,
    );
    assert.ok(lagMs < 1000, `applied ${lagMs} ms after the CLI exited`);
    assert.deepEqual(
      tableSpecs(sidecar.routes).server2?.map((r) => r.route.map((x) => x.tags)),
      [[{ version: '2.0.0' }]],
    );

    // A bad rule stored behind the CLI's back is refused by the sidecar; the last good stays.
    const stored = await kie.findExact('servicecomb.routeRule.server2', { app: 'shop' });
    assert.ok(stored);
    const refused = sidecar.next();
    await kie.update(stored.id, {
      value:
        '- route:\n    - {tags: {version: 1.0.0}, weight: 70}\n    - {tags: {version: 2.0.0}, weight: 50}\n',
    });
    await refused;
    assert.match(sidecar.rejected.join('\n'), /servicecomb\.routeRule\.server2.*weights sum to 120/);
    assert.deepEqual(
      tableSpecs(sidecar.routes).server2?.map((r) => r.route.map((x) => x.tags)),
      [[{ version: '2.0.0' }]],
    );

    // Reload is all-or-nothing (as for files): while the bad rule is stored, nothing else applies.
    // Deleting it clears the rule; deleting the config center's key gives the env value back.
    const cleared = sidecar.next();
    await kie.delete(stored.id);
    await cleared;
    assert.equal(tableSpecs(sidecar.routes).server2, undefined);
    const restored = sidecar.next();
    await kie.delete(lb.id);
    await restored;
    assert.equal(sidecar.flat['servicecomb.loadbalance.strategy.name'], 'Random');
    assert.equal(sidecar.flat['cse.loadbalance.strategy.name'], undefined);
    assert.deepEqual(errors, []);
  } finally {
    source.stop();
  }
});
