// The in-memory fake used by the discovery and registration unit tests passes the same
// RegistryApi contract as the HTTP client against the real registry.
import { FakeRegistryApi } from '../../../test/support/fake-registry-api.ts';
import { runRegistryApiContract } from './registry-api.contract.ts';

runRegistryApiContract('fake', async () => {
  const api = new FakeRegistryApi();
  return { api, close: () => api.close() };
});
