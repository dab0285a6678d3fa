/**
 * @module cli/commands/services
 * `mesher services`: every service in the registry with its instance count, as a table or JSON.
 */
import { COMMON_USAGE, clientFrom, parseFlags } from '../flags.ts';
import { printedUsage, printJson, runCommand, table, usageError } from '../output.ts';

const USAGE = `usage: mesher services [--app A] [flags]

List the services in the registry with their instance counts.

${COMMON_USAGE}`;

export async function run(argv: string[]): Promise<number> {
  return runCommand('services', async () => {
    const { values, positionals } = parseFlags(argv, { app: { type: 'string' } });
    if (printedUsage(values.help, USAGE)) return;
    if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'\n${USAGE}`);
    const api = clientFrom(values);
    const services = (await api.registry.listServices()).filter((s) => !values.app || s.appId === values.app);
    // Instance counts: a few requests at a time, so a big registry is not hit all at once.
    const counts: number[] = [];
    for (let i = 0; i < services.length; i += 8) {
      const chunk = services.slice(i, i + 8);
      counts.push(
        ...(await Promise.all(
          chunk.map(async (s) => (await api.registry.listInstances(s.serviceId)).length),
        )),
      );
    }
    const rows = services.map((s, i) => ({ ...s, instances: counts[i] ?? 0 }));
    if (values.json) {
      printJson(rows);
      return;
    }
    process.stdout.write(
      table(
        ['APP', 'SERVICE', 'VERSION', 'ENV', 'INSTANCES', 'SERVICE ID'],
        rows.map((s) => [
          s.appId,
          s.serviceName,
          s.version,
          s.environment || '-',
          String(s.instances),
          s.serviceId,
        ]),
      ),
    );
  });
}
