/**
 * @module registry/validate
 * Request validation (spec §2.1, §3.1, §4.1, §6). Each check throws `invalid(field, why)` — a
 * 400001 whose detail names the field — on the first failure. Lengths: min counts bytes, max
 * counts characters (runes), as in service-center.
 */
import { invalid } from './errors.ts';

export const NAME_RE = /^[a-zA-Z0-9]*$|^[a-zA-Z0-9][a-zA-Z0-9_\-.]*[a-zA-Z0-9]$/;
export const NAME_WITH_COLON_RE = /^[a-zA-Z0-9]*$|^[a-zA-Z0-9][a-zA-Z0-9_\-.:]*[a-zA-Z0-9]$/;
export const VERSION_RE = /^\d+(\.\d+){0,3}$/;
export const ENV_RE = /^(development|testing|acceptance|production)*$/;
export const SCHEMA_ID_RE = /^[a-zA-Z0-9]{1,160}$|^[a-zA-Z0-9][a-zA-Z0-9_\-.]{0,158}[a-zA-Z0-9]$/;
export const TAG_RE = /^[a-zA-Z][a-zA-Z0-9_\-.]{0,63}$/;
export const ALIAS_RE = /^[a-zA-Z0-9_\-.:]*$/;
export const INSTANCE_ID_RE = /^[A-Za-z0-9_.-]*$/;
export const NO_SPACE_RE = /^\S*$/;
export const PATH_RE = /^[A-Za-z0-9.,?'\\/+&%$#=~_\-@{}]*$/;
export const DC_RE = /^[A-Za-z0-9_.-]+$/;
export const TENANT_RE = /^[A-Za-z0-9_.-]{1,64}$/;

export interface StrRule {
  required?: boolean;
  min?: number;
  max?: number;
  re?: RegExp;
  oneOf?: readonly string[];
}

function runes(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Check an optional string field; returns it ('' when absent). */
export function str(obj: Record<string, unknown>, field: string, path: string, rule: StrRule): string {
  const v = obj[field];
  if (v === undefined || v === null || v === '') {
    if (rule.required || (rule.min ?? 0) > 0) throw invalid(`${path}.${field}`, 'required');
    return '';
  }
  return checkStr(v, `${path}.${field}`, rule);
}

export function checkStr(v: unknown, name: string, rule: StrRule): string {
  if (typeof v !== 'string') throw invalid(name, 'must be a string');
  if (rule.min !== undefined && Buffer.byteLength(v) < rule.min)
    throw invalid(name, `shorter than ${rule.min}`);
  if (rule.max !== undefined && runes(v) > rule.max) throw invalid(name, `longer than ${rule.max}`);
  if (rule.re && !rule.re.test(v)) throw invalid(name, `does not match ${rule.re.source}`);
  if (rule.oneOf && !rule.oneOf.includes(v)) throw invalid(name, `must be one of ${rule.oneOf.join('|')}`);
  return v;
}

export function version(v: string, name: string): string {
  checkStr(v, name, { min: 1, max: 64, re: VERSION_RE });
  if (v.split('.').some((seg) => Number(seg) > 32767)) throw invalid(name, 'a segment is over 32767');
  return v;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A map of string to string (properties, tags). */
export function strMap(v: unknown, name: string, maxEntries = 1000): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw invalid(name, 'must be an object of strings');
  const out: Record<string, string> = {};
  let n = 0;
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw invalid(`${name}.${k}`, 'must be a string');
    if (++n > maxEntries) throw invalid(name, `more than ${maxEntries} entries`);
    out[k] = val;
  }
  return out;
}

export function strArray(v: unknown, name: string, maxItems: number, item: StrRule): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid(name, 'must be an array');
  if (v.length > maxItems) throw invalid(name, `more than ${maxItems} items`);
  return v.map((x, i) => checkStr(x, `${name}[${i}]`, item));
}

export function int(v: unknown, name: string, min: number, max: number): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw invalid(name, `must be an integer in ${min}..${max}`);
  return v;
}

/** A serviceId or instanceId taken from the path. */
export function pathId(v: string, name: string): string {
  return checkStr(v, name, { min: 1, max: 64, re: NO_SPACE_RE });
}

export function bool(v: string | null, name: string): boolean | undefined {
  if (v === null || v === '') return undefined;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalid(name, `parameter ${name} must be false or true`);
}
