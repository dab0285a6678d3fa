/**
 * @module registry/config-center/model
 * The config center's data model and its errors, in ServiceComb Kie's wire shape
 * (`/v1/{project}/kie/kv`): a KV is a key, a string value with a `value_type`, a label map
 * (`app`, `service`, `version`, `environment`, or any other) and a status. A key is unique per
 * label set: the same key with other labels is another KV.
 *
 * Errors answer Kie's envelope `{"error_code": <number>, "error_msg": "..."}` with the HTTP status
 * the code starts with (400001 → 400), like the registry's own catalogue.
 */

export const VALUE_TYPES = ['text', 'string', 'json', 'yaml', 'properties', 'ini', 'xml'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];
export const STATUSES = ['enabled', 'disabled'] as const;
export type KvStatus = (typeof STATUSES)[number];

export type Labels = Readonly<Record<string, string>>;

/** What the store keeps for one KV (revisions come from the store's record, not from here). */
export interface StoredKv {
  readonly id: string;
  readonly key: string;
  readonly value: string;
  readonly value_type: ValueType;
  readonly labels: Labels;
  readonly status: KvStatus;
  /** Unix seconds, as Kie sends them. */
  readonly create_time: number;
  readonly update_time: number;
}

/** One KV on the wire (Kie's KVDoc). */
export interface KvDoc extends StoredKv {
  readonly project: string;
  readonly create_revision: number;
  readonly update_revision: number;
}

/** `GET /kv` answer (Kie's KVResponse). */
export interface KvList {
  readonly total: number;
  readonly data: readonly KvDoc[];
}

/**
 * How `label=` filters compare with a KV's labels:
 * - `partial` (Kie's default): the KV has every queried label (it may have more);
 * - `exact`: the KV's labels are exactly the queried ones (go-archaius uses this per dimension);
 * - `applicable` (mesher extension): every label of the KV is among the queried ones, i.e. the
 *   KV applies to a caller with those labels. A KV with fewer labels applies more broadly.
 */
export type MatchMode = 'partial' | 'exact' | 'applicable';

export interface KvFilter {
  /** Exact key, or a key prefix when `keyPrefix` is set (Kie's `key=beginWith(x)`). */
  readonly key?: string;
  readonly keyPrefix?: boolean;
  readonly labels: Labels;
  readonly match: MatchMode;
  readonly status?: KvStatus;
}

export const KIE_ERRORS = {
  400001: 'Invalid parameter(s)',
  400100: 'Not enough quota',
  404001: 'Key value does not exist',
  409001: 'Key value already exists',
  409002: 'Key value changed concurrently, retry',
  500001: 'Config center storage is unavailable',
  503001: 'Too many watchers, retry later',
} as const;
export type KieErrorCode = keyof typeof KIE_ERRORS;

const BRAND = Symbol.for('mesher.KieError');

/** A config-center failure with a stable numeric code; the route layer turns it into a reply. */
export class KieError extends Error {
  readonly code: KieErrorCode;
  readonly detail: string;
  constructor(code: KieErrorCode, detail = '') {
    super(detail ? `${KIE_ERRORS[code]}: ${detail}` : KIE_ERRORS[code]);
    this.name = 'KieError';
    this.code = code;
    this.detail = detail;
  }
  get [BRAND](): true {
    return true;
  }
  get status(): number {
    return Math.floor(this.code / 1000);
  }
  toBody(): { error_code: number; error_msg: string } {
    return { error_code: this.code, error_msg: this.message };
  }
}

export function isKieError(err: unknown): err is KieError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
}

/** 400001 naming the field. */
export function badParam(field: string, why: string): KieError {
  return new KieError(400001, `${field}: ${why}`);
}

/** Label maps compare and hash in one canonical form: sorted `k=v` joined by commas. */
export function canonicalLabels(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

/** Does a KV with `kvLabels` pass a `label=` filter under `mode`? */
export function labelsMatch(kvLabels: Labels, query: Labels, mode: MatchMode): boolean {
  const kvKeys = Object.keys(kvLabels);
  const qKeys = Object.keys(query);
  switch (mode) {
    case 'partial':
      return qKeys.every((k) => kvLabels[k] === query[k]);
    case 'exact':
      return kvKeys.length === qKeys.length && qKeys.every((k) => kvLabels[k] === query[k]);
    case 'applicable':
      return kvKeys.every((k) => query[k] === kvLabels[k]);
  }
}

/** Does a KV pass a filter (key, labels and status)? */
export function kvMatches(
  kv: Pick<StoredKv, 'key' | 'labels' | 'status'>,
  f: KvFilter,
  status = true,
): boolean {
  if (f.key !== undefined && (f.keyPrefix ? !kv.key.startsWith(f.key) : kv.key !== f.key)) return false;
  if (status && f.status !== undefined && kv.status !== f.status) return false;
  return labelsMatch(kv.labels, f.labels, f.match);
}
