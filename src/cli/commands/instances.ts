/**
 * @module cli/commands/instances
 * `mesher instances <service> [--app A] [--env E]`: a service's instances as a consumer discovers
 * them (every version), as a table or JSON. An unknown service exits 1 naming it.
 */
import { isApiError } from '../../api-client/index.ts';
import { COMMON_USAGE, clientFrom, parseFlags } from '../flags.ts';
import { CliFailure, printedUsage, printJson, runCommand, table, usageError } from '../output.ts';

const USAGE = `usage: mesher instances <service> [--app A] [--env E] [flags]

List the instances of one service (all versions) as the registry answers discovery.

${COMMON_USAGE}`;

export async function run(argv: string[]): Promise<number> {
  return runCommand('instances', async () => {
    const { values, positionals } = parseFlags(argv, { app: { type: 'string' }, env: { type: 'string' } });
    if (printedUsage(values.help, USAGE)) return;
    const [service, extra] = positionals;
    if (!service) throw usageError(`a service name is required\n${USAGE}`);
    if (extra !== undefined) throw usageError(`unexpected argument '${extra}'`);
    const api = clientFrom(values);
    const app = values.app ?? 'default';
    let instances: Awaited<ReturnType<typeof api.registry.findInstances>>;
    try {
      instances = await api.registry.findInstances({ appId: app, serviceName: service, env: values.env });
    } catch (err) {
      // ServiceComb answers an unknown service with 400012.
      if (isApiError(err) && err.code === '400012')
        throw new CliFailure(`service '${service}' not found in app '${app}' (registry ${api.registry.url})`);
      throw err;
    }
    if (values.json) {
      printJson(instances);
      return;
    }
    if (instances.length === 0) {
      process.stdout.write(`service '${service}' has no instances\n`);
      return;
    }
    process.stdout.write(
      table(
        ['INSTANCE ID', 'VERSION', 'STATUS', 'HOST', 'ENDPOINTS'],
        instances.map((i) => [i.instanceId, i.version || '-', i.status, i.hostName, i.endpoints.join(',')]),
        80,
      ),
    );
  });
}
