/**
 * @module sidecar/steps/egress
 * Outbound calls to hosts outside the mesh (issue 5 item 6). The LAST extra outbound step, so
 * observe, route and the resilience steps (rate limit, breaker, timeouts, retries) have already
 * wrapped the call; it then either hands the call on to load balancing (a mesh service) or sends
 * it to the external `host:port` itself through the data plane's transport, bypassing discovery
 * and balancing.
 *
 * Precedence, per call (`call.service` is the URL host or the CONNECT authority's host):
 *   1. an `egressRule` host matches (exact, then the most specific wildcard) → external;
 *   2. otherwise the mesh: `next` (load-balance → transport);
 *   3. the mesh says SERVICE_NOT_FOUND and `egress.passthrough` is on → external, as asked;
 *      passthrough off → the 404 SERVICE_NOT_FOUND stands.
 * Rules first, like the original: explicit config wins, and calls to configured external hosts
 * never cost a registry lookup.
 *
 * External calls: DNS by the OS when the transport connects (or a static `egress.resolve` entry),
 * plain HTTP for requests, a raw TCP tunnel for CONNECT (the app speaks TLS end to end). A plain
 * request that only matches an `https` port is refused with 400: the sidecar does not originate
 * TLS (docs/edge-and-egress.md). Mesh-internal identity headers (`x-cse-context`,
 * `x-cse-src-microservice`, `x-forwarded-port`) are not sent outside.
 */
import { isIP } from 'node:net';
import { isMeshError, MeshError } from '../../shared/errors.ts';
import type { CallContext, Outcome, Step } from '../chain/types.ts';
import {
  checkHost,
  type EgressIssue,
  type EgressTable,
  type EgressTarget,
  matchEgress,
  normaliseHost,
  parseEgress,
} from '../egress/index.ts';

/** Sends a call to `call.target` (the data plane's transport step; never calls `next`). */
export type Send = (call: CallContext) => Promise<Outcome>;

export interface EgressStepDeps {
  readonly table: EgressTable;
  readonly send: Send;
  /**
   * A fixed address for a host name (`egress.resolve`), else undefined: the transport's connect
   * resolves the name through the OS. Called once per external call.
   */
  readonly address?: (host: string) => string | undefined;
}

const INTERNAL_HEADERS = new Set(['x-cse-context', 'x-cse-src-microservice', 'x-forwarded-port']);

function stripInternal(headers: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!INTERNAL_HEADERS.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}

/** The call's URL / CONNECT port as a number, undefined when none or malformed. */
function portOf(call: CallContext): number | undefined {
  const p = call.requestedPort;
  if (p === undefined) return undefined;
  const n = Number(p.trim());
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

export function createEgress(deps: EgressStepDeps): Step {
  const { table, send } = deps;
  const address = deps.address ?? (() => undefined);
  const hasRules = table.rules.length > 0;

  function external(call: CallContext, to: EgressTarget): Promise<Outcome> {
    if (to.tls && call.kind !== 'tunnel') {
      return Promise.reject(
        new MeshError('BAD_REQUEST', {
          service: call.service,
          message: `${to.host}:${to.port} is an HTTPS egress port: call https://${to.host} through the proxy (CONNECT); the sidecar does not originate TLS`,
        }),
      );
    }
    const host = address(to.host) ?? to.host;
    call.headers = stripInternal(call.headers);
    call.endpoint = undefined;
    call.target = { key: `egress@${to.host}:${to.port}`, host, port: to.port };
    return send(call);
  }

  return async function egress(call, next) {
    if (hasRules) {
      const hit = matchEgress(table, call.service, portOf(call));
      if (hit !== undefined) return external(call, hit);
    }
    if (!table.passthrough) return next(call);
    try {
      return await next(call);
    } catch (err) {
      if (!isMeshError(err) || err.code !== 'SERVICE_NOT_FOUND' || call.signal.aborted) throw err;
      const port = portOf(call) ?? (call.kind === 'tunnel' ? 443 : 80);
      return external(call, { host: normaliseHost(call.service), port, tls: false, rule: undefined });
    }
  };
}

/** Most `egress.resolve` entries accepted. */
export const MAX_RESOLVE_ENTRIES = 1000;

/** One config version's egress settings. */
export interface EgressSettings {
  readonly table: EgressTable;
  /** `egress.resolve.<host>: <IP literal>`: fixed addresses (split DNS, tests); host lower-cased. */
  readonly resolve: ReadonlyMap<string, string>;
}

/**
 * `egressRule.*`, `egress.passthrough` (../egress/parse.ts) and `egress.resolve` from the flat
 * config, every problem keyed. With issues the caller keeps its last good settings (or, at
 * start-up, fails).
 */
export function parseEgressSettings(flat: Readonly<Record<string, unknown>>): {
  settings: EgressSettings;
  issues: readonly EgressIssue[];
  warnings: readonly EgressIssue[];
} {
  const r = parseEgress(flat);
  const issues = [...r.issues];
  const resolve = new Map<string, string>();
  const prefix = 'egress.resolve.';
  for (const key of Object.keys(flat)) {
    if (key === 'egress.resolve') {
      issues.push({ key, message: 'must be a map of host name → IP address' });
      continue;
    }
    if (!key.startsWith(prefix)) continue;
    const host = normaliseHost(key.slice(prefix.length));
    const value = flat[key];
    const why = checkHost(host);
    if (why !== undefined || host.includes('*')) {
      issues.push({ key, message: `${JSON.stringify(host)} ${why ?? 'must not be a wildcard'}` });
    } else if (typeof value !== 'string' || isIP(value.trim()) === 0) {
      issues.push({ key, message: `must be an IPv4 or IPv6 address, got ${JSON.stringify(value)}` });
    } else if (resolve.size >= MAX_RESOLVE_ENTRIES) {
      issues.push({ key: 'egress.resolve', message: `has more than ${MAX_RESOLVE_ENTRIES} entries` });
      break;
    } else resolve.set(host, value.trim());
  }
  return { settings: Object.freeze({ table: r.table, resolve }), issues, warnings: r.warnings };
}

/** The step for one config version's settings. */
export function egressStepFor(settings: EgressSettings, send: Send): Step {
  const { resolve } = settings;
  return createEgress({
    table: settings.table,
    send,
    ...(resolve.size > 0 ? { address: (host: string) => resolve.get(host) } : {}),
  });
}
