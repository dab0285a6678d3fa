/**
 * @module registry/config-center
 * Public surface of the registry's config center (Kie-style KV API). The registry's main calls
 * `createConfigCenter({ store, clock })`, adds `.routes` to its Router and calls `.close()` before
 * closing the store.
 */
export { kieKeys } from './kv-repo.ts';
export {
  canonicalLabels,
  isKieError,
  KIE_ERRORS,
  KieError,
  type KvDoc,
  type KvFilter,
  type KvList,
  type Labels,
  labelsMatch,
  type MatchMode,
} from './model.ts';
export { type ConfigCenter, type ConfigCenterDeps, createConfigCenter, REVISION_HEADER } from './routes.ts';
export { type ConfigCenterServer, type ServeOptions, serveConfigCenter } from './serve.ts';
export { LIMITS } from './validate.ts';
