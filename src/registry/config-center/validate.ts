/**
 * @module registry/config-center/validate
 * Request validation for the Kie API: create and update bodies, and the list query (`key`,
 * `label`, `match`, `status`, `revision`, `wait`, `limit`, `offset`). Every check throws a 400001
 * `KieError` whose message names the field and says what is wrong.
 *
 * Compatibility notes (go-chassis kie-client / go-archaius):
 * - the client always sends `"id": ""` and may send `priority` / `check`: accepted and ignored;
 * - go-archaius sends `label=environment:` when the environment is empty: a label with an empty
 *   value means "no such label", both in queries and in stored KVs;
 * - `revision=-1` (the client's "I know nothing") is accepted and means "answer now";
 * - `label=a:b,c:d` (older clients put several labels in one parameter) is split on commas.
 */
import { parse as parseYaml } from 'yaml';
import {
  badParam,
  type KvFilter,
  type KvStatus,
  type Labels,
  type MatchMode,
  STATUSES,
  VALUE_TYPES,
  type ValueType,
} from './model.ts';

/** Bounds, in one table. */
export const LIMITS = Object.freeze({
  keyChars: 2048,
  valueBytes: 128 * 1024,
  labels: 16,
  labelKeyChars: 64,
  labelValueChars: 160,
  /** Longest `wait` honoured; longer values are clamped (a held request costs a socket). */
  maxWaitMs: 300_000,
  /** Page size cap for `limit`. */
  maxLimit: 1000,
});

const KEY_RE = /^[A-Za-z0-9_][A-Za-z0-9_.\-:/]*$/;
const LABEL_KEY_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const LABEL_VALUE_RE = /^[A-Za-z0-9_.\-:*]*$/;
/** Fields Kie clients send that carry nothing for us. */
const IGNORED_FIELDS = new Set(['id', 'priority', 'check', 'project', 'domain']);
const CREATE_FIELDS = new Set(['key', 'value', 'value_type', 'labels', 'status']);
const UPDATE_FIELDS = new Set(['value', 'status', 'value_type', 'key', 'labels']);

export interface CreateInput {
  key: string;
  value: string;
  value_type: ValueType;
  labels: Labels;
  status: KvStatus;
}

export interface UpdateInput {
  value?: string;
  status?: KvStatus;
  /** Only to be compared: a KV's key and labels cannot change (they identify it). */
  key?: string;
  labels?: Labels;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkFields(body: Record<string, unknown>, allowed: Set<string>): void {
  for (const k of Object.keys(body)) {
    if (!allowed.has(k) && !IGNORED_FIELDS.has(k))
      throw badParam(k, `unknown field (expected one of ${[...allowed].join(', ')})`);
  }
}

export function checkKey(v: unknown, field = 'key'): string {
  if (typeof v !== 'string' || v === '') throw badParam(field, 'is required and must be a non-empty string');
  if (v.length > LIMITS.keyChars) throw badParam(field, `is longer than ${LIMITS.keyChars} characters`);
  if (!KEY_RE.test(v)) throw badParam(field, `'${v}' may contain only letters, digits and _ . - : /`);
  return v;
}

/** Names that would reach an object's prototype instead of being a label. */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

function checkLabel(k: string, v: unknown, field: string): string {
  if (RESERVED.has(k)) throw badParam(field, `label name '${k}' is reserved`);
  if (k.length > LIMITS.labelKeyChars || !LABEL_KEY_RE.test(k))
    throw badParam(field, `label name '${k}' must be 1-${LIMITS.labelKeyChars} letters, digits, _ . -`);
  if (typeof v !== 'string') throw badParam(`${field}.${k}`, 'must be a string');
  if (v.length > LIMITS.labelValueChars || !LABEL_VALUE_RE.test(v))
    throw badParam(
      `${field}.${k}`,
      `'${v}' must be at most ${LIMITS.labelValueChars} letters, digits, _ . - : *`,
    );
  return v;
}

/** A label map from a body; empty values are dropped (see the module notes). */
export function checkLabels(v: unknown, field = 'labels'): Labels {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw badParam(field, 'must be an object of string labels');
  const out: Record<string, string> = {};
  for (const [k, raw] of Object.entries(v)) {
    const value = checkLabel(k, raw, field);
    if (value !== '') out[k] = value;
  }
  if (Object.keys(out).length > LIMITS.labels) throw badParam(field, `at most ${LIMITS.labels} labels`);
  return out;
}

function checkStatus(v: unknown, field = 'status'): KvStatus {
  if (typeof v !== 'string' || !(STATUSES as readonly string[]).includes(v))
    throw badParam(field, `must be one of ${STATUSES.join(', ')}`);
  return v as KvStatus;
}

function checkValue(v: unknown, type: ValueType): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw badParam('value', 'must be a string (encode structured values as text)');
  if (Buffer.byteLength(v) > LIMITS.valueBytes)
    throw badParam('value', `is larger than ${LIMITS.valueBytes} bytes`);
  if (type === 'json') {
    try {
      JSON.parse(v);
    } catch (err) {
      throw badParam('value', `is not valid JSON: ${(err as Error).message}`);
    }
  } else if (type === 'yaml') {
    try {
      parseYaml(v);
    } catch (err) {
      throw badParam('value', `is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return v;
}

function checkValueType(v: unknown): ValueType {
  if (v === undefined || v === null || v === '') return 'text';
  if (typeof v !== 'string' || !(VALUE_TYPES as readonly string[]).includes(v))
    throw badParam('value_type', `must be one of ${VALUE_TYPES.join(', ')}`);
  return v as ValueType;
}

export function parseCreate(body: unknown): CreateInput {
  if (!isObject(body)) throw badParam('body', 'must be a JSON object {key, value, labels, ...}');
  checkFields(body, CREATE_FIELDS);
  const key = checkKey(body.key);
  const value_type = checkValueType(body.value_type);
  return {
    key,
    value_type,
    value: checkValue(body.value, value_type),
    labels: checkLabels(body.labels),
    status: body.status === undefined || body.status === '' ? 'enabled' : checkStatus(body.status),
  };
}

/** An update body; `value_type` is taken from the stored KV, so it is passed in. */
export function parseUpdate(body: unknown, storedType: ValueType): UpdateInput {
  if (!isObject(body)) throw badParam('body', 'must be a JSON object {value?, status?}');
  checkFields(body, UPDATE_FIELDS);
  if (body.value_type !== undefined && body.value_type !== '' && body.value_type !== storedType)
    throw badParam('value_type', 'cannot change; delete and create the key again');
  const out: UpdateInput = {};
  if (body.value !== undefined) out.value = checkValue(body.value, storedType);
  if (body.status !== undefined && body.status !== '') out.status = checkStatus(body.status);
  if (body.key !== undefined && body.key !== '') out.key = checkKey(body.key);
  if (body.labels !== undefined) out.labels = checkLabels(body.labels);
  if (out.value === undefined && out.status === undefined)
    throw badParam('body', 'nothing to update: give value and/or status');
  return out;
}

/** `wait=30s` / `500ms` / `1m` / `30` (seconds) → ms, clamped to LIMITS.maxWaitMs. */
export function parseWait(raw: string | null): number | undefined {
  if (raw === null || raw === '') return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  if (!m) throw badParam('wait', `'${raw}' must be a duration such as 30s, 500ms or 1m`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  return Math.min(Math.round(ms), LIMITS.maxWaitMs);
}

function parseInt0(raw: string | null, field: string, min: number): number | undefined {
  if (raw === null || raw === '') return undefined;
  if (!/^-?\d{1,15}$/.test(raw)) throw badParam(field, `'${raw}' must be an integer`);
  const n = Number(raw);
  if (n < min) throw badParam(field, `must be >= ${min}`);
  return n;
}

export interface ListQuery {
  filter: KvFilter;
  /** The caller's last X-Kie-Revision; undefined or negative = "answer now". */
  revision?: number;
  waitMs?: number;
  limit?: number;
  offset: number;
}

export function parseListQuery(q: URLSearchParams): ListQuery {
  const labels: Record<string, string> = {};
  for (const raw of q.getAll('label')) {
    for (const part of raw.split(',')) {
      if (part === '') continue;
      const i = part.indexOf(':');
      if (i <= 0) throw badParam('label', `'${part}' must be name:value`);
      const k = part.slice(0, i);
      const v = checkLabel(k, part.slice(i + 1), 'label');
      if (v !== '') labels[k] = v;
    }
  }
  if (Object.keys(labels).length > LIMITS.labels) throw badParam('label', `at most ${LIMITS.labels} labels`);
  const matchRaw = q.get('match') ?? '';
  let match: MatchMode;
  if (matchRaw === '' || matchRaw === 'partial') match = 'partial';
  else if (matchRaw === 'exact' || matchRaw === 'applicable') match = matchRaw;
  else throw badParam('match', `'${matchRaw}' must be exact or applicable (or empty for partial)`);

  let key: string | undefined;
  let keyPrefix = false;
  const keyRaw = q.get('key');
  if (keyRaw !== null && keyRaw !== '') {
    const m = /^beginWith\((.*)\)$/.exec(keyRaw);
    if (m) {
      keyPrefix = true;
      key = m[1] === '' ? '' : checkKey(m[1], 'key');
    } else {
      key = checkKey(keyRaw, 'key');
    }
  }
  const statusRaw = q.get('status');
  const status = statusRaw === null || statusRaw === '' ? undefined : checkStatus(statusRaw);
  const limit = parseInt0(q.get('limit'), 'limit', 1);
  if (limit !== undefined && limit > LIMITS.maxLimit)
    throw badParam('limit', `must be <= ${LIMITS.maxLimit}`);
  return {
    filter: { key, keyPrefix, labels, match, status },
    revision: parseInt0(q.get('revision'), 'revision', -1),
    waitMs: parseWait(q.get('wait')),
    limit,
    offset: parseInt0(q.get('offset'), 'offset', 0) ?? 0,
  };
}
