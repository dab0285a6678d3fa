/**
 * @module sidecar/routing/types
 * The route-rule engine's data model (issue 5, items 1–3). Config (`servicecomb.routeRule.<svc>`,
 * top-level `routeRule.<svc>`, legacy `servicecomb.darklaunch.policy.<svc>`) is parsed once by
 * ./parse.ts into a frozen `RouteTable`; ./router.ts turns a table plus the caller's identity into a
 * `Router` whose `decide()` runs per outbound request and returns a precomputed `RouteDecision`.
 *
 * Three levels (STYLE.md §2.5): a logical service → a route (a tag subset, `routeKey`) → an
 * endpoint the balancer picks among `filterEndpoints(snapshot.endpoints, decision.tags)`.
 */

/** Header operators, as in go-chassis' marker package (plus `caseInsensitive` as a modifier). */
export const HEADER_OPS = [
  'exact',
  'regex',
  'contains',
  'noEqu',
  'less',
  'noLess',
  'greater',
  'noGreater',
] as const;
export type HeaderOp = (typeof HEADER_OPS)[number];

export const PATH_OPS = ['exact', 'prefix', 'regex'] as const;
export type PathOp = (typeof PATH_OPS)[number];

/** A header condition as written (normalised): every operator given must hold. */
export interface HeaderSpec {
  readonly exact?: string;
  readonly regex?: string;
  readonly contains?: string;
  readonly noEqu?: string;
  readonly less?: string;
  readonly noLess?: string;
  readonly greater?: string;
  readonly noGreater?: string;
  readonly caseInsensitive?: boolean;
}

export interface PathSpec {
  readonly exact?: string;
  readonly prefix?: string;
  readonly regex?: string;
}

/** The `match` block as written (normalised). All conditions are AND-ed; `{}` matches every call. */
export interface MatchSpec {
  /** The caller's service name. */
  readonly source?: string;
  /** The caller's tags: `version`, `app` or any of its properties. */
  readonly sourceTags?: Readonly<Record<string, string>>;
  /** Keyed by lower-cased header name (`headers` and the go-chassis alias `httpHeaders` merge here). */
  readonly headers?: Readonly<Record<string, HeaderSpec>>;
  /** Upper-cased methods; any of them. */
  readonly method?: readonly string[];
  /** Matched against the path without its query string. */
  readonly path?: PathSpec;
  /** The name of a `servicecomb.match.<name>` marker that must also hold (./markers.ts). */
  readonly refer?: string;
}

/** Per-route retry override (the retry step reads it). */
export interface RouteRetry {
  /** Total attempts including the first (1 = no retry). */
  readonly attempts: number;
  /** Timeout of each attempt, ms; absent = the service's per-try timeout. */
  readonly perTryTimeoutMs?: number;
  /**
   * What is worth retrying: status codes (`503`), classes (`5xx`) and the conditions
   * `connect-failure`, `reset`, `timeout`, `gateway-error` (502/503/504).
   */
  readonly retryOn?: readonly string[];
}

/** Per-route token bucket (the rate-limit step keys it by service + routeKey). */
export interface RouteRateLimit {
  /** Refill rate, requests per second (> 0). */
  readonly qps: number;
  /** Bucket size; default max(1, ceil(qps)). */
  readonly burst: number;
}

/** Overrides of the service's policy for calls that take this route. */
export interface RoutePolicy {
  /** Whole-call timeout, ms. */
  readonly timeoutMs?: number;
  readonly retry?: RouteRetry;
  readonly rateLimit?: RouteRateLimit;
}

export interface RouteSpec {
  /** Instance selector: `version` (exact, `latest`, `1.0.0+`, `1.0.0-2.0.0`), `app`, or any property. */
  readonly tags: Readonly<Record<string, string>>;
  /** 0–100; the weights of a rule sum to ≤ 100 and the remainder goes to the default selection. */
  readonly weight: number;
  readonly timeoutMs?: number;
  readonly retry?: RouteRetry;
  readonly rateLimit?: RouteRateLimit;
}

/** One rule as written (normalised, frozen): what the admin API shows and what parses back to itself. */
export interface RuleSpec {
  readonly precedence: number;
  readonly match: MatchSpec;
  readonly route: readonly RouteSpec[];
}

/**
 * Where a call goes. Decisions are built once per table and shared: `decide()` returns one of
 * them without allocating.
 */
export interface RouteDecision {
  /**
   * The subset's identity within the service: sorted `k=v` tags joined by `,`, or `*` for the
   * default selection. Two routes with the same tags share a key (and a balancer).
   */
  readonly routeKey: string;
  /** Tags the endpoints must carry; undefined = the default selection (every UP endpoint). */
  readonly tags: Readonly<Record<string, string>> | undefined;
  /** The app to look the service up in when the route's tags name one (cross-app routing). */
  readonly app?: string;
  readonly policy?: RoutePolicy;
  /** Which rule chose this route: its position in the service's precedence-sorted list; -1 = none. */
  readonly rule: number;
}

/** A problem with one config key; `issues` make the table invalid, `warnings` do not. */
export interface RouteIssue {
  readonly key: string;
  readonly message: string;
}

/** The caller's identity, for `source` / `sourceTags` (outbound: our own service). */
export interface CallerIdentity {
  readonly service: string;
  readonly version?: string;
  readonly app?: string;
  /** Service and instance properties; route `sourceTags` may select on any of them. */
  readonly properties?: Readonly<Record<string, string>>;
}

/** The request as the matcher sees it. `CallContext` satisfies this structurally. */
export interface RequestView {
  readonly method: string;
  /** Origin-form path, query included (`/a?b=1`); matchers look at the part before `?`. */
  readonly path: string;
  /** Flat `[name, value, name, value...]` list, names in any case. */
  readonly headers: readonly string[];
}
