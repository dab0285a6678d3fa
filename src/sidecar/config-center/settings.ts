/**
 * @module sidecar/config-center/settings
 * `servicecomb.config.client.*` read from the sidecar's flat config, validated in one pass:
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `serverUri` | `$PAAS_CSE_CC_ENDPOINT`, else the registry address(es) | comma-separated config center URLs, tried in order |
 * | `enabled` | true | false turns the client off |
 * | `type` | kie | only kie is supported |
 * | `refreshMode` | 0 | 0 = long-poll watch (changes apply within a second), 1 = periodic pull |
 * | `refreshInterval` | 30 | seconds: the pull period (mode 1) and the long-poll wait (mode 0) |
 * | `project` | the registry project (`CSE_PROJECT_ID`) | Kie project |
 *
 * The registry process serves the config center, so without `serverUri` the sidecar asks the
 * registry (the original looked up a `CseConfigCenter` service instead). The original's default
 * mode was pull every 30 s; mesher defaults to watch because issue 5 asks for changes within 1 s.
 */
import { getFlat, parseDurationMs, type SidecarConfig } from '../config/index.ts';

export interface ConfigClientSettings {
  readonly enabled: boolean;
  readonly serverUris: readonly string[];
  readonly refreshMode: 0 | 1;
  /** Pull period (mode 1) and long-poll wait (mode 0), ms. */
  readonly refreshIntervalMs: number;
  readonly project: string;
  readonly domain: string;
}

export type SettingsResult =
  | { readonly ok: true; readonly settings: ConfigClientSettings }
  | { readonly ok: false; readonly issues: readonly string[] };

const P = 'servicecomb.config.client';

export function readConfigClientSettings(
  config: Pick<SidecarConfig, 'flat' | 'registry'>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): SettingsResult {
  const issues: string[] = [];
  const get = (k: string) => getFlat(config.flat, `${P}.${k}`);

  const enabledRaw = get('enabled');
  let enabled = true;
  if (enabledRaw !== undefined) {
    if (enabledRaw === true || enabledRaw === 'true') enabled = true;
    else if (enabledRaw === false || enabledRaw === 'false') enabled = false;
    else issues.push(`${P}.enabled: must be true or false, got ${JSON.stringify(enabledRaw)}`);
  }
  const type = get('type');
  if (type !== undefined && type !== 'kie' && type !== 'servicecomb-kie')
    issues.push(`${P}.type: only 'kie' is supported, got ${JSON.stringify(type)}`);

  const uriRaw = get('serverUri') ?? env.PAAS_CSE_CC_ENDPOINT;
  let serverUris: string[] = [...config.registry.addresses];
  if (uriRaw !== undefined && uriRaw !== '') {
    const list = Array.isArray(uriRaw) ? uriRaw.map(String) : String(uriRaw).split(',');
    serverUris = list.map((s) => s.trim()).filter((s) => s !== '');
  }
  for (const u of serverUris) {
    try {
      const url = new URL(u);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    } catch {
      issues.push(`${P}.serverUri: '${u}' is not an http(s) URL`);
    }
  }
  if (enabled && serverUris.length === 0) issues.push(`${P}.serverUri: no config center address`);

  const modeRaw = get('refreshMode');
  let refreshMode: 0 | 1 = 0;
  if (modeRaw !== undefined) {
    if (String(modeRaw) === '0') refreshMode = 0;
    else if (String(modeRaw) === '1') refreshMode = 1;
    else issues.push(`${P}.refreshMode: must be 0 (watch) or 1 (pull), got ${JSON.stringify(modeRaw)}`);
  }
  let refreshIntervalMs = 30_000;
  const intervalRaw = get('refreshInterval');
  if (intervalRaw !== undefined) {
    const ms = parseDurationMs(intervalRaw as string | number);
    if (ms === undefined || ms < 1000 || ms > 3_600_000)
      issues.push(
        `${P}.refreshInterval: must be a duration from 1s to 1h (a plain number is seconds), got ${JSON.stringify(intervalRaw)}`,
      );
    else refreshIntervalMs = ms;
  }
  const project = String(get('project') ?? config.registry.project);
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    settings: {
      enabled,
      serverUris,
      refreshMode,
      refreshIntervalMs,
      project,
      domain: config.registry.domain,
    },
  };
}
