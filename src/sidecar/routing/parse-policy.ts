/**
 * @module sidecar/routing/parse-policy
 * Per-route policy (issue 5 item 2): `timeoutMs`, `retry: {attempts, perTryTimeoutMs, retryOn}`
 * and `rateLimit: {qps, burst}` on a route entry. They override the service's settings for calls
 * that take the route; the resilience steps read them from `RouteDecision.policy`.
 */
import type { RouteRateLimit, RouteRetry } from './types.ts';
import { isPlainObject, readInt, readPositive, unknownKeys } from './values.ts';

/** Limits: an hour for timeouts, ten attempts, a million requests per second. */
export const MAX_TIMEOUT_MS = 3_600_000;
export const MAX_ATTEMPTS = 10;
export const MAX_QPS = 1_000_000;

/** Conditions `retryOn` accepts besides status codes (`503`) and classes (`5xx`). */
export const RETRY_ON_NAMES = ['connect-failure', 'reset', 'timeout', 'gateway-error'] as const;

type Report = (at: string, message: string) => void;

export function parseTimeoutMs(v: unknown, at: string, report: Report): number | undefined {
  const r = readInt(v, 1, MAX_TIMEOUT_MS);
  if (!r.ok) report(at, r.message);
  return r.ok ? r.value : undefined;
}

function parseRetryOn(v: unknown, at: string, report: Report): string[] | undefined {
  const items = typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v;
  if (!Array.isArray(items) || items.length === 0) {
    report(
      at,
      'must be a non-empty list (status codes, 5xx, connect-failure, reset, timeout, gateway-error)',
    );
    return undefined;
  }
  const out: string[] = [];
  for (const item of items) {
    const s = String(item).trim().toLowerCase();
    const status = /^\d{3}$/.test(s) && Number(s) >= 100 && Number(s) <= 599;
    if (status || /^[1-5]xx$/.test(s) || (RETRY_ON_NAMES as readonly string[]).includes(s)) out.push(s);
    else report(at, `unknown retry condition ${JSON.stringify(item)}`);
  }
  return out.length === items.length ? out : undefined;
}

export function parseRetry(v: unknown, at: string, report: Report): RouteRetry | undefined {
  if (!isPlainObject(v)) {
    report(at, 'must be a map {attempts, perTryTimeoutMs, retryOn}');
    return undefined;
  }
  const extra = unknownKeys(v, ['attempts', 'perTryTimeoutMs', 'retryOn']);
  if (extra) report(at, extra);
  const attempts = readInt(v.attempts, 1, MAX_ATTEMPTS);
  if (!attempts.ok) report(`${at}.attempts`, attempts.message);
  const out: { attempts: number; perTryTimeoutMs?: number; retryOn?: string[] } = {
    attempts: attempts.ok ? attempts.value : 1,
  };
  if (v.perTryTimeoutMs !== undefined) {
    const t = parseTimeoutMs(v.perTryTimeoutMs, `${at}.perTryTimeoutMs`, report);
    if (t !== undefined) out.perTryTimeoutMs = t;
  }
  if (v.retryOn !== undefined) {
    const r = parseRetryOn(v.retryOn, `${at}.retryOn`, report);
    if (r !== undefined) out.retryOn = r;
  }
  return extra || !attempts.ok ? undefined : out;
}

export function parseRateLimit(v: unknown, at: string, report: Report): RouteRateLimit | undefined {
  if (!isPlainObject(v)) {
    report(at, 'must be a map {qps, burst}');
    return undefined;
  }
  const extra = unknownKeys(v, ['qps', 'burst']);
  if (extra) report(at, extra);
  const qps = readPositive(v.qps, MAX_QPS);
  if (!qps.ok) report(`${at}.qps`, qps.message);
  let burst = qps.ok ? Math.max(1, Math.ceil(qps.value)) : 1;
  if (v.burst !== undefined) {
    const b = readInt(v.burst, 1, MAX_QPS);
    if (!b.ok) report(`${at}.burst`, b.message);
    else burst = b.value;
  }
  return extra || !qps.ok ? undefined : { qps: qps.value, burst };
}
