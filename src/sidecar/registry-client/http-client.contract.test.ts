// The HTTP client against the real registry (in memory, ephemeral port) passes the RegistryApi contract.
import { startRegistry } from '../../registry/main.ts';
import { createRegistryClient } from './client.ts';
import { runRegistryApiContract } from './registry-api.contract.ts';

const silent = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  fatal() {},
  trace() {},
  child: () => silent,
} as never;

runRegistryApiContract('http+registry', async () => {
  const registry = await startRegistry({ port: 0, dataDir: null, logger: silent });
  const api = createRegistryClient({ addresses: [registry.url], project: 'default', domain: 'default' });
  return {
    api,
    close: async () => {
      await api.close();
      await registry.close();
    },
  };
});
