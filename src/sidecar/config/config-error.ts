/**
 * @module sidecar/config/config-error
 * The one error the config loader throws. It carries every problem found in a single pass
 * (`issues`), each naming the file (or `env` / `command line`) and the key, so an operator can fix
 * all of them at once instead of one restart per typo.
 */
import type { ConfigIssue } from './types.ts';

const BRAND = Symbol.for('mesher.ConfigError');

/** Render one issue as `file: key: message` (the key is left out when the issue concerns a whole file). */
export function formatIssue(issue: ConfigIssue): string {
  return issue.key === ''
    ? `${issue.file}: ${issue.message}`
    : `${issue.file}: ${issue.key}: ${issue.message}`;
}

export class ConfigError extends Error {
  /** Stable machine-readable code (the data-plane catalogue in src/shared/errors.ts is for responses). */
  readonly code = 'CONFIG_INVALID';
  readonly issues: readonly ConfigIssue[];
  /** Warnings found in the same pass (unknown keys...); often the real cause, so print them too. */
  readonly warnings: readonly string[];

  constructor(issues: readonly ConfigIssue[], warnings: readonly string[] = []) {
    const n = issues.length;
    super(
      `invalid sidecar configuration (${n} problem${n === 1 ? '' : 's'}):\n${issues.map(formatIssue).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.issues = Object.freeze([...issues]);
    this.warnings = Object.freeze([...warnings]);
  }

  get [BRAND](): true {
    return true;
  }
}

/** True for a ConfigError from any copy of this module (branded, like MeshError). */
export function isConfigError(err: unknown): err is ConfigError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
}
