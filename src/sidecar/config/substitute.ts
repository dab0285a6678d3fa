/**
 * @module sidecar/config/substitute
 * `${NAME||default}` and `${NAME}` in file values, as go-archaius expanded them: the environment
 * variable's value when it is set and non-empty, else the default. A placeholder may sit anywhere
 * in a string, several per string. `${NAME}` with NAME unset and no default becomes "" and is
 * reported as a warning (the key's own validation then decides whether "" is acceptable).
 */

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_.]*)(?:\|\|([^}]*))?\}/g;

export function substitute(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  onUnset: (name: string) => void,
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    return value.replace(PLACEHOLDER, (_m, name: string, dflt: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (dflt === undefined) onUnset(name);
      return dflt ?? '';
    });
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, env, onUnset));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substitute(v, env, onUnset);
    return out;
  }
  return value;
}
