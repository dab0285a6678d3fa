/**
 * @module sidecar/telemetry/trace-context
 * Reading and writing trace context headers: W3C Trace Context (`traceparent` + `tracestate`,
 * https://www.w3.org/TR/trace-context/) and Zipkin B3, both the single `b3` header and the multi
 * `X-B3-TraceId/SpanId/ParentSpanId/Sampled/Flags` headers (https://github.com/openzipkin/b3-propagation).
 *
 * One pass over the flat `[name, value, ...]` header list finds every format; W3C wins over B3
 * single over B3 multi when several are present and valid. Invalid input is ignored (the call
 * starts a new trace), never an error: a client's bad header must not fail its request.
 */

/** The propagation formats we read and write. */
export type PropagationFormat = 'w3c' | 'b3' | 'b3multi';
export const PROPAGATION_FORMATS: readonly PropagationFormat[] = ['w3c', 'b3', 'b3multi'];

/** What an incoming request said about its trace. */
export interface ParentContext {
  /** 32 lowercase hex digits (B3's 64-bit ids are left-padded with zeros). */
  readonly traceId: string;
  /** The caller's span id, 16 lowercase hex digits. */
  readonly spanId: string;
  /** The caller's sampling decision; undefined when B3 left it to us ("defer"). */
  readonly sampled: boolean | undefined;
  /** W3C `tracestate`, passed on unchanged (bounded, see MAX_TRACESTATE). */
  readonly traceState: string | undefined;
  /** Which format it came in; we answer in the same one as well as the configured ones. */
  readonly format: PropagationFormat;
}

/** A B3 "sampling decision only" header (`b3: 0`) with no ids: honour it on a new trace. */
export interface DecisionOnly {
  readonly traceId: undefined;
  readonly sampled: boolean;
  readonly format: PropagationFormat;
}

/** Longest `tracestate` we pass on (the spec asks to propagate at least 512 characters). */
export const MAX_TRACESTATE = 1024;

const HEX = /^[0-9a-f]+$/;
const ZERO32 = '00000000000000000000000000000000';
const ZERO16 = '0000000000000000';

function isHex(s: string, len: number): boolean {
  return s.length === len && HEX.test(s);
}

/** Lowercase hex digits only, from `from` to `to` (exclusive); no allocation. */
function hexRange(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** Any digit other than '0' in the range (all-zero ids are invalid). */
function nonZero(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (s.charCodeAt(i) !== 48) return true;
  return false;
}

/**
 * Parse a W3C `traceparent` into a parent context (undefined when invalid: the header is then
 * ignored). Validates in place with char codes and slices only what it keeps.
 */
function parseW3c(value: string, traceState: string | undefined): ParentContext | undefined {
  const v = value.length === 55 ? value : value.trim();
  if (v.length < 55) return undefined;
  if (!hexRange(v, 0, 2)) return undefined;
  const version00 = v.charCodeAt(0) === 48 && v.charCodeAt(1) === 48;
  if (v.charCodeAt(0) === 102 && v.charCodeAt(1) === 102) return undefined; // version ff is forbidden
  // Version 00 is exactly 55 characters; later versions may append fields after a '-'.
  if (version00 ? v.length !== 55 : v.length > 55 && v.charCodeAt(55) !== 45) return undefined;
  if (v.charCodeAt(2) !== 45 || v.charCodeAt(35) !== 45 || v.charCodeAt(52) !== 45) return undefined;
  if (!hexRange(v, 3, 35) || !nonZero(v, 3, 35)) return undefined;
  if (!hexRange(v, 36, 52) || !nonZero(v, 36, 52)) return undefined;
  if (!hexRange(v, 53, 55)) return undefined;
  const last = v.charCodeAt(54);
  const sampled = ((last <= 57 ? last - 48 : last - 87) & 1) === 1;
  return { traceId: v.slice(3, 35), spanId: v.slice(36, 52), sampled, traceState, format: 'w3c' };
}

/** Parse a W3C `traceparent`; undefined when invalid. */
export function parseTraceparent(value: string): Omit<ParentContext, 'traceState' | 'format'> | undefined {
  const p = parseW3c(value, undefined);
  return p === undefined ? undefined : { traceId: p.traceId, spanId: p.spanId, sampled: p.sampled };
}

/** B3 trace ids are 16 or 32 hex digits; we always carry 32. */
function b3TraceId(id: string): string | undefined {
  const t = id.toLowerCase();
  if (isHex(t, 32)) return t === ZERO32 ? undefined : t;
  if (isHex(t, 16)) return t === ZERO16 ? undefined : ZERO16 + t;
  return undefined;
}

function b3SpanId(id: string): string | undefined {
  const s = id.toLowerCase();
  return isHex(s, 16) && s !== ZERO16 ? s : undefined;
}

/** `1`/`d` (debug implies sampled)/`true` → true, `0`/`false` → false, anything else → undefined. */
function b3Sampled(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const s = v.trim().toLowerCase();
  if (s === '1' || s === 'd' || s === 'true') return true;
  if (s === '0' || s === 'false') return false;
  return undefined;
}

/** Parse a single `b3` header: `{traceId}-{spanId}[-{sampling}[-{parentSpanId}]]` or just `{sampling}`. */
export function parseB3Single(value: string): ParentContext | DecisionOnly | undefined {
  const v = value.trim();
  if (v.length <= 1) {
    const sampled = b3Sampled(v);
    return sampled === undefined ? undefined : { traceId: undefined, sampled, format: 'b3' };
  }
  const parts = v.split('-');
  if (parts.length < 2 || parts.length > 4) return undefined;
  const traceId = b3TraceId(parts[0]!);
  const spanId = b3SpanId(parts[1]!);
  if (traceId === undefined || spanId === undefined) return undefined;
  let sampled: boolean | undefined;
  if (parts.length >= 3) {
    sampled = b3Sampled(parts[2]);
    if (sampled === undefined) return undefined;
  }
  if (parts.length === 4 && b3SpanId(parts[3]!) === undefined) return undefined;
  return { traceId, spanId, sampled, traceState: undefined, format: 'b3' };
}

/** The B3 multi headers found in a request (lowercase names), before validation. */
export interface B3Multi {
  traceId?: string;
  spanId?: string;
  sampled?: string;
  flags?: string;
}

export function parseB3Multi(h: B3Multi): ParentContext | DecisionOnly | undefined {
  // X-B3-Flags: 1 means debug, which implies sampled and overrides X-B3-Sampled.
  const sampled = h.flags?.trim() === '1' ? true : b3Sampled(h.sampled);
  if (h.traceId === undefined && h.spanId === undefined) {
    return sampled === undefined ? undefined : { traceId: undefined, sampled, format: 'b3multi' };
  }
  const traceId = h.traceId === undefined ? undefined : b3TraceId(h.traceId.trim());
  const spanId = h.spanId === undefined ? undefined : b3SpanId(h.spanId.trim());
  if (traceId === undefined || spanId === undefined) return undefined;
  return { traceId, spanId, sampled, traceState: undefined, format: 'b3multi' };
}

/** Lowercased names of every header this module reads or writes (removed before injecting). */
export const TRACE_HEADERS: ReadonlySet<string> = new Set([
  'traceparent',
  'tracestate',
  'b3',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
]);

/** The result of scanning request headers once. */
export interface ExtractResult {
  /** A usable parent, a bare sampling decision, or nothing. */
  readonly parent: ParentContext | DecisionOnly | undefined;
  /** Whether any trace header was present (so injection must remove it first). */
  readonly present: boolean;
  /**
   * FORMAT_BITS of every format seen, valid or not: we write those back out as well as the
   * configured ones, so an app that speaks only `b3` keeps getting `b3` on every hop.
   */
  readonly formats: number;
}

const NONE: ExtractResult = Object.freeze({ parent: undefined, present: false, formats: 0 });

/**
 * Find the caller's trace context in a flat header list. Cost when no trace header is present:
 * one lowercase-compare per header name and no allocation.
 */
export function extract(headers: readonly string[]): ExtractResult {
  let traceparent: string | undefined;
  let tracestate: string | undefined;
  let b3: string | undefined;
  let multi: B3Multi | undefined;
  let present = false;
  let formats = 0;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    // Cheap pre-filter: every trace header starts with t/T, b/B or x/X.
    const c = name.charCodeAt(0) | 0x20;
    if (c !== 0x74 && c !== 0x62 && c !== 0x78) continue;
    const lower = name.toLowerCase();
    if (!TRACE_HEADERS.has(lower)) continue;
    present = true;
    const value = headers[i + 1]!;
    if (lower.charCodeAt(0) === 0x78 /* x-b3-* */) formats |= 4;
    switch (lower) {
      case 'traceparent':
        formats |= 1;
        traceparent ??= value;
        break;
      case 'tracestate':
        // Several tracestate headers are one comma-joined list (RFC 9110 field combination).
        tracestate = tracestate === undefined ? value : `${tracestate},${value}`;
        break;
      case 'b3':
        formats |= 2;
        b3 ??= value;
        break;
      case 'x-b3-traceid':
        multi ??= {};
        multi.traceId ??= value;
        break;
      case 'x-b3-spanid':
        multi ??= {};
        multi.spanId ??= value;
        break;
      case 'x-b3-sampled':
        multi ??= {};
        multi.sampled ??= value;
        break;
      case 'x-b3-flags':
        multi ??= {};
        multi.flags ??= value;
        break;
    }
  }
  if (!present) return NONE;
  if (traceparent !== undefined) {
    const p = parseW3c(
      traceparent,
      tracestate !== undefined && tracestate.length <= MAX_TRACESTATE ? tracestate : undefined,
    );
    if (p !== undefined) return { parent: p, present, formats };
  }
  const single = b3 === undefined ? undefined : parseB3Single(b3);
  if (single !== undefined) return { parent: single, present, formats };
  return { parent: multi === undefined ? undefined : parseB3Multi(multi), present, formats };
}

/** What to write on the outgoing request: our span becomes the next hop's parent. */
export interface OutgoingContext {
  readonly traceId: string;
  readonly spanId: string;
  /** Our parent (written as B3 ParentSpanId); undefined for a root span. */
  readonly parentSpanId: string | undefined;
  readonly sampled: boolean;
  readonly traceState: string | undefined;
}

/**
 * Replace the trace headers in `headers` with `ctx` in each of `formats` (a bitmask of
 * FORMAT_BITS). Returns the same array when there was nothing to remove, else a filtered copy.
 */
export function inject(headers: string[], present: boolean, ctx: OutgoingContext, formats: number): string[] {
  let out = headers;
  if (present) {
    out = [];
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      if (!TRACE_HEADERS.has(name.toLowerCase())) out.push(name, headers[i + 1]!);
    }
  }
  const flag = ctx.sampled ? '1' : '0';
  if (formats & FORMAT_BITS.w3c) {
    out.push('traceparent', `00-${ctx.traceId}-${ctx.spanId}-0${flag}`);
    if (ctx.traceState !== undefined) out.push('tracestate', ctx.traceState);
  }
  if (formats & FORMAT_BITS.b3) {
    const parent = ctx.parentSpanId === undefined ? '' : `-${ctx.parentSpanId}`;
    out.push('b3', `${ctx.traceId}-${ctx.spanId}-${flag}${parent}`);
  }
  if (formats & FORMAT_BITS.b3multi) {
    out.push('x-b3-traceid', ctx.traceId, 'x-b3-spanid', ctx.spanId, 'x-b3-sampled', flag);
    if (ctx.parentSpanId !== undefined) out.push('x-b3-parentspanid', ctx.parentSpanId);
  }
  return out;
}

/** Formats as bits, so "configured formats plus the one that came in" is a single OR. */
export const FORMAT_BITS: Readonly<Record<PropagationFormat, number>> = Object.freeze({
  w3c: 1,
  b3: 2,
  b3multi: 4,
});

export function formatsToBits(formats: readonly PropagationFormat[]): number {
  let bits = 0;
  for (const f of formats) bits |= FORMAT_BITS[f];
  return bits;
}
