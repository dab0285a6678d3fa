/**
 * @module sidecar/retry/backoff
 * The wait before retry number n (1 = the first retry), computed from the injected Random:
 *
 * - exponential: d = min(maxMs, minMs × 2^(n-1)), then jitter: 'full' → uniform [0, d],
 *   'equal' → d/2 + uniform [0, d/2], 'none' → d. (The original used ×1.5 with ±50%, which could
 *   exceed maxMs; here the cap always holds.)
 * - constant: minMs every time (capped by maxMs).
 * - zero: no wait.
 *
 * O(1), no allocation. Delays are whole milliseconds.
 */
import type { Random } from '../../shared/clock.ts';
import type { BackoffConfig } from './types.ts';

export interface Backoff {
  delayMs(retry: number): number;
}

export function validateBackoffConfig(c: BackoffConfig): void {
  if (!(Number.isInteger(c.minMs) && c.minMs >= 0))
    throw new RangeError(`backoff minMs must be an integer >= 0`);
  if (!(Number.isInteger(c.maxMs) && c.maxMs >= 0))
    throw new RangeError(`backoff maxMs must be an integer >= 0`);
  if (c.kind !== 'zero' && c.maxMs < c.minMs) throw new RangeError('backoff maxMs must be >= minMs');
}

export function createBackoff(config: BackoffConfig, deps: { readonly random: Random }): Backoff {
  validateBackoffConfig(config);
  const { minMs, maxMs } = config;
  const random = deps.random;
  switch (config.kind) {
    case 'zero':
      return { delayMs: () => 0 };
    case 'constant': {
      const d = Math.min(minMs, maxMs);
      return { delayMs: () => d };
    }
    case 'exponential': {
      const jitter = config.jitter;
      return {
        delayMs(retry: number): number {
          // 2^(n-1) overflows to Infinity for huge n; min() still caps it.
          const n = Math.max(retry, 1);
          const d = Math.min(maxMs, minMs * 2 ** (n - 1));
          if (jitter === 'none') return Math.round(d);
          if (jitter === 'equal') return Math.round(d / 2 + (random() * d) / 2);
          return Math.round(random() * d);
        },
      };
    }
  }
}
