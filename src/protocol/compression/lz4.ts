// lz4 (Kafka codec 3): the LZ4 frame format, as Kafka uses since KIP-57 (magic 1+).
// Block compression comes from lz4js; the frame reader, block decoder and xxHash32 are here
// because lz4js's reader does no bounds checking (a corrupt or hostile frame writes wherever its
// offsets point) and cannot bound its output.
//
// Read side accepts: linked or independent blocks, block and content checksums (the content
// checksum is verified), content size, concatenated and skippable frames, and the header
// checksum computed either correctly or the broken way older Kafka clients (pre-KIP-57 Java,
// kafka-python < 1.0) did it, hashing the magic number too. Dictionaries (FLG.DictID) are
// rejected. Write side: one frame, 64 KiB independent blocks, correct header checksum, no
// optional checksums, like Kafka's KafkaLZ4BlockOutputStream.
// @ts-types="./lz4js.d.ts"
import lz4 from "lz4js";
import { CompressionError } from "./errors.ts";

const MAGIC = 0x184d2204;
const BLOCK_SIZES: Record<number, number> = { 4: 1 << 16, 5: 1 << 18, 6: 1 << 20, 7: 1 << 22 };

const P1 = 2654435761 | 0;
const P2 = 2246822519 | 0;
const P3 = 3266489917 | 0;
const P4 = 668265263;
const P5 = 374761393;

function rd32(b: Uint8Array, p: number): number {
  return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
}

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function round(acc: number, input: number): number {
  acc = (acc + Math.imul(input, P2)) | 0;
  return Math.imul(rotl(acc, 13), P1);
}

/** xxHash32 of b[start, end). */
export function xxh32(b: Uint8Array, start = 0, end = b.length, seed = 0): number {
  let p = start;
  const len = end - start;
  let h: number;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    for (const limit = end - 16; p <= limit; p += 16) {
      v1 = round(v1, rd32(b, p));
      v2 = round(v2, rd32(b, p + 4));
      v3 = round(v3, rd32(b, p + 8));
      v4 = round(v4, rd32(b, p + 12));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + len) | 0;
  for (; p + 4 <= end; p += 4) h = Math.imul(rotl((h + Math.imul(rd32(b, p), P3)) | 0, 17), P4);
  for (; p < end; p++) h = Math.imul(rotl((h + Math.imul(b[p], P5)) | 0, 11), P1);
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}

function fail(msg: string): never {
  throw new CompressionError(`lz4: ${msg}`);
}

/** Growable output bounded by maxSize. */
type Out = { buf: Uint8Array; n: number; max: number };

function ensure(o: Out, k: number): void {
  const need = o.n + k;
  if (need <= o.buf.length) return;
  if (need > o.max) fail(`decompressed size exceeds the limit of ${o.max} bytes`);
  const next = new Uint8Array(Math.min(o.max, Math.max(need, o.buf.length * 2, 1024)));
  next.set(o.buf.subarray(0, o.n));
  o.buf = next;
}

/** Decodes one LZ4 block src[s, end) onto o; matches may reach back to `floor` (block or frame start). */
function decodeBlock(src: Uint8Array, s: number, end: number, o: Out, floor: number): void {
  while (s < end) {
    const token = src[s++];
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (s >= end) fail("truncated literal length");
        b = src[s++];
        lit += b;
      } while (b === 255);
    }
    if (lit > end - s) fail("literals overrun the block");
    ensure(o, lit);
    o.buf.set(src.subarray(s, s + lit), o.n);
    o.n += lit;
    s += lit;
    if (s === end) return; // the last sequence carries literals only
    if (s + 2 > end) fail("truncated match offset");
    const off = src[s] | (src[s + 1] << 8);
    s += 2;
    if (off === 0 || off > o.n - floor) fail(`match offset ${off} out of range`);
    let ml = token & 15;
    if (ml === 15) {
      let b: number;
      do {
        if (s >= end) fail("truncated match length");
        b = src[s++];
        ml += b;
      } while (b === 255);
    }
    ml += 4;
    ensure(o, ml);
    const buf = o.buf;
    let d = o.n;
    let from = d - off;
    if (off >= ml) {
      buf.copyWithin(d, from, from + ml);
      d += ml;
    } else {
      for (const stop = d + ml; d < stop;) buf[d++] = buf[from++];
    }
    o.n = d;
  }
}

export function lz4Decompress(data: Uint8Array, maxSize: number): Uint8Array {
  const o: Out = { buf: new Uint8Array(0), n: 0, max: maxSize };
  let p = 0;
  if (data.length === 0) fail("empty input");
  while (p < data.length) {
    if (p + 4 > data.length) fail("truncated frame magic");
    const magic = rd32(data, p) >>> 0;
    if ((magic & 0xfffffff0) === 0x184d2a50) { // skippable frame
      if (p + 8 > data.length) fail("truncated skippable frame");
      const len = rd32(data, p + 4) >>> 0;
      if (len > data.length - p - 8) fail("skippable frame overruns the input");
      p += 8 + len;
      continue;
    }
    if (magic !== MAGIC) fail(`bad frame magic 0x${magic.toString(16)}`);
    const frameStart = p;
    p += 4;
    if (p + 3 > data.length) fail("truncated frame descriptor");
    const flg = data[p];
    const bd = data[p + 1];
    if ((flg >>> 6) !== 1) fail(`unsupported frame version ${flg >>> 6}`);
    if (flg & 1) fail("dictionaries are not supported");
    const independent = (flg & 0x20) !== 0;
    const blockSum = (flg & 0x10) !== 0;
    const hasSize = (flg & 0x08) !== 0;
    const contentSum = (flg & 0x04) !== 0;
    const blockMax = BLOCK_SIZES[(bd >>> 4) & 7];
    if (blockMax === undefined) fail(`bad block size code ${(bd >>> 4) & 7}`);
    const descEnd = p + 2 + (hasSize ? 8 : 0);
    if (descEnd + 1 > data.length) fail("truncated frame descriptor");
    if (hasSize) {
      const lo = rd32(data, p + 2) >>> 0;
      const hi = rd32(data, p + 6) >>> 0;
      const size = hi * 2 ** 32 + lo;
      if (size > maxSize - o.n) fail(`declared content size ${size} exceeds the limit of ${maxSize} bytes`);
      ensure(o, size);
    }
    const hc = data[descEnd];
    if (hc !== ((xxh32(data, p, descEnd) >>> 8) & 0xff) && hc !== ((xxh32(data, frameStart, descEnd) >>> 8) & 0xff)) {
      fail("bad frame header checksum");
    }
    p = descEnd + 1;
    const outStart = o.n;
    for (;;) {
      if (p + 4 > data.length) fail("truncated block size");
      const word = rd32(data, p) >>> 0;
      p += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      if (size > blockMax) fail(`block of ${size} bytes exceeds the frame's maximum ${blockMax}`);
      if (size + (blockSum ? 4 : 0) > data.length - p) fail("block overruns the input");
      if (blockSum && (rd32(data, p + size) >>> 0) !== xxh32(data, p, p + size)) fail("bad block checksum");
      if (word & 0x80000000) {
        ensure(o, size);
        o.buf.set(data.subarray(p, p + size), o.n);
        o.n += size;
      } else {
        decodeBlock(data, p, p + size, o, independent ? o.n : outStart);
      }
      p += size + (blockSum ? 4 : 0);
    }
    if (contentSum) {
      if (p + 4 > data.length) fail("truncated content checksum");
      if ((rd32(data, p) >>> 0) !== xxh32(o.buf, outStart, o.n)) fail("bad content checksum");
      p += 4;
    }
  }
  return o.n === o.buf.length ? o.buf : o.buf.slice(0, o.n);
}

const BLOCK = 1 << 16;
let hashTable: Uint32Array | null = null;
let scratch: Uint8Array | null = null;

export function lz4Compress(data: Uint8Array): Uint8Array {
  hashTable ??= new Uint32Array(1 << 16);
  scratch ??= new Uint8Array(lz4.compressBound(BLOCK));
  const blocks = Math.ceil(data.length / BLOCK);
  const out = new Uint8Array(7 + blocks * (4 + BLOCK) + 4);
  out[0] = 0x04, out[1] = 0x22, out[2] = 0x4d, out[3] = 0x18;
  out[4] = 0x60; // version 01, independent blocks
  out[5] = 0x40; // 64 KiB blocks
  out[6] = (xxh32(out, 4, 6) >>> 8) & 0xff;
  let o = 7;
  const put32 = (v: number) => {
    out[o] = v & 0xff, out[o + 1] = (v >>> 8) & 0xff, out[o + 2] = (v >>> 16) & 0xff, out[o + 3] = v >>> 24;
    o += 4;
  };
  for (let i = 0; i < data.length; i += BLOCK) {
    const len = Math.min(BLOCK, data.length - i);
    hashTable.fill(0);
    const n = lz4.compressBlock(data, scratch, i, len, hashTable);
    if (n > 0 && n < len) {
      put32(n);
      out.set(scratch.subarray(0, n), o);
      o += n;
    } else {
      put32((0x80000000 | len) >>> 0);
      out.set(data.subarray(i, i + len), o);
      o += len;
    }
  }
  put32(0);
  return out.slice(0, o);
}
