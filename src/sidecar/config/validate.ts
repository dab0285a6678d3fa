/**
 * @module sidecar/config/validate
 * One pass over the winning entries: classify every key, place known ones into the nested shape of
 * SidecarFileSchema, then coerce (env values are strings) and validate with TypeBox. Every problem
 * comes back with the file and key it came from. Bad values are removed so the later semantic pass
 * can still run on the rest and report its own problems in the same error.
 */
import { Value, ValuePointer } from '@sinclair/typebox/value';
import { classifyKey } from './key-walk.ts';
import { expectedFile, SidecarFileSchema, type SidecarFileValues } from './schema.ts';
import type { Entry } from './sources.ts';
import type { ConfigIssue } from './types.ts';

export interface Validated {
  readonly values: SidecarFileValues;
  /** Canonical key -> the entry that set it (for issues raised later). */
  readonly origin: ReadonlyMap<string, Entry>;
}

const escapePointer = (s: string) => s.replaceAll('~', '~0').replaceAll('/', '~1');
const unescapePointer = (s: string) => s.replaceAll('~1', '/').replaceAll('~0', '~');

/** Where a canonical key came from, for a ConfigIssue (its expected file when it was not set). */
export function locate(origin: ReadonlyMap<string, Entry>, canonical: string): { file: string; key: string } {
  const e = origin.get(canonical);
  return e ? { file: e.file, key: e.where } : { file: expectedFile(canonical), key: canonical };
}

function suggestionFor(e: Entry, suggestion: string): string {
  // Keep the writer's spelling: a cse.-prefixed key gets a cse.-prefixed suggestion.
  return e.key.startsWith('cse.') && suggestion.startsWith('servicecomb.')
    ? `cse.${suggestion.slice('servicecomb.'.length)}`
    : suggestion;
}

export function validateEntries(
  winners: ReadonlyMap<string, Entry>,
  issues: ConfigIssue[],
  warnings: string[],
): Validated {
  const raw: Record<string, unknown> = { servicecomb: { service: {} } };
  const byPointer = new Map<string, string>();
  const origin = new Map<string, Entry>();
  for (const e of winners.values()) {
    const c = classifyKey(e.canonical);
    const at = `${e.file}: ${e.where}`;
    switch (c.kind) {
      case 'passthrough':
        break;
      case 'stale':
        warnings.push(`${at}: ${c.hint}`);
        break;
      case 'unknown':
        warnings.push(
          `${at}: unknown key${c.suggestion ? ` (did you mean ${suggestionFor(e, c.suggestion)}?)` : ''}; ignored`,
        );
        break;
      case 'section':
        issues.push({
          file: e.file,
          key: e.where,
          message: `is a section, not a value (it holds ${c.children.slice(0, 6).join(', ')}${c.children.length > 6 ? ', ...' : ''})`,
        });
        break;
      case 'known': {
        origin.set(e.canonical, e);
        let node = raw;
        c.path.slice(0, -1).forEach((seg) => {
          const next = node[seg];
          if (typeof next !== 'object' || next === null || Array.isArray(next)) node[seg] = {};
          node = node[seg] as Record<string, unknown>;
        });
        node[c.path[c.path.length - 1] as string] = e.value;
        byPointer.set(`/${c.path.map(escapePointer).join('/')}`, e.canonical);
        if (e.canonical === 'servicecomb.service.version' && typeof e.value === 'number') {
          warnings.push(
            `${at}: YAML read this version as a number (${e.value}); quote it, e.g. version: "1.0.0"`,
          );
        }
        break;
      }
    }
  }

  const converted = Value.Convert(SidecarFileSchema, raw) as Record<string, unknown>;
  const seen = new Set<string>();
  const bad: string[] = [];
  for (const err of Value.Errors(SidecarFileSchema, converted)) {
    if (seen.has(err.path)) continue;
    seen.add(err.path);
    bad.push(err.path);
    // Walk up to the pointer of the key that was set (array items, map values sit below it).
    let p = err.path;
    while (p !== '' && !byPointer.has(p)) p = p.slice(0, p.lastIndexOf('/'));
    const canonical = byPointer.get(p) ?? err.path.split('/').slice(1).map(unescapePointer).join('.');
    const msg = (err.schema as { 'x-message'?: string })['x-message'] ?? err.message;
    const { file, key } = locate(origin, canonical);
    const value = origin.get(canonical)?.value;
    issues.push({ file, key, message: value === undefined ? msg : `${msg} (got ${JSON.stringify(value)})` });
  }
  for (const p of bad) {
    try {
      ValuePointer.Delete(converted, p);
    } catch {
      // Already removed with its parent.
    }
  }
  return { values: converted as unknown as SidecarFileValues, origin };
}
