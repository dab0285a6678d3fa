/**
 * @module sidecar/ingress/types
 * Edge gateway rules (issue 5 item 7): which mesh service an external request goes to. ./parse.ts
 * builds a frozen `IngressTable` from `mesher.ingress.rule.http` once per config version;
 * ./match.ts answers, per request, the target service and the rewritten path (query kept).
 */

export interface IngressRule {
  /** Position in `mesher.ingress.rule.http` (first match in list order wins). */
  readonly index: number;
  /**
   * Lower-case host the request must name, or undefined for any. Without a port it is compared
   * with the Host header's name part; with one (`api.example.com:8443`) with the whole authority.
   */
  readonly host: string | undefined;
  /** `apiPath`, unanchored (as in the original's Go regexp), tested on the path without the query. */
  readonly apiPath: RegExp;
  readonly service: {
    readonly name: string;
    /**
     * Replaces the whole path when set (the original's `redirectPath`); `$1`–`$9` insert the
     * apiPath's capture groups, `$$` a dollar sign.
     */
    readonly redirectPath: string | undefined;
    /** `port.value`: sent as `X-Forwarded-Port`, so the provider's sidecar picks that local port. */
    readonly port: number | undefined;
  };
}

export interface IngressTable {
  readonly rules: readonly IngressRule[];
}

/** Where one external request goes. */
export interface IngressTarget {
  readonly rule: IngressRule;
  readonly service: string;
  /** Origin-form path for the service: rewritten path plus the original query string. */
  readonly path: string;
  readonly port: number | undefined;
}

export interface IngressIssue {
  readonly key: string;
  readonly message: string;
}
