/**
 * @module sidecar/balancer/options
 * Parses a strategy's options (a plain object from config) against a small table of numeric
 * fields: unknown keys are rejected, numeric strings are accepted (flattened YAML and env values
 * arrive as strings), and every problem is reported in one BalancerConfigError naming the field.
 */
import { BalancerConfigError } from './errors.ts';

export interface NumericField {
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly integer?: boolean;
  /** What the field means and its unit, for error messages. */
  readonly doc: string;
}

export type OptionSpec = Readonly<Record<string, NumericField>>;

export type ParsedOptions<S extends OptionSpec> = { readonly [K in keyof S]: number };

export function parseOptions<S extends OptionSpec>(
  strategy: string,
  spec: S,
  raw: unknown,
): ParsedOptions<S> {
  const out: Record<string, number> = {};
  const problems: string[] = [];
  const given: Record<string, unknown> =
    raw === undefined || raw === null ? {} : typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    problems.push('options must be an object');
  }
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(spec, key)) {
      const known = Object.keys(spec);
      problems.push(
        `unknown option "${key}"${known.length ? ` (known: ${known.join(', ')})` : ' (it takes no options)'}`,
      );
    }
  }
  for (const [key, field] of Object.entries(spec)) {
    const v = given[key];
    if (v === undefined || v === null || v === '') {
      out[key] = field.default;
      continue;
    }
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim()) : Number.NaN;
    if (!Number.isFinite(n) || n < field.min || n > field.max || (field.integer && !Number.isInteger(n))) {
      const kind = field.integer ? 'an integer' : 'a number';
      problems.push(
        `${key} must be ${kind} from ${field.min} to ${field.max} (${field.doc}), got ${JSON.stringify(v)}`,
      );
      continue;
    }
    out[key] = n;
  }
  if (problems.length > 0) {
    throw new BalancerConfigError('INVALID_BALANCER_OPTION', `${strategy}: ${problems.join('; ')}`);
  }
  return Object.freeze(out) as ParsedOptions<S>;
}
