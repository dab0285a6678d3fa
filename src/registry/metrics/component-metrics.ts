/**
 * @module registry/metrics/component-metrics
 * Gauges and counters of the registry's push and pull channels, read when scraped from the state
 * each component already keeps (they are handed in as small read-only views, so this module
 * imports none of them):
 *
 *   <p>watch_subscribers                    WebSocket instance watchers connected
 *   <p>watch_events_sent_total              events written to watchers (when the watcher counts them)
 *   <p>watch_events_dropped_total           events dropped for a slow watcher (send buffer full)
 *   <p>websocket_connections                upgraded sockets open (watchers + WebSocket heartbeats)
 *   <p>websocket_upgrades_total             upgrade requests received
 *   <p>config_long_polls_waiting            config-center list requests held (`wait=`)
 *   <p>topology_reporters                   sidecars whose topology reports are kept
 *   <p>topology_stored_edges                edge entries kept across the reporters' snapshots
 */
import type { Duplex } from 'node:stream';
import { callbackMetric, type PromMetric } from './cells.ts';

/** What the WebSocket watcher exposes (../watch/watcher.ts). */
export interface WatchStats {
  readonly subscriberCount: number;
  readonly dropped: number;
  /** Events written to subscribers, if the watcher counts them. */
  readonly sent?: number;
}

export interface LongPollStats {
  readonly pendingWaiters: number;
}

export interface TopologyStats {
  readonly size: number;
  readonly storedEdges: number;
}

/** Counts upgrade requests and the upgraded sockets still open. */
export class UpgradeTracker {
  upgrades = 0;
  open = 0;

  /** Call from the server's `upgrade` event, before handing the socket on. */
  track(socket: Duplex): void {
    this.upgrades++;
    this.open++;
    socket.once('close', () => {
      this.open--;
    });
  }
}

export interface ComponentSources {
  watcher?: WatchStats;
  upgrades?: UpgradeTracker;
  longPolls?: LongPollStats | null;
  topology?: TopologyStats | null;
}

export function componentMetrics(src: ComponentSources, prefix: string): PromMetric[] {
  const out: PromMetric[] = [];
  const w = src.watcher;
  if (w) {
    out.push(
      callbackMetric(
        `${prefix}watch_subscribers`,
        'WebSocket instance watchers connected',
        'gauge',
        () => w.subscriberCount,
      ),
      callbackMetric(
        `${prefix}watch_events_dropped_total`,
        'Instance events dropped for a watcher whose socket had too much unsent data (slow consumer)',
        'counter',
        () => w.dropped,
      ),
    );
    if (typeof w.sent === 'number')
      out.push(
        callbackMetric(
          `${prefix}watch_events_sent_total`,
          'Instance events written to WebSocket watchers',
          'counter',
          () => w.sent ?? 0,
        ),
      );
  }
  const u = src.upgrades;
  if (u)
    out.push(
      callbackMetric(
        `${prefix}websocket_connections`,
        'Upgraded (WebSocket) connections open: watchers and WebSocket heartbeats',
        'gauge',
        () => u.open,
      ),
      callbackMetric(
        `${prefix}websocket_upgrades_total`,
        'WebSocket upgrade requests',
        'counter',
        () => u.upgrades,
      ),
    );
  const lp = src.longPolls;
  if (lp)
    out.push(
      callbackMetric(
        `${prefix}config_long_polls_waiting`,
        'Config-center list requests held until a change or their wait ends',
        'gauge',
        () => lp.pendingWaiters,
      ),
    );
  const t = src.topology;
  if (t)
    out.push(
      callbackMetric(
        `${prefix}topology_reporters`,
        'Sidecars whose topology reports are kept',
        'gauge',
        () => t.size,
      ),
      callbackMetric(
        `${prefix}topology_stored_edges`,
        "Caller→callee edge entries kept across the reporters' snapshots",
        'gauge',
        () => t.storedEdges,
      ),
    );
  return out;
}
