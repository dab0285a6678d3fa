/**
 * @module sidecar/config-center/source
 * The sidecar's config-center client: asks for the KVs that apply to this sidecar
 * (`label=app/service/version/environment&match=applicable&status=enabled`), resolves them into
 * flat governance overrides (./overrides.ts) and hands every *changed* result to `onChange`.
 *
 * - watch mode (refreshMode 0): a loop of long polls (`revision` + `wait`); the server answers as
 *   soon as a matching KV changes, so a change reaches `onChange` well within a second;
 * - pull mode (refreshMode 1): one conditional list (`revision`, 304 when unchanged) per interval;
 * - on failure: `onError`, keep the last overrides and ask the next configured address at once;
 *   when every address has failed in a row, retry with exponential backoff (1 s → 30 s on the
 *   injected Clock), still rotating.
 *
 * `onChange` is never called synchronously from `start()`; it runs on the loop, one call at a
 * time, in order. It must not throw (a throw is reported through `onError` and ignored).
 */
import type { Clock, TimerHandle } from '../../shared/clock.ts';
import type { SidecarConfig } from '../config/index.ts';
import { createKiePoller, type KiePoller } from './kie-poll.ts';
import { type Labels, ownLabels, resolveOverrides } from './overrides.ts';
import { type ConfigClientSettings, readConfigClientSettings } from './settings.ts';

export interface OverridesUpdate {
  /** Live governance keys from the config center (merge them with `mergeFlat`). */
  readonly overrides: Readonly<Record<string, unknown>>;
  /** Keys that apply here but need a restart; shown, never applied. */
  readonly ignored: readonly string[];
  /** X-Kie-Revision of the answer. */
  readonly revision: number;
}

export interface ConfigCenterSourceOptions {
  readonly config: Pick<SidecarConfig, 'flat' | 'registry' | 'service'>;
  readonly clock: Clock;
  readonly onChange: (update: OverridesUpdate) => void;
  readonly onError?: (err: unknown) => void;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface ConfigCenterSource {
  /** Resolved settings (null when `servicecomb.config.client.enabled` is false). */
  readonly settings: ConfigClientSettings | null;
  readonly labels: Labels;
  /**
   * Start the loop. Resolves after the first round: the initial overrides were delivered, or the
   * first attempt failed (reported through onError). Never rejects.
   */
  start(): Promise<void>;
  /** Stop: cancels the held poll and any backoff timer. Safe to call twice. */
  stop(): void;
  /** The last overrides delivered (empty before the first answer). */
  current(): Readonly<Record<string, unknown>>;
}

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30_000;

/** Throws an Error listing every settings problem. */
export function createConfigCenterSource(opts: ConfigCenterSourceOptions): ConfigCenterSource {
  const read = readConfigClientSettings(opts.config, opts.env);
  if (!read.ok) throw new Error(`config center client: ${read.issues.join('; ')}`);
  const settings = read.settings.enabled ? read.settings : null;
  const labels = ownLabels(opts.config.service);
  // Created on the first round: a disabled client builds nothing.
  let clients: KiePoller[] | undefined;
  const pollers = (cfg: ConfigClientSettings): KiePoller[] => {
    clients ??= cfg.serverUris.map((baseUrl) =>
      createKiePoller({ baseUrl, project: cfg.project, domain: cfg.domain, timeoutMs: 10_000 }),
    );
    return clients;
  };

  let stopped = false;
  let running = false;
  let abort: AbortController | undefined;
  let sleeper: { timer: TimerHandle; wake: () => void } | undefined;
  let revision: number | undefined;
  let fingerprint: string | undefined;
  let current: Readonly<Record<string, unknown>> = {};
  let failures = 0;
  let which = 0;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        sleeper = undefined;
        resolve();
      };
      sleeper = { timer: opts.clock.setTimeout(wake, ms), wake };
    });

  const report = (err: unknown) => {
    try {
      opts.onError?.(err);
    } catch {
      // an error reporter that throws must not stop the loop
    }
  };

  /** One request; true when it got an answer. */
  const round = async (cfg: ConfigClientSettings): Promise<boolean> => {
    const all = pollers(cfg);
    const client = all[which % all.length] as KiePoller;
    abort = new AbortController();
    try {
      const r = await client.poll({
        labels,
        status: 'enabled',
        revision,
        waitMs: cfg.refreshMode === 0 && revision !== undefined ? cfg.refreshIntervalMs : undefined,
        signal: abort.signal,
      });
      failures = 0;
      if (r.revision >= 0) revision = r.revision;
      if (r.changed) {
        const resolved = resolveOverrides(r.data, labels);
        const fp = JSON.stringify(resolved);
        if (fp !== fingerprint) {
          fingerprint = fp;
          current = resolved.overrides;
          try {
            opts.onChange({ overrides: resolved.overrides, ignored: resolved.ignored, revision: r.revision });
          } catch (err) {
            report(err);
          }
        }
      }
      return true;
    } catch (err) {
      if (stopped) return false;
      failures++;
      which++; // try the next address next time
      revision = undefined; // another server (or a restarted one) has other revisions
      report(err);
      return false;
    } finally {
      abort = undefined;
    }
  };

  const loop = async (cfg: ConfigClientSettings, first: () => void) => {
    let firstDone = false;
    while (!stopped) {
      const ok = await round(cfg);
      if (!firstDone) {
        firstDone = true;
        first();
      }
      if (stopped) break;
      if (!ok) {
        // An address not yet tried in this streak of failures is asked at once; the backoff
        // starts only when every address has failed (one dead server must not delay a live one).
        const n = pollers(cfg).length;
        if (failures % n !== 0) continue;
        const cycles = failures / n;
        await sleep(Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(cycles - 1, 10)));
      } else if (cfg.refreshMode === 1) await sleep(cfg.refreshIntervalMs);
    }
  };

  return {
    settings,
    labels,
    current: () => current,
    start() {
      if (!settings || running || stopped) return Promise.resolve();
      running = true;
      return new Promise<void>((resolve) => {
        // Deferred so onChange never runs inside start().
        queueMicrotask(() => {
          loop(settings, resolve).catch(report);
        });
      });
    },
    stop() {
      stopped = true;
      abort?.abort();
      for (const c of clients ?? []) void c.close();
      if (sleeper) {
        sleeper.timer.cancel();
        sleeper.wake();
      }
    },
  };
}
