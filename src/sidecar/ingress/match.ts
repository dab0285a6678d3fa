/**
 * @module sidecar/ingress/match
 * Per request at the edge: the first rule (in list order) whose host and apiPath match, and the
 * path to send. The query string is kept (the original dropped it): `/api/x?a=1` with
 * `redirectPath: /x` goes to `/x?a=1`. No match → undefined (the listener answers 404
 * ROUTE_NOT_FOUND).
 */
import type { IngressRule, IngressTable, IngressTarget } from './types.ts';

/** `redirectPath` with `$1`–`$9` replaced by the match's groups (missing ones → '') and `$$` by `$`. */
export function expandRedirect(template: string, groups: RegExpExecArray): string {
  if (!template.includes('$')) return template;
  return template.replace(/\$(\$|[1-9])/g, (_m, g: string) => (g === '$' ? '$' : (groups[Number(g)] ?? '')));
}

function hostMatches(rule: IngressRule, authority: string | undefined): boolean {
  if (rule.host === undefined) return true;
  if (authority === undefined) return false;
  const a = authority.toLowerCase();
  if (rule.host.includes(':')) return a === rule.host;
  const colon = a.lastIndexOf(':');
  const name = colon >= 0 && !a.endsWith(']') ? a.slice(0, colon) : a;
  return (name.endsWith('.') ? name.slice(0, -1) : name) === rule.host;
}

/**
 * The target for a request with `Host: authority` and origin-form `url` (path and query), or
 * undefined when no rule matches.
 */
export function matchIngress(
  table: IngressTable,
  authority: string | undefined,
  url: string,
): IngressTarget | undefined {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);
  for (const rule of table.rules) {
    if (!hostMatches(rule, authority)) continue;
    rule.apiPath.lastIndex = 0;
    const m = rule.apiPath.exec(path);
    if (m === null) continue;
    let out = rule.service.redirectPath === undefined ? path : expandRedirect(rule.service.redirectPath, m);
    if (query !== '') out += out.includes('?') ? `&${query}` : `?${query}`;
    return { rule, service: rule.service.name, path: out, port: rule.service.port };
  }
  return undefined;
}
