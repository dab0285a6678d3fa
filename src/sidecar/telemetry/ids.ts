/**
 * @module sidecar/telemetry/ids
 * Trace and span ids as lowercase hex. Random bytes come from a pooled buffer refilled by
 * `crypto.randomFillSync` 4 KiB at a time, so an id costs one `toString('hex')` and no syscall.
 * Tests inject a deterministic `IdSource`.
 */
import { randomFillSync } from 'node:crypto';

export interface IdSource {
  /** 32 hex digits, never all zeros. */
  traceId(): string;
  /** 16 hex digits, never all zeros. */
  spanId(): string;
}

const POOL_BYTES = 4096;

export function createRandomIds(): IdSource {
  const pool = Buffer.allocUnsafe(POOL_BYTES);
  let offset = POOL_BYTES;
  const take = (n: number): string => {
    if (offset + n > POOL_BYTES) {
      randomFillSync(pool);
      offset = 0;
    }
    const s = pool.toString('hex', offset, offset + n);
    offset += n;
    return s;
  };
  const nonZero = (n: number): string => {
    for (;;) {
      const s = take(n);
      // All-zero ids are invalid in both W3C and B3; the chance is 2^-64 but the check is free.
      if (s.charCodeAt(0) !== 48 || /[^0]/.test(s)) return s;
    }
  };
  return { traceId: () => nonZero(16), spanId: () => nonZero(8) };
}

/** Sequential ids for tests: trace `000…0001`, span `000…0001`, … */
export function createSequentialIds(): IdSource {
  let t = 0;
  let s = 0;
  return {
    traceId: () => (++t).toString(16).padStart(32, '0'),
    spanId: () => (++s).toString(16).padStart(16, '0'),
  };
}
