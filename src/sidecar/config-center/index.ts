/**
 * @module sidecar/config-center
 * Public surface of the sidecar's config-center client. Wiring (src/sidecar/main.ts):
 *
 *   const source = createConfigCenterSource({ config, clock, onChange: ({ overrides }) => {
 *     // config center > env > files: rebuild from the file+env flat, re-validate, keep last good
 *     apply(mergeFlat(baseConfig.flat, overrides));
 *   }, onError: (err) => log.warn({ err }, 'config center') });
 *   await source.start();   // ... source.stop() on shutdown
 */
export {
  applies,
  isLiveKey,
  type KvLike,
  LIVE_PREFIXES,
  mergeFlat,
  ownLabels,
  type Resolved,
  resolveOverrides,
  specificity,
} from './overrides.ts';
export { type ConfigClientSettings, readConfigClientSettings, type SettingsResult } from './settings.ts';
export {
  type ConfigCenterSource,
  type ConfigCenterSourceOptions,
  createConfigCenterSource,
  type OverridesUpdate,
} from './source.ts';
