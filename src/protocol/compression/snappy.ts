// snappy (Kafka codec 2). Raw snappy blocks come from snappyjs. Kafka's Java client (through
// snappy-java's SnappyOutputStream) and kafkajs-snappy wrap them in the "xerial" framing:
//   magic 0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00, int32 version (1), int32 min-compatible (1),
//   then [int32 BE length][raw snappy block]... each block an independent snappy stream.
// librdkafka and others may send a single raw snappy stream instead; decompression accepts
// both, compression writes the xerial framing as the Java client does (all clients read it).
// @ts-types="./snappyjs.d.ts"
import snappy from "snappyjs";
import { BoundedSink, CompressionError, corrupt } from "./errors.ts";

const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
const XERIAL_HEADER = 16;
/** snappy-java's default block size. */
const XERIAL_BLOCK = 32 * 1024;

export function isXerial(data: Uint8Array): boolean {
  if (data.length < XERIAL_HEADER) return false;
  for (let i = 0; i < 8; i++) if (data[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

/** One raw snappy stream (no framing). */
export function snappyCompressRaw(data: Uint8Array): Uint8Array {
  return snappy.compress(data);
}

/** Reads the varint preamble of a raw snappy stream: its uncompressed length, or -1. */
function rawLength(data: Uint8Array, start: number, end: number): number {
  let result = 0;
  let shift = 0;
  for (let i = start; i < end && shift < 35; i++, shift += 7) {
    const c = data[i];
    result += (c & 0x7f) * 2 ** shift;
    if ((c & 0x80) === 0) return result;
  }
  return -1;
}

function rawDecompress(data: Uint8Array, budget: number): Uint8Array {
  const n = rawLength(data, 0, data.length);
  if (n < 0) throw new CompressionError("snappy: bad length preamble");
  if (n > budget) throw new CompressionError(`snappy: decompressed size exceeds the limit (${n} > ${budget} bytes)`);
  try {
    return snappy.uncompress(data, budget);
  } catch (e) {
    throw corrupt("snappy", e);
  }
}

export function snappyDecompressRaw(data: Uint8Array, maxSize: number): Uint8Array {
  return rawDecompress(data, maxSize);
}

/** xerial framing as written by snappy-java's SnappyOutputStream. */
export function snappyCompressXerial(data: Uint8Array): Uint8Array {
  const blocks: Uint8Array[] = [];
  let total = XERIAL_HEADER;
  for (let i = 0; i < data.length; i += XERIAL_BLOCK) {
    const b = snappy.compress(data.subarray(i, Math.min(data.length, i + XERIAL_BLOCK)));
    blocks.push(b);
    total += 4 + b.length;
  }
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(XERIAL_MAGIC, 0);
  dv.setInt32(8, 1);
  dv.setInt32(12, 1);
  let o = XERIAL_HEADER;
  for (const b of blocks) {
    dv.setInt32(o, b.length);
    out.set(b, o + 4);
    o += 4 + b.length;
  }
  return out;
}

export function snappyCompress(data: Uint8Array): Uint8Array {
  return snappyCompressXerial(data);
}

/** Accepts xerial-framed or raw snappy. */
export function snappyDecompress(data: Uint8Array, maxSize: number): Uint8Array {
  if (!isXerial(data)) return rawDecompress(data, maxSize);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const sink = new BoundedSink(maxSize, "snappy");
  let p = XERIAL_HEADER;
  while (p < data.length) {
    if (p + 4 > data.length) throw new CompressionError("snappy: truncated xerial block length");
    const len = dv.getInt32(p);
    p += 4;
    if (len < 0 || p + len > data.length) {
      throw new CompressionError(`snappy: xerial block of ${len} bytes overruns the input`);
    }
    sink.push(rawDecompress(data.subarray(p, p + len), maxSize - sink.total));
    p += len;
  }
  return sink.concat();
}
