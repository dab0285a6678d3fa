/**
 * @module sidecar/lifecycle/health-check-config
 * Validates mesher.yaml's `localHealthCheck` list (it reaches `config.flat` unvalidated) into frozen
 * `HealthCheckSpec`s. Every problem is reported in one pass as a ConfigIssue naming the key
 * (`localHealthCheck[1].uri`), so start-up fails loudly and a hot reload keeps the last good list.
 *
 * ```yaml
 * localHealthCheck:
 *   - port: "8080"          # required, 1-65535; the check targets 127.0.0.1:<port>
 *     protocol: rest        # rest = HTTP GET; "" / omitted / tcp = TCP connect
 *     uri: /health          # rest only, must start with "/" (default "/")
 *     interval: 30s         # duration, default 30s
 *     timeout: 5s           # duration, default min(10s, interval)
 *     failureThreshold: 1   # consecutive failures before a passing check turns failing
 *     successThreshold: 1   # consecutive successes before a failing check turns passing
 *     headers: { Authorization: "Bearer x" }   # rest only
 *     match: { status: "200,204" | "2xx", body: "^ok" }   # rest only
 * ```
 */
import { ConfigError } from '../config/config-error.ts';
import { parseDurationMs } from '../config/duration.ts';
import type { ConfigIssue } from '../config/types.ts';

export interface StatusMatcher {
  /** The `match.status` text as written (for reports). */
  readonly text: string;
  test(status: number): boolean;
}

export interface HealthCheckSpec {
  /** `localHealthCheck[i]`: the key prefix used in reports. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly protocol: 'rest' | 'tcp';
  /** Request path of a rest check ("/" by default). */
  readonly uri: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly failureThreshold: number;
  readonly successThreshold: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Statuses that pass; without `match.status`, 2xx only (the original accepted anything). */
  readonly status: StatusMatcher;
  /** A regex the body must match (first `MAX_BODY_BYTES` bytes), if configured. */
  readonly body?: RegExp;
}

/** Defaults, in one place. */
export const HEALTH_CHECK_DEFAULTS = Object.freeze({
  /** The original's default interval. */
  intervalMs: 30_000,
  /** The original's fixed TCP timeout; never longer than the interval. */
  timeoutMs: 10_000,
  /** One failure turns a check failing, as the original did; raise it to ride out blips. */
  failureThreshold: 1,
  successThreshold: 1,
});

/** Largest `localHealthCheck` list accepted (every check is a timer and a socket per interval). */
export const MAX_CHECKS = 16;
/** Only this much of a response body is read for `match.body`. */
export const MAX_BODY_BYTES = 64 * 1024;

const KNOWN_KEYS = new Set([
  'port',
  'protocol',
  'uri',
  'interval',
  'timeout',
  'failureThreshold',
  'successThreshold',
  'headers',
  'match',
]);
const MATCH_KEYS = new Set(['status', 'body']);
const FILE = 'mesher.yaml';

const TWO_XX: StatusMatcher = Object.freeze({ text: '2xx', test: (s: number) => s >= 200 && s < 300 });

/** `"200"`, `"200,204"`, `"2xx"`, `"2xx,301"` → matcher; undefined when malformed. */
export function parseStatusMatch(value: unknown): StatusMatcher | undefined {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || text.trim() === '') return undefined;
  const exact = new Set<number>();
  const classes = new Set<number>();
  for (const raw of text.split(',')) {
    const part = raw.trim().toLowerCase();
    if (/^[1-5]xx$/.test(part)) classes.add(Number(part[0]));
    else if (/^[1-5]\d\d$/.test(part)) exact.add(Number(part));
    else return undefined;
  }
  return Object.freeze({
    text,
    test: (s: number) => exact.has(s) || classes.has(Math.floor(s / 100)),
  });
}

function parsePort(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

function parseCount(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 100 ? n : undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function parseOne(raw: unknown, i: number, issues: ConfigIssue[]): HealthCheckSpec | undefined {
  const name = `localHealthCheck[${i}]`;
  const bad = (key: string, message: string) =>
    issues.push({ file: FILE, key: key ? `${name}.${key}` : name, message });
  if (!isRecord(raw)) {
    bad('', 'must be a map with at least a port');
    return undefined;
  }
  const before = issues.length;
  for (const k of Object.keys(raw))
    if (!KNOWN_KEYS.has(k)) bad(k, `unknown key (known: ${[...KNOWN_KEYS].join(', ')})`);

  const port = parsePort(raw.port);
  if (raw.port === undefined) bad('port', 'is required');
  else if (port === undefined) bad('port', `must be a port number 1-65535, not ${JSON.stringify(raw.port)}`);

  const p = raw.protocol ?? '';
  const protocol = p === 'rest' ? 'rest' : p === '' || p === 'tcp' ? 'tcp' : undefined;
  if (protocol === undefined)
    bad('protocol', `must be rest (HTTP GET) or empty/tcp (TCP connect), not ${JSON.stringify(p)}`);

  const uri = raw.uri ?? '/';
  if (typeof uri !== 'string' || !uri.startsWith('/'))
    bad('uri', `must start with "/", not ${JSON.stringify(uri)}`);
  else if (!/^[\x21-\x7e]+$/.test(uri)) bad('uri', 'must not contain spaces or control characters');

  const intervalMs =
    raw.interval === undefined ? HEALTH_CHECK_DEFAULTS.intervalMs : parseDurationMs(raw.interval);
  if (intervalMs === undefined || intervalMs < 100)
    bad('interval', `must be a duration of at least 100ms (e.g. 30s), not ${JSON.stringify(raw.interval)}`);
  const timeoutMs =
    raw.timeout === undefined
      ? Math.min(HEALTH_CHECK_DEFAULTS.timeoutMs, intervalMs ?? HEALTH_CHECK_DEFAULTS.timeoutMs)
      : parseDurationMs(raw.timeout);
  if (timeoutMs === undefined || timeoutMs < 1)
    bad('timeout', `must be a positive duration (e.g. 2s), not ${JSON.stringify(raw.timeout)}`);

  const thresholds: Record<'failureThreshold' | 'successThreshold', number> = { ...HEALTH_CHECK_DEFAULTS };
  for (const key of ['failureThreshold', 'successThreshold'] as const) {
    if (raw[key] === undefined) continue;
    const n = parseCount(raw[key]);
    if (n === undefined) bad(key, `must be a whole number 1-100, not ${JSON.stringify(raw[key])}`);
    else thresholds[key] = n;
  }

  const headers: Record<string, string> = {};
  if (raw.headers !== undefined) {
    if (!isRecord(raw.headers)) bad('headers', 'must be a map of header name to value');
    else
      for (const [h, v] of Object.entries(raw.headers)) {
        if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h)) bad(`headers.${h}`, 'is not a valid header name');
        else if (typeof v !== 'string' && typeof v !== 'number') bad(`headers.${h}`, 'must be a string');
        else if (/[\r\n\0]/.test(String(v))) bad(`headers.${h}`, 'must not contain line breaks');
        else headers[h] = String(v);
      }
  }

  let status = TWO_XX;
  let body: RegExp | undefined;
  if (raw.match !== undefined) {
    if (!isRecord(raw.match)) bad('match', 'must be a map with status and/or body');
    else {
      for (const k of Object.keys(raw.match))
        if (!MATCH_KEYS.has(k)) bad(`match.${k}`, 'unknown key (known: status, body)');
      if (raw.match.status !== undefined) {
        const m = parseStatusMatch(raw.match.status);
        if (m === undefined)
          bad(
            'match.status',
            `must be codes and classes like "200", "200,204" or "2xx", not ${JSON.stringify(raw.match.status)}`,
          );
        else status = m;
      }
      if (raw.match.body !== undefined) {
        if (typeof raw.match.body !== 'string' || raw.match.body === '')
          bad('match.body', 'must be a non-empty regex');
        else
          try {
            body = new RegExp(raw.match.body);
          } catch (err) {
            bad('match.body', `is not a valid regex: ${(err as Error).message}`);
          }
      }
    }
  }
  if (protocol === 'tcp') {
    for (const k of ['uri', 'match', 'headers'] as const)
      if (raw[k] !== undefined) bad(k, 'only applies to protocol: rest (this is a TCP check)');
  }
  if (issues.length > before) return undefined;
  return Object.freeze({
    name,
    host: '127.0.0.1',
    port: port as number,
    protocol: protocol as 'rest' | 'tcp',
    uri: uri as string,
    intervalMs: intervalMs as number,
    timeoutMs: Math.min(timeoutMs as number, intervalMs as number),
    failureThreshold: thresholds.failureThreshold,
    successThreshold: thresholds.successThreshold,
    headers: Object.freeze(headers),
    status,
    ...(body ? { body } : {}),
  });
}

/** The checks under `localHealthCheck` (none when absent); throws a ConfigError listing every problem. */
export function parseHealthChecks(value: unknown): readonly HealthCheckSpec[] {
  if (value === undefined || value === null) return Object.freeze([]);
  const list = isRecord(value) ? [value] : value;
  if (!Array.isArray(list)) {
    throw new ConfigError([{ file: FILE, key: 'localHealthCheck', message: 'must be a list of checks' }]);
  }
  if (list.length > MAX_CHECKS) {
    throw new ConfigError([
      { file: FILE, key: 'localHealthCheck', message: `at most ${MAX_CHECKS} checks, got ${list.length}` },
    ]);
  }
  const issues: ConfigIssue[] = [];
  const specs = list.map((raw, i) => parseOne(raw, i, issues));
  if (issues.length > 0) throw new ConfigError(issues);
  return Object.freeze(specs as HealthCheckSpec[]);
}
