// zstd (Kafka codec 4, KIP-110).
//
// Decompression: fzstd (pure JS, sync, no wasm), driven block by block through its streaming
// decoder so the output can be capped. Before decoding, the frames are walked here to reject
// declared content sizes over the cap and window sizes that would make fzstd allocate more
// than max(cap, 8 MiB); fzstd itself accepts windows up to 2 GiB.
//
// Compression: fzstd cannot compress. The candidates that can (npm, checked for this):
// @bokuweb/zstd-wasm and @foxglove/wasm-zstd load a .wasm file from disk (breaks inside a
// `bun build --compile` binary), zstd-napi / @mongodb-js/zstd are Node-API addons (Node only),
// zstd-codec and @oneidentity/zstd-js are large Emscripten builds with Node-specific loaders.
// @hpcc-js/wasm-zstd (zstd 1.5.7, Apache-2.0) embeds its wasm in the JS and runs on Bun, Deno,
// Node and in a compiled binary, but can only be instantiated asynchronously. src/protocol never
// awaits, so: `prepareZstd()` (async; the paths that compress with zstd await it, and the first
// call loads it) instantiates it, after which `zstdCompress` is real zstd at level 3; until
// then, or if loading failed, `zstdCompress` writes valid zstd frames made of raw and RLE blocks
// (no entropy coding: correct, readable by every decoder, but not smaller than the input except
// for runs of one byte).
import { Decompress } from "fzstd";
import { Zstd } from "@hpcc-js/wasm-zstd";
import { BoundedSink, CompressionError, corrupt } from "./errors.ts";

const MAGIC = 0xfd2fb528;
const MAX_BLOCK = 128 * 1024;
const MIN_WINDOW_CAP = 8 * 1024 * 1024;

function fail(msg: string): never {
  throw new CompressionError(`zstd: ${msg}`);
}

function rd32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

function rdLE(b: Uint8Array, p: number, n: number): number {
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 256 + b[p + i];
  return v;
}

/** Walks every frame's header and block headers; throws on truncation or on sizes over the caps. */
function checkFrames(data: Uint8Array, maxSize: number): void {
  const windowCap = Math.max(maxSize, MIN_WINDOW_CAP);
  let declared = 0;
  let p = 0;
  if (data.length === 0) fail("empty input");
  while (p < data.length) {
    if (p + 4 > data.length) fail("truncated frame magic");
    const magic = rd32(data, p);
    if (((magic & 0xfffffff0) >>> 0) === 0x184d2a50) {
      if (p + 8 > data.length) fail("truncated skippable frame");
      const len = rd32(data, p + 4);
      if (len > data.length - p - 8) fail("skippable frame overruns the input");
      p += 8 + len;
      continue;
    }
    if (magic !== MAGIC) fail(`bad frame magic 0x${magic.toString(16)}`);
    if (p + 5 > data.length) fail("truncated frame header");
    const fhd = data[p + 4];
    if (fhd & 0x08) fail("reserved frame header bit set");
    const fcsFlag = fhd >>> 6;
    const single = (fhd >>> 5) & 1;
    const checksum = (fhd >>> 2) & 1;
    const dictBytes = [0, 1, 2, 4][fhd & 3];
    const fcsBytes = fcsFlag ? 1 << fcsFlag : single;
    let q = p + 5;
    const headerEnd = q + (single ? 0 : 1) + dictBytes + fcsBytes;
    if (headerEnd > data.length) fail("truncated frame header");
    let window = 0;
    if (!single) {
      const wd = data[q++];
      const base = 2 ** (10 + (wd >>> 3));
      window = base + (base / 8) * (wd & 7);
    }
    if (dictBytes && rdLE(data, q, dictBytes) !== 0) fail("dictionaries are not supported");
    q += dictBytes;
    if (fcsBytes) {
      const fcs = rdLE(data, q, fcsBytes) + (fcsFlag === 1 ? 256 : 0);
      declared += fcs;
      if (declared > maxSize) fail(`declared content size exceeds the limit of ${maxSize} bytes`);
      if (single) window = fcs;
    }
    if (window > windowCap) fail(`window of ${window} bytes exceeds the cap of ${windowCap}`);
    q = headerEnd;
    for (;;) {
      if (q + 3 > data.length) fail("truncated block header");
      const bh = data[q] | (data[q + 1] << 8) | (data[q + 2] << 16);
      const type = (bh >>> 1) & 3;
      const size = bh >>> 3;
      if (type === 3) fail("reserved block type");
      if (size > MAX_BLOCK) fail("block larger than 128 KiB");
      q += 3 + (type === 1 ? 1 : size);
      if (q > data.length) fail("truncated block");
      if (bh & 1) break;
    }
    if (checksum) q += 4;
    if (q > data.length) fail("truncated frame checksum");
    p = q;
  }
}

export function zstdDecompress(data: Uint8Array, maxSize: number): Uint8Array {
  checkFrames(data, maxSize);
  const sink = new BoundedSink(maxSize, "zstd");
  try {
    // fzstd re-emits blocks that later blocks reference, so copy nothing: chunks are fresh arrays.
    const d = new Decompress((chunk) => sink.push(chunk));
    d.push(data, true);
  } catch (e) {
    throw corrupt("zstd", e);
  }
  return sink.concat();
}

let encoder: Zstd | null = null;
let loading: Promise<void> | null = null;

/** Loads the wasm zstd encoder (about 70 ms, once). Safe to call repeatedly; never rejects. */
export function prepareZstd(): Promise<void> {
  loading ??= Zstd.load().then(
    (z) => {
      encoder = z;
    },
    () => {
      encoder = null; // keep the raw-block encoder
    },
  );
  return loading;
}

/** Whether zstdCompress is currently real zstd (true) or the raw/RLE-block fallback (false). */
export function zstdEncoderLoaded(): boolean {
  return encoder !== null;
}

export function zstdCompress(data: Uint8Array, level = 3): Uint8Array {
  if (encoder !== null) {
    try {
      return encoder.compress(data, level);
    } catch {
      // fall through to the stored encoder
    }
  }
  return zstdCompressStored(data);
}

/**
 * A valid zstd frame without entropy coding: single segment, content size in the header, then
 * blocks of at most 128 KiB, each RLE if it is one repeated byte, raw otherwise.
 */
export function zstdCompressStored(data: Uint8Array): Uint8Array {
  const n = data.length;
  let fcsFlag: number;
  let fcsBytes: number;
  if (n < 256) fcsFlag = 0, fcsBytes = 1;
  else if (n < 65536 + 256) fcsFlag = 1, fcsBytes = 2;
  else if (n < 2 ** 32) fcsFlag = 2, fcsBytes = 4;
  else fcsFlag = 3, fcsBytes = 8;
  const blocks = Math.max(1, Math.ceil(n / MAX_BLOCK));
  const out = new Uint8Array(5 + fcsBytes + blocks * 3 + n);
  out[0] = 0x28, out[1] = 0xb5, out[2] = 0x2f, out[3] = 0xfd;
  out[4] = (fcsFlag << 6) | 0x20; // single segment, no checksum, no dictionary
  let fcs = fcsFlag === 1 ? n - 256 : n;
  for (let i = 0; i < fcsBytes; i++) {
    out[5 + i] = fcs % 256;
    fcs = Math.floor(fcs / 256);
  }
  let o = 5 + fcsBytes;
  let i = 0;
  do {
    const len = Math.min(MAX_BLOCK, n - i);
    const last = i + len >= n ? 1 : 0;
    let rle = len > 1;
    for (let k = i + 1; rle && k < i + len; k++) if (data[k] !== data[i]) rle = false;
    const bh = (len << 3) | ((rle ? 1 : 0) << 1) | last;
    out[o] = bh & 0xff, out[o + 1] = (bh >>> 8) & 0xff, out[o + 2] = bh >>> 16;
    o += 3;
    if (rle) {
      out[o++] = data[i];
    } else {
      out.set(data.subarray(i, i + len), o);
      o += len;
    }
    i += len;
  } while (i < n);
  return o === out.length ? out : out.slice(0, o);
}
