/**
 * @module sidecar/admin/route-rule
 * `GET /v1/mesher/routeRule/{service}` (as in the original, but with a correct JSON content type):
 * the route rules in force for one target service, in precedence order; 404 when there are none.
 * `GET /v1/mesher/routes`: the whole effective route table plus the last rejected change, if any.
 */
import type { AdminHandler, AdminReply } from './types.ts';

export interface RouteTableView {
  /** Specs of the rules in force per service (precedence order). */
  readonly services: () => Readonly<Record<string, readonly unknown[]>>;
  /** Why the most recent change was rejected (the last good rules stayed), if it was. */
  readonly lastRejected: () => { readonly at: number; readonly issues: readonly unknown[] } | undefined;
}

const PREFIX = '/v1/mesher/routeRule/';

/** 405 for anything but GET/HEAD (these are extra routes: the router checks methods only for its own). */
function getOnly(): AdminReply {
  return {
    status: 405,
    body: { code: 'METHOD_NOT_ALLOWED', message: 'GET only' },
    headers: { allow: 'GET' },
  };
}

export function createRouteRuleHandler(view: RouteTableView): AdminHandler {
  return async (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return getOnly();
    const service = decodeURIComponent(req.path.slice(PREFIX.length));
    const rules = view.services()[service];
    if (!service || !rules || rules.length === 0) {
      return {
        status: 404,
        body: { code: 'NOT_FOUND', message: `${service || '(none)'} routeRule not found` },
      };
    }
    return { status: 200, body: rules };
  };
}

export function createRoutesHandler(view: RouteTableView): AdminHandler {
  return async (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return getOnly();
    return { status: 200, body: { services: view.services(), lastRejected: view.lastRejected() ?? null } };
  };
}
