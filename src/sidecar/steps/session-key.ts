/**
 * @module sidecar/steps/session-key
 * Where a call's SessionStickiness key comes from. Read only for services whose strategy is
 * SessionStickiness (the load-balance step checks the balancer first), so other calls never scan
 * their headers for it:
 *
 * 1. the `go-chassisLB` cookie — the cookie go-chassis' SessionStickiness sets and reads, so
 *    clients of the original keep their sessions;
 * 2. else the `x-mesher-session` header — for clients that do not keep cookies (any stable
 *    string: a user id, a session id).
 *
 * A call with neither has no session: it is balanced round robin (with zone preference). Keys are
 * cut to 256 characters so a huge header cannot bloat the bounded session table.
 */

/** The cookie go-chassis' SessionStickiness uses (`common.LBSessionID`). */
export const SESSION_COOKIE = 'go-chassisLB';
/** The header read when the cookie is absent. */
export const SESSION_HEADER = 'x-mesher-session';
/** Longest session key kept. */
export const MAX_SESSION_KEY = 256;

function cookieValue(cookie: string, name: string): string | undefined {
  let at = 0;
  while (at < cookie.length) {
    let end = cookie.indexOf(';', at);
    if (end < 0) end = cookie.length;
    const eq = cookie.indexOf('=', at);
    if (eq > at && eq < end && cookie.slice(at, eq).trim() === name) {
      const v = cookie.slice(eq + 1, end).trim();
      return v === '' ? undefined : v;
    }
    at = end + 1;
  }
  return undefined;
}

/** The session key of a call with these raw headers (`[name, value, ...]`), or undefined. */
export function sessionKeyOf(headers: readonly string[]): string | undefined {
  let fromHeader: string | undefined;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === 6 && name.toLowerCase() === 'cookie') {
      const v = cookieValue(headers[i + 1]!, SESSION_COOKIE);
      if (v !== undefined) return v.length > MAX_SESSION_KEY ? v.slice(0, MAX_SESSION_KEY) : v;
    } else if (fromHeader === undefined && name.length === 16 && name.toLowerCase() === SESSION_HEADER) {
      const v = headers[i + 1]!.trim();
      if (v !== '') fromHeader = v.length > MAX_SESSION_KEY ? v.slice(0, MAX_SESSION_KEY) : v;
    }
  }
  return fromHeader;
}
