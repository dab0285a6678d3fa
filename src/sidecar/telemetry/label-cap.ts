/**
 * @module sidecar/telemetry/label-cap
 * Bounded label values. A `LabelCap` passes the first `max` distinct values through and folds every
 * later one, and any value over 128 characters, into `other` (counted, so an operator sees the cap was hit). Metrics label services,
 * versions and error codes through one of these, so no caller can grow the series count without bound.
 */

export const OTHER = 'other';

/** Longer label values are folded too: inbound caller names come from request headers. */
export const MAX_LABEL_LENGTH = 128;

export class LabelCap {
  readonly #seen = new Set<string>();
  readonly #max: number;
  /** Values folded into `other` so far. */
  overflowed = 0;

  constructor(max: number) {
    this.#max = max;
  }

  /** `value` itself if it is known or there is room, else `other`. */
  apply(value: string): string {
    if (this.#seen.has(value)) return value;
    if (this.#seen.size >= this.#max || value.length > MAX_LABEL_LENGTH) {
      this.overflowed++;
      return OTHER;
    }
    this.#seen.add(value);
    return value;
  }

  get size(): number {
    return this.#seen.size;
  }
}

const STATUS_CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** 200 → `2xx`; 0 (no response) or anything out of range → `0xx`. No string building. */
export function statusClass(status: number): string {
  const c = (status / 100) | 0;
  return c >= 1 && c <= 5 ? STATUS_CLASSES[c]! : STATUS_CLASSES[0];
}
