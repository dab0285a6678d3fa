/**
 * @module sidecar/egress/match
 * Where an external hostname goes. Exact hosts first, then the longest matching wildcard
 * (`*.x.com` matches `a.x.com` and `a.b.x.com`, not `x.com`; the original's unescaped regex
 * `.x.com$` also matched `ax.com`). The port:
 *
 * - the caller named one (URL port): it must be one of the rule's ports when the rule lists any
 *   (otherwise no match), and its protocol says whether to use TLS;
 * - no port named: the rule's first `http` port, else its first `https` port, else 80 (the
 *   original: the first http port, default 80).
 *
 * Suggested order in the outbound chain: egress rules first (explicit config wins), then the
 * mesh's service lookup, then `passthrough` (see `resolveEgress`).
 */
import type { EgressRule, EgressTable, EgressTarget } from './types.ts';

/** Lower-case, no trailing dot. */
export function normaliseHost(host: string): string {
  const h = host.toLowerCase();
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

function ruleFor(table: EgressTable, host: string): EgressRule | undefined {
  const exact = table.exact.get(host);
  if (exact !== undefined) return exact;
  for (const w of table.wildcards) {
    if (host.length > w.suffix.length && host.endsWith(w.suffix)) return w.rule;
  }
  return undefined;
}

function portFor(rule: EgressRule, port: number | undefined): { port: number; tls: boolean } | undefined {
  if (port !== undefined) {
    if (rule.ports.length === 0) return { port, tls: false };
    const p = rule.ports.find((x) => x.port === port);
    return p === undefined ? undefined : { port, tls: p.protocol === 'https' };
  }
  const http = rule.ports.find((x) => x.protocol === 'http');
  if (http) return { port: http.port, tls: false };
  const https = rule.ports.find((x) => x.protocol === 'https');
  if (https) return { port: https.port, tls: true };
  return { port: 80, tls: false };
}

/** The egress rule target for `host` (and the URL's port, if any), or undefined. */
export function matchEgress(table: EgressTable, host: string, port?: number): EgressTarget | undefined {
  const h = normaliseHost(host);
  const rule = ruleFor(table, h);
  if (rule === undefined) return undefined;
  const p = portFor(rule, port);
  return p === undefined ? undefined : { host: h, port: p.port, tls: p.tls, rule };
}

/**
 * `matchEgress`, falling back to passthrough when it is on (the URL's port, else 80, plain
 * HTTP). Undefined = not an allowed external destination: 404 SERVICE_NOT_FOUND.
 */
export function resolveEgress(table: EgressTable, host: string, port?: number): EgressTarget | undefined {
  const hit = matchEgress(table, host, port);
  if (hit !== undefined || !table.passthrough) return hit;
  return { host: normaliseHost(host), port: port ?? 80, tls: false, rule: undefined };
}
