/**
 * @module registry/storage/etcd-codec
 * Pure translation between the Store's shapes and etcd v3's wire shapes (the etcd3 client's
 * protobuf objects): namespaced keys, prefix range ends, KeyValue decoding and Txn building.
 *
 * Key layout: every Store key starts with `/` and lives in etcd at `<namespace><key>`
 * (`/cse-sr/ms/files/default/default/abc` → `/mesher/cse-sr/ms/files/default/default/abc`). The
 * backend owns exactly the etcd range `<namespace>/`, so namespaces that share a prefix
 * (`/mesher` and `/mesher-b`) never see each other's keys.
 */
import type { ICompare, IKeyValue, IRequestOp, ITxnRequest } from 'etcd3';
import type { Compare, KeyValue, Op, TxnRequest } from './types.ts';
import { StoreError } from './types.ts';

/** Normalise a namespace: no trailing `/`, empty allowed (keys then live at their own name). */
export function normalizeNamespace(ns: string): string {
  const n = ns.replace(/\/+$/, '');
  if (n !== '' && !n.startsWith('/'))
    throw new StoreError('INVALID_ARGUMENT', `namespace must start with "/": ${ns}`);
  return n;
}

/** The smallest key greater than every key starting with `prefix` (etcd's prefix range_end). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // all 0xff: the range runs to the end of the keyspace
}

export class KeyCodec {
  /** The etcd prefix this store owns: `<namespace>/`. */
  readonly root: Buffer;
  readonly rootEnd: Buffer;
  readonly #ns: string;

  constructor(namespace: string) {
    this.#ns = normalizeNamespace(namespace);
    this.root = Buffer.from(`${this.#ns}/`);
    this.rootEnd = prefixEnd(this.root);
  }

  /** etcd key of a Store key; Store keys must start with `/`. */
  key(key: string): Buffer {
    if (!key.startsWith('/')) throw new StoreError('INVALID_ARGUMENT', `store keys start with "/": ${key}`);
    return Buffer.from(this.#ns + key);
  }

  /** etcd [key, range_end) of a Store prefix, or null when no Store key can match it. */
  prefix(prefix: string): { key: Buffer; range_end: Buffer } | null {
    if (prefix === '') return { key: this.root, range_end: this.rootEnd };
    if (!prefix.startsWith('/')) return null;
    const key = Buffer.from(this.#ns + prefix);
    return { key, range_end: prefixEnd(key) };
  }

  /** Store key of an etcd key in our range, or undefined for anything else. */
  unkey(key: Buffer): string | undefined {
    if (
      key.length < this.root.length ||
      key.compare(this.root, 0, this.root.length, 0, this.root.length) !== 0
    )
      return undefined;
    return key.toString('utf8', this.#ns.length);
  }

  /** Decode an etcd KeyValue (revisions are int64 strings; safe as numbers below 2^53). */
  kv(raw: IKeyValue): KeyValue | undefined {
    const key = this.unkey(raw.key);
    if (key === undefined) return undefined;
    return {
      key,
      value: raw.value ? raw.value.toString('utf8') : '',
      createRevision: Number(raw.create_revision),
      modRevision: Number(raw.mod_revision),
      version: Number(raw.version),
      lease: Number(raw.lease),
    };
  }

  compare(c: Compare): ICompare {
    const result = ({ '=': 'Equal', '!=': 'NotEqual', '>': 'Greater', '<': 'Less' } as const)[c.op];
    const key = this.key(c.key);
    switch (c.target) {
      case 'version':
        return { key, result, target: 'Version', version: c.value };
      case 'modRevision':
        return { key, result, target: 'Mod', mod_revision: c.value };
      case 'value':
        // etcd: a value compare on a missing key is always false, as in the embedded store.
        return { key, result, target: 'Value', value: Buffer.from(c.value) };
    }
  }

  op(op: Op): IRequestOp | null {
    switch (op.type) {
      case 'put':
        return { request_put: { key: this.key(op.key), value: Buffer.from(op.value), lease: op.lease ?? 0 } };
      case 'delete':
        return { request_delete_range: { key: this.key(op.key) } };
      case 'deletePrefix': {
        const r = this.prefix(op.prefix);
        return r ? { request_delete_range: r } : null;
      }
    }
  }

  txn(req: TxnRequest): ITxnRequest {
    const ops = (list: Op[] | undefined) =>
      (list ?? []).map((o) => this.op(o)).filter((o): o is IRequestOp => o !== null);
    return {
      compare: (req.compare ?? []).map((c) => this.compare(c)),
      success: ops(req.success),
      failure: ops(req.failure),
    };
  }
}

/** Whether a txn's branch can have written (puts always write; deletes only if they matched). */
export function txnWrote(
  responses: ReadonlyArray<{ response_put?: unknown; response_delete_range?: { deleted: string } }>,
): boolean {
  return responses.some(
    (r) =>
      r.response_put != null ||
      (r.response_delete_range != null && Number(r.response_delete_range.deleted) > 0),
  );
}
