/**
 * @module sidecar/config
 * Public surface of the sidecar's configuration. Everything else in the sidecar imports from here.
 */
export { ConfigError, formatIssue, isConfigError } from './config-error.ts';
export { dumpSidecarConfig } from './dump.ts';
export { formatDurationMs, parseDurationMs } from './duration.ts';
export { parseSidecarFlags, SIDECAR_USAGE, type SidecarFlags } from './flags.ts';
export { flatUnder, getFlat } from './flat-read.ts';
export { type LoadOptions, type LoadResult, loadSidecarConfig, resolveConfDir } from './load.ts';
export { isSecretKey, MASK, maskSecrets } from './mask.ts';
export { canonicalKey, DEFAULTS, STRATEGY_NAMES, type StrategyName } from './schema.ts';
export type * from './types.ts';
export { DEFAULT_PROXY_ENGINE } from './types.ts';
export { type ConfigWatcher, type ReloadEvent, type WatchOptions, watchSidecarConfig } from './watch.ts';
