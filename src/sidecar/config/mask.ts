/**
 * @module sidecar/config/mask
 * Masks secrets before config is shown (admin `/config`, logs). A value is masked when its key
 * looks like a secret (password, secret, token, accessKey/secretKey, credentials, private/api key),
 * when it is PEM private-key content whatever its key, and URL user-info (`http://u:p@host`) is
 * masked inside strings. Paths to secret files (`keyFile`, `certPwdFile`) are not secrets and stay.
 */

export const MASK = '******';

const SECRET_SEGMENT =
  /(passw(or)?d|passwd|pwd|secret|token|credential|access[-_]?key|private[-_]?key|api[-_]?key|authorization|cookie)/i;
const FILE_SEGMENT = /(file|path|dir)$/i;
const PEM_PRIVATE = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^/@\s:]+(:[^/@\s]*)?@/gi;

/** True when a (dotted) key names a secret. */
export function isSecretKey(key: string): boolean {
  const segs = key.split('.');
  if (segs.some((s) => /^credentials?$/i.test(s))) return true;
  const last = segs[segs.length - 1] ?? '';
  return SECRET_SEGMENT.test(last) && !FILE_SEGMENT.test(last);
}

function maskValue(value: unknown, secret: boolean): unknown {
  if (secret) return value === undefined || value === null || value === '' ? value : MASK;
  if (typeof value === 'string') {
    if (PEM_PRIVATE.test(value)) return MASK;
    return value.replace(URL_USERINFO, `$1${MASK}@`);
  }
  if (Array.isArray(value)) return value.map((v) => maskValue(v, false));
  if (typeof value === 'object' && value !== null) return maskSecrets(value as Record<string, unknown>);
  return value;
}

/** A copy of `flat` (or any plain object tree) with secret values replaced by `******`. */
export function maskSecrets(flat: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flat)) out[k] = maskValue(v, isSecretKey(k));
  return out;
}
