/**
 * @module cli/commands/config
 * `mesher config set|get|delete`: generic keys in the config center (Kie KV API) with labels;
 * sidecars whose labels match apply governance keys live. Also `mesher sidecar-status`
 * (`runSidecarStatus`): one sidecar's health, effective governance keys and route rules, read
 * from its admin API.
 */
import type { Kv, KvStatus, SidecarAdminClient } from '../../api-client/index.ts';
import { COMMON_USAGE, clientFrom, LABEL_OPTIONS, labelsFrom, parseFlags } from '../flags.ts';
import {
  CliFailure,
  formatLabels,
  printedSubcommandUsage,
  printedUsage,
  printJson,
  runCommand,
  table,
  usageError,
} from '../output.ts';

const USAGE = `usage:
  mesher config set <key> <value> [labels] [--type text|json|yaml|...] [--disabled] [flags]
  mesher config get [<key>] [labels] [--prefix] [flags]    list keys (all, one key, or --prefix)
  mesher config delete <key> [labels] [flags]             delete the key stored with exactly these labels

labels: --app A  --service S  --version V  --environment E  --label k=v (repeatable); none = every sidecar

${COMMON_USAGE}`;

const OPTIONS = {
  ...LABEL_OPTIONS,
  type: { type: 'string' },
  disabled: { type: 'boolean' },
  prefix: { type: 'boolean' },
} as const;

function rows(kvs: readonly Kv[]): string[][] {
  return kvs.map((kv) => [kv.key, formatLabels(kv.labels), kv.value, kv.status, String(kv.updateRevision)]);
}

export async function run(argv: string[]): Promise<number> {
  return runCommand('config', async () => {
    const [sub, ...rest] = argv;
    const { values, positionals } = parseFlags(rest, OPTIONS);
    if (printedSubcommandUsage(sub, values.help, USAGE, 'set, get or delete')) return;
    const api = clientFrom(values);
    const labels = labelsFrom(values);
    const hasLabels = Object.keys(labels).length > 0;
    switch (sub) {
      case 'set': {
        const [key, value, extra] = positionals;
        if (key === undefined || value === undefined)
          throw usageError('config set: <key> and <value> are required');
        if (extra !== undefined)
          throw usageError(`unexpected argument '${extra}' (quote values with spaces)`);
        const status: KvStatus = values.disabled ? 'disabled' : 'enabled';
        const { kv, created } = await api.config.put({ key, value, labels, valueType: values.type, status });
        if (values.json) return printJson({ created, kv });
        process.stdout.write(
          `${key} ${created ? 'created' : 'updated'} (labels ${formatLabels(kv.labels)}, revision ${kv.updateRevision})\n`,
        );
        return;
      }
      case 'get': {
        const [key, extra] = positionals;
        if (extra !== undefined) throw usageError(`unexpected argument '${extra}'`);
        if (values.prefix && key === undefined) throw usageError('config get --prefix needs a key prefix');
        const page = await api.config.list({
          key,
          keyPrefix: values.prefix,
          labels,
          match: hasLabels ? 'exact' : 'partial',
        });
        if (key !== undefined && page.data.length === 0)
          throw new CliFailure(
            `no config key ${key}${hasLabels ? ` with labels ${formatLabels(labels)}` : ''}`,
          );
        if (values.json) return printJson(page.data);
        process.stdout.write(table(['KEY', 'LABELS', 'VALUE', 'STATUS', 'REVISION'], rows(page.data)));
        return;
      }
      case 'delete': {
        const [key, extra] = positionals;
        if (key === undefined) throw usageError('config delete: <key> is required');
        if (extra !== undefined) throw usageError(`unexpected argument '${extra}'`);
        const kv = await api.config.findExact(key, labels);
        if (!kv) throw new CliFailure(`no config key ${key} with labels ${formatLabels(labels)}`);
        await api.config.delete(kv.id);
        if (values.json) return printJson({ deleted: kv });
        process.stdout.write(`${key} deleted (labels ${formatLabels(kv.labels)})\n`);
        return;
      }
      default:
        throw usageError(`unknown subcommand '${sub}': use set, get or delete`);
    }
  });
}

// === mesher sidecar-status ===

const STATUS_USAGE = `usage: mesher sidecar-status [--admin URL] [--json]

Show one sidecar's health, its effective governance keys (files < env < config center) and the
route rules in force, read from its admin API (default $MESHER_ADMIN or http://127.0.0.1:30102).`;

/** Governance namespaces, for display: keys the sidecar applies live. */
const GOVERNANCE =
  /^(servicecomb|cse)\.(routeRule|darklaunch|loadbalance|isolation|circuitBreaker|fallback|fallbackpolicy|flowcontrol|rateLimiting|match|governance|retry|timeout|outlierDetection)\.|^routeRule\./;

async function routeRules(admin: SidecarAdminClient, flat: Record<string, unknown>, tracked: string[]) {
  const services = new Set(tracked);
  for (const k of Object.keys(flat)) {
    const m = /^(?:servicecomb|cse)\.(?:routeRule|darklaunch\.policy)\.(.+)$|^routeRule\.(.+)$/.exec(k);
    if (m) services.add((m[1] ?? m[2]) as string);
  }
  const out: Record<string, unknown[]> = {};
  for (const s of [...services].sort()) {
    const rules = await admin.routeRule(s);
    if (rules !== undefined) out[s] = rules;
  }
  return out;
}

export async function runSidecarStatus(argv: string[]): Promise<number> {
  return runCommand('sidecar-status', async () => {
    const { values, positionals } = parseFlags(argv, { admin: { type: 'string' } });
    if (printedUsage(values.help, STATUS_USAGE)) return;
    if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'`);
    const api = clientFrom(values);
    const admin = api.sidecar(values.admin || process.env.MESHER_ADMIN || 'http://127.0.0.1:30102');
    const [health, config, tracked] = await Promise.all([admin.health(), admin.config(), admin.instances()]);
    const governance: Record<string, unknown> = {};
    for (const k of Object.keys(config.flat).sort()) if (GOVERNANCE.test(k)) governance[k] = config.flat[k];
    const routes = await routeRules(
      admin,
      config.flat,
      tracked.map((t) => t.serviceName),
    );
    const table_ = await admin.routes();
    if (values.json) {
      printJson({
        health,
        service: config.service,
        governance,
        routes,
        ...(table_ === undefined ? {} : { routeTable: table_ }),
      });
      return;
    }
    const svc = config.service ?? {};
    let out = `sidecar ${admin.url}: ${svc.name ?? health.serviceName} ${svc.version ?? health.version} (app ${svc.app ?? '-'}) health ${health.status}\n\n`;
    out += 'governance keys in force:\n';
    out +=
      Object.keys(governance).length === 0
        ? '  (none)\n'
        : table(
            ['KEY', 'VALUE'],
            Object.entries(governance).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
            80,
          )
            .split('\n')
            .map((l) => (l ? `  ${l}` : l))
            .join('\n');
    out += '\nroute rules in force:\n';
    const entries = Object.entries(routes);
    out +=
      entries.length === 0
        ? '  (none)\n'
        : `${entries.map(([s, rules]) => `  ${s}: ${JSON.stringify(rules)}`).join('\n')}\n`;
    out += '\ndiscovery:\n';
    out +=
      tracked.length === 0
        ? '  (no services tracked)\n'
        : tracked.map((t) => `  ${t.serviceName} (${t.app}): ${t.endpoints.length} endpoint(s)`).join('\n') +
          '\n';
    process.stdout.write(out);
  });
}
