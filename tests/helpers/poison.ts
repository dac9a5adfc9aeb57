// Hand-made record batches for validation tests: valid CRC, records framed exactly as given, so a
// test can say "record length 2^31-1" or "3 trailing bytes" and get a batch a broker must refuse.
import { compress } from "../../src/protocol/compression/index.ts";
import { crc32c } from "../../src/protocol/crc32c.ts";

/** Raw record fields; any length may be overridden to lie about what follows. */
export type RawRecord = {
  timestampDelta?: number;
  offsetDelta?: number;
  key?: Uint8Array | null;
  value?: Uint8Array | null;
  headers?: { key: Uint8Array | null; value: Uint8Array | null }[];
  /** Overrides: written in place of the real value. */
  lengthOverride?: number;
  keyLengthOverride?: number;
  headerCountOverride?: number;
  /** Bytes appended inside the record (counted by its length). */
  extra?: Uint8Array;
};

function zigzag(out: number[], v: number): void {
  let z = ((v << 1) ^ (v >> 31)) >>> 0;
  while (z >= 0x80) {
    out.push((z & 0x7f) | 0x80);
    z >>>= 7;
  }
  out.push(z);
}

function varlong(out: number[], v: number): void {
  let z = BigInt.asUintN(64, (BigInt(v) << 1n) ^ (BigInt(v) >> 63n));
  while (z >= 0x80n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
}

function bytes(out: number[], b: Uint8Array | null, lenOverride?: number): void {
  zigzag(out, lenOverride ?? (b === null ? -1 : b.length));
  if (b !== null) out.push(...b);
}

export function encodeRawRecord(r: RawRecord, i: number): number[] {
  const body: number[] = [0];
  varlong(body, r.timestampDelta ?? 0);
  zigzag(body, r.offsetDelta ?? i);
  bytes(body, r.key === undefined ? new TextEncoder().encode(`k${i}`) : r.key, r.keyLengthOverride);
  bytes(body, r.value === undefined ? new TextEncoder().encode(`v${i}`) : r.value);
  const hs = r.headers ?? [];
  zigzag(body, r.headerCountOverride ?? hs.length);
  for (const h of hs) {
    bytes(body, h.key);
    bytes(body, h.value);
  }
  if (r.extra) body.push(...r.extra);
  const out: number[] = [];
  zigzag(out, r.lengthOverride ?? body.length);
  out.push(...body);
  return out;
}

export type RawBatchOptions = {
  records: RawRecord[];
  /** Defaults to records.length. */
  recordCount?: number;
  /** Defaults to recordCount - 1. */
  lastOffsetDelta?: number;
  baseTimestamp?: number;
  /** Defaults to baseTimestamp + the largest timestamp delta. */
  maxTimestamp?: number;
  /** Bytes after the last record, inside the batch. */
  trailing?: Uint8Array;
  codec?: number;
  producerId?: number;
};

/** A RecordBatch v2 with a valid CRC around exactly the given record bytes. */
export function rawBatch(o: RawBatchOptions): Uint8Array {
  const recs: number[] = [];
  o.records.forEach((r, i) => recs.push(...encodeRawRecord(r, i)));
  if (o.trailing) recs.push(...o.trailing);
  let payload: Uint8Array = Uint8Array.from(recs);
  if (o.codec) payload = compress(o.codec, payload);
  const count = o.recordCount ?? o.records.length;
  const base = o.baseTimestamp ?? Date.now();
  const maxDelta = Math.max(0, ...o.records.map((r) => r.timestampDelta ?? 0));
  const b = new Uint8Array(61 + payload.length);
  const v = new DataView(b.buffer);
  v.setBigInt64(0, 0n);
  v.setInt32(8, b.length - 12);
  v.setInt32(12, -1);
  b[16] = 2;
  v.setInt16(21, o.codec ?? 0);
  v.setInt32(23, o.lastOffsetDelta ?? count - 1);
  v.setBigInt64(27, BigInt(base));
  v.setBigInt64(35, BigInt(o.maxTimestamp ?? base + maxDelta));
  v.setBigInt64(43, BigInt(o.producerId ?? -1));
  v.setInt16(51, -1);
  v.setInt32(53, -1);
  v.setInt32(57, count);
  b.set(payload, 61);
  v.setUint32(17, crc32c(b, 21, b.length));
  return b;
}
