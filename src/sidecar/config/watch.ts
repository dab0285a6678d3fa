/**
 * @module sidecar/config/watch
 * Hot reload: watch the config directory, wait for edits to settle (debounced on the injected
 * Clock), re-run the loader and report the result. On a bad edit the caller gets the ConfigError
 * and keeps its last good config; identical reloads (an editor touching a file) are not reported.
 */
import { type FSWatcher, watch } from 'node:fs';
import { type Clock, systemClock, type TimerHandle } from '../../shared/clock.ts';
import { ConfigError, isConfigError } from './config-error.ts';
import type { SidecarFlags } from './flags.ts';
import { type LoadResult, loadSidecarConfig } from './load.ts';

export type ReloadEvent =
  | { readonly ok: true; readonly config: LoadResult['config']; readonly warnings: LoadResult['warnings'] }
  | { readonly ok: false; readonly error: ConfigError };

export interface WatchOptions {
  readonly clock?: Clock;
  /** Quiet time after the last file event before reloading (default 250 ms). */
  readonly debounceMs?: number;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly flags?: SidecarFlags;
  /** The config currently in use, so an unchanged reload is not reported. */
  readonly current?: LoadResult['config'];
}

export interface ConfigWatcher {
  /** Stop watching; pending reloads are dropped. Safe to call twice. */
  close(): void;
}

const RELEVANT = /\.ya?ml$/;

/**
 * Watch `confDir`. `onChange` is never called synchronously from this function; it runs on the
 * clock's timer after the debounce, once per settled burst of edits whose result differs from
 * the last one reported (or from `opts.current`).
 */
export function watchSidecarConfig(
  confDir: string,
  onChange: (event: ReloadEvent) => void,
  opts: WatchOptions = {},
): ConfigWatcher {
  const clock = opts.clock ?? systemClock;
  const debounceMs = opts.debounceMs ?? 250;
  let last = opts.current ? JSON.stringify(opts.current) : undefined;
  let timer: TimerHandle | undefined;
  let closed = false;

  const reload = () => {
    timer = undefined;
    if (closed) return;
    let event: ReloadEvent;
    let fingerprint: string;
    try {
      const r = loadSidecarConfig({ confDir, env: opts.env, flags: opts.flags });
      event = { ok: true, config: r.config, warnings: r.warnings };
      fingerprint = JSON.stringify(r.config);
    } catch (err) {
      const error = isConfigError(err)
        ? err
        : new ConfigError([{ file: confDir, key: '', message: `reload failed: ${(err as Error).message}` }]);
      event = { ok: false, error };
      fingerprint = `error:${error.message}`;
    }
    if (fingerprint === last) return;
    last = fingerprint;
    onChange(event);
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(confDir, { persistent: false }, (_type, name) => {
      if (closed || (name !== null && !RELEVANT.test(String(name)))) return;
      timer?.cancel();
      timer = clock.setTimeout(reload, debounceMs);
    });
    watcher.on('error', (err) => {
      if (closed) return;
      onChange({
        ok: false,
        error: new ConfigError([{ file: confDir, key: '', message: `watch failed: ${err.message}` }]),
      });
    });
  } catch (err) {
    const error = new ConfigError([
      { file: confDir, key: '', message: `cannot watch: ${(err as Error).message}` },
    ]);
    clock.setTimeout(() => {
      if (!closed) onChange({ ok: false, error });
    }, 0);
  }

  return {
    close() {
      closed = true;
      timer?.cancel();
      timer = undefined;
      watcher?.close();
    },
  };
}
