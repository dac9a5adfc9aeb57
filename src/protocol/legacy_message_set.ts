// Message sets of magic 0 and 1 (Produce v0-2), up-converted to one RecordBatch v2.
//
// MessageSet := [offset int64, size int32, Message]
// Message    := crc uint32 (CRC-32/IEEE of the rest), magic int8, attributes int8 (codec bits 0-2,
//               timestamp type bit 3 in v1), timestamp int64 (v1 only), key bytes, value bytes.
// A compressed message carries an inner message set in its value. Every read is bounds-checked; a
// CRC mismatch or bad length is CORRUPT_MESSAGE, nesting deeper than one wrapper INVALID_RECORD.
import { decompress } from "./compression/index.ts";
import type { RecordInput } from "./record_batch.ts";
import { buildRecordBatch } from "./record_batch.ts";

export type LegacyError = { error: "CORRUPT_MESSAGE" | "INVALID_RECORD"; message: string };

const CRC32_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE), as the old message formats use. */
export function crc32(buf: Uint8Array, start = 0, end = buf.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC32_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

type Legacy = { records: RecordInput[]; codec: number; magic: number };

function parse(buf: Uint8Array, out: Legacy, depth: number): LegacyError | null {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  while (pos < buf.length) {
    if (buf.length - pos < 12) {
      return { error: "CORRUPT_MESSAGE", message: `truncated message set entry at byte ${pos}` };
    }
    const size = view.getInt32(pos + 8);
    const start = pos + 12;
    if (size < 14 || size > buf.length - start) {
      return { error: "CORRUPT_MESSAGE", message: `message size ${size} at byte ${pos} does not fit` };
    }
    const end = start + size;
    const crc = view.getUint32(start);
    if (crc32(buf, start + 4, end) !== crc) {
      return { error: "CORRUPT_MESSAGE", message: `message CRC mismatch at byte ${pos}` };
    }
    const magic = buf[start + 4];
    if (magic > 1) return { error: "CORRUPT_MESSAGE", message: `magic ${magic} inside a legacy message set` };
    const attributes = buf[start + 5];
    let p = start + 6;
    let timestamp = -1n;
    if (magic === 1) {
      if (end - p < 8) return { error: "CORRUPT_MESSAGE", message: "truncated timestamp" };
      timestamp = view.getBigInt64(p);
      p += 8;
    }
    const readBytes = (): Uint8Array | null | LegacyError => {
      if (end - p < 4) return { error: "CORRUPT_MESSAGE", message: "truncated length" };
      const len = view.getInt32(p);
      p += 4;
      if (len < 0) return null;
      if (len > end - p) return { error: "CORRUPT_MESSAGE", message: `length ${len} past the message end` };
      const b = buf.subarray(p, p + len);
      p += len;
      return b;
    };
    const key = readBytes();
    if (key !== null && !(key instanceof Uint8Array)) return key;
    const value = readBytes();
    if (value !== null && !(value instanceof Uint8Array)) return value;
    if (p !== end) return { error: "CORRUPT_MESSAGE", message: "trailing bytes in a message" };
    const codec = attributes & 0x07;
    if (codec !== 0) {
      if (depth > 0) return { error: "INVALID_RECORD", message: "nested compressed messages" };
      if (value === null) return { error: "INVALID_RECORD", message: "compressed message without a value" };
      let inner: Uint8Array;
      try {
        inner = decompress(codec, value);
      } catch (e) {
        return {
          error: "CORRUPT_MESSAGE",
          message: `cannot decompress: ${e instanceof Error ? e.message : String(e)}`,
        };
      }
      out.codec = codec;
      const err = parse(inner, out, depth + 1);
      if (err) return err;
    } else {
      out.records.push({ key, value, timestamp });
    }
    out.magic = Math.max(out.magic, magic);
    pos = end;
  }
  return null;
}

/** Converts a magic 0/1 message set into one v2 batch in the same codec, or says why not. */
export function upConvertMessageSet(buf: Uint8Array): Uint8Array | LegacyError {
  const out: Legacy = { records: [], codec: 0, magic: 0 };
  const err = parse(buf, out, 0);
  if (err) return err;
  if (out.records.length === 0) return { error: "INVALID_RECORD", message: "empty message set" };
  return buildRecordBatch({ records: out.records, codec: out.codec });
}

/** Builds a magic 0/1 message set (for tests and old-client emulation). */
export function buildMessageSet(
  magic: 0 | 1,
  records: { key: Uint8Array | null; value: Uint8Array | null; timestamp?: bigint }[],
): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const r of records) {
    const body = 2 + (magic === 1 ? 8 : 0) + 8 + (r.key?.length ?? 0) + (r.value?.length ?? 0);
    const m = new Uint8Array(12 + 4 + body);
    const v = new DataView(m.buffer);
    v.setInt32(8, 4 + body);
    m[16] = magic;
    m[17] = 0;
    let p = 18;
    if (magic === 1) {
      v.setBigInt64(p, r.timestamp ?? -1n);
      p += 8;
    }
    for (const b of [r.key, r.value]) {
      v.setInt32(p, b === null ? -1 : b.length);
      p += 4;
      if (b) {
        m.set(b, p);
        p += b.length;
      }
    }
    v.setUint32(12, crc32(m, 16, m.length));
    parts.push(m);
  }
  const total = parts.reduce((n, x) => n + x.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const x of parts) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}
