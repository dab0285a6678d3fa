/**
 * @module sidecar/egress/types
 * Egress: calling services outside the mesh through the sidecar. ./parse.ts builds a frozen
 * `EgressTable` from `egressRule.<name>` and `egress.passthrough`; ./match.ts answers, per call,
 * where an external hostname goes.
 */

export interface EgressPort {
  readonly port: number;
  /** Lower-case: `http` or `https` (TLS to the external host). */
  readonly protocol: 'http' | 'https';
}

export interface EgressRule {
  /** The `<name>` of `egressRule.<name>`; resilience policies for the call can key on it. */
  readonly name: string;
  /** Lower-case hosts; a first label `*` or `*suffix` is a wildcard of one or more characters. */
  readonly hosts: readonly string[];
  readonly ports: readonly EgressPort[];
}

export interface EgressTable {
  readonly rules: readonly EgressRule[];
  /** Unmatched hostnames go out as asked (true) or answer 404 SERVICE_NOT_FOUND (false, default). */
  readonly passthrough: boolean;
  /** Exact host → rule (the first rule, by name, that lists the host). */
  readonly exact: ReadonlyMap<string, EgressRule>;
  /** Wildcards as suffixes (`*.x.com` → `.x.com`), longest first. */
  readonly wildcards: ReadonlyArray<{ readonly suffix: string; readonly rule: EgressRule }>;
}

/** Where an external call goes. */
export interface EgressTarget {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** The rule that allowed it; undefined for passthrough. */
  readonly rule: EgressRule | undefined;
}

export interface EgressIssue {
  readonly key: string;
  readonly message: string;
}
