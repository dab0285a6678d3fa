/**
 * @module cli/commands/route
 * `mesher route set|get|delete|list`: route rules kept in the config center under
 * `servicecomb.routeRule.<service>`, which sidecars apply live (issue 5 items 1, 4, 5).
 * `set` checks the YAML's shape first (api-client's `checkRouteRuleYaml`) so a typo fails here,
 * with its path, instead of in every sidecar. Labels (`--app`, `--service`, `--label k=v`) choose
 * which sidecars (callers) the rule applies to; none means every sidecar of the project.
 */
import { readFileSync, statSync } from 'node:fs';
import { checkRouteRuleYaml, type Kv, RULE_LIMITS, routeRuleKey } from '../../api-client/index.ts';
import { COMMON_USAGE, clientFrom, LABEL_OPTIONS, labelsFrom, parseFlags } from '../flags.ts';
import {
  CliFailure,
  formatLabels,
  printedSubcommandUsage,
  printJson,
  runCommand,
  table,
  usageError,
} from '../output.ts';

const USAGE = `usage:
  mesher route set <service> -f rule.yaml [labels] [flags]   store (create or replace) the rules for calls to <service>
  mesher route get <service> [labels] [flags]                show the stored rules (every label set unless labels given)
  mesher route delete <service> [labels] [flags]             delete the rules stored with exactly these labels
  mesher route list [flags]                                  every stored route rule

labels (which callers the rule applies to; none = every sidecar):
  --app A  --service S  --version V  --environment E  --label k=v (repeatable)

${COMMON_USAGE}`;

const OPTIONS = { file: { type: 'string', short: 'f' }, ...LABEL_OPTIONS } as const;

function readRuleFile(path: string): string {
  try {
    const size = statSync(path).size;
    if (size > RULE_LIMITS.yamlChars)
      throw new CliFailure(`${path} is ${size} bytes; at most ${RULE_LIMITS.yamlChars}`);
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof CliFailure) throw err;
    throw new CliFailure(
      `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

function describeKv(kv: Kv): string {
  return `# ${kv.key}  labels: ${formatLabels(kv.labels)}  status: ${kv.status}  revision: ${kv.updateRevision}\n${kv.value.trimEnd()}\n`;
}

export async function run(argv: string[]): Promise<number> {
  return runCommand('route', async () => {
    const [sub, ...rest] = argv;
    const { values, positionals } = parseFlags(rest, OPTIONS);
    if (printedSubcommandUsage(sub, values.help, USAGE, 'set, get, delete or list')) return;
    const api = clientFrom(values);
    const labels = labelsFrom(values);
    if (sub === 'list') {
      const page = await api.config.list({ key: 'servicecomb.routeRule.', keyPrefix: true });
      if (values.json) return printJson(page.data);
      process.stdout.write(
        table(
          ['SERVICE', 'LABELS', 'STATUS', 'REVISION', 'ID'],
          page.data.map((kv) => [
            kv.key.slice('servicecomb.routeRule.'.length),
            formatLabels(kv.labels),
            kv.status,
            String(kv.updateRevision),
            kv.id,
          ]),
        ),
      );
      return;
    }
    const [service, extra] = positionals;
    if (!service) throw usageError(`route ${sub}: a service name is required`);
    if (extra !== undefined) throw usageError(`unexpected argument '${extra}'`);
    const key = routeRuleKey(service);
    switch (sub) {
      case 'set': {
        if (!values.file) throw usageError('route set: -f rule.yaml is required');
        const text = readRuleFile(values.file);
        const issues = checkRouteRuleYaml(text);
        if (issues.length > 0) {
          const first = issues[0] as { at: string; message: string };
          const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
          throw new CliFailure(
            `invalid route rule in ${values.file}: ${first.at ? `${first.at}: ` : ''}${first.message}${more}`,
          );
        }
        const { kv, created } = await api.config.put({ key, value: text, valueType: 'yaml', labels });
        if (values.json) return printJson({ created, kv });
        process.stdout.write(
          `route rule for ${service} ${created ? 'created' : 'updated'} (labels ${formatLabels(kv.labels)}, revision ${kv.updateRevision}, id ${kv.id})\n`,
        );
        return;
      }
      case 'get': {
        const exact = Object.keys(labels).length > 0;
        const page = await api.config.list({ key, labels, match: exact ? 'exact' : 'partial' });
        if (page.data.length === 0)
          throw new CliFailure(
            `no route rule for ${service}${exact ? ` with labels ${formatLabels(labels)}` : ''}`,
          );
        if (values.json) return printJson(page.data);
        process.stdout.write(page.data.map(describeKv).join('\n'));
        return;
      }
      case 'delete': {
        const kv = await api.config.findExact(key, labels);
        if (!kv) throw new CliFailure(`no route rule for ${service} with labels ${formatLabels(labels)}`);
        await api.config.delete(kv.id);
        if (values.json) return printJson({ deleted: kv });
        process.stdout.write(`route rule for ${service} deleted (labels ${formatLabels(kv.labels)})\n`);
        return;
      }
      default:
        throw usageError(`unknown subcommand '${sub}': use set, get, delete or list`);
    }
  });
}
