// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of RecordBatch v2.
//
// Implementations:
//  - crc32cJs: slicing-by-8, tables in one Int32Array, input read 32 bits at a time through an
//    aligned Int32Array view of the caller's buffer (little-endian hosts; a byte-wise path otherwise).
//  - crc32cWasm: a generated WebAssembly module. Inputs of FOLD_MIN bytes or more are first folded
//    with v128 XORs (foldBody: a sparse multiple of the polynomial moves every 16-byte chunk but the
//    last few KiB forward, which leaves the CRC unchanged); the rest runs four lanes of the table
//    loop (wasmCrcModule). The input is first copied into the module's memory (a reused scratch
//    region, no allocation) because wasm cannot see the caller's ArrayBuffer. Without wasm SIMD
//    the module is built without the fold.
// scripts/bench_crc32c.ts measures both; `crc32c` is bound to the faster.
//
// Measured (MB/s, 1 KiB / 16 KiB / 64 KiB / 1 MiB buffers, 2-core AMD EPYC VM, old and new in one
// run):
//            js slicing-by-8             wasm, four lanes              wasm, fold + four lanes
//   Bun 1.4   1312 / 1482 / 1507 / 1501   2019 / 2526 / 2559 / 2365     2013 / 5407 / 9157 / 9834
//   Node 20   1069 / 1237 / 1247 / 1239   1718 / 2074 / 2105 / 2017     1720 / 4829 / 8203 / 9107
//   Deno 2.9  1353 / 1511 / 1502 / 1491   1672 / 2013 / 2049 / 1960     1725 / 3973 / 6015 / 6552
// (byte-at-a-time table: ~400 everywhere.) One table lane is bound by its dependency chain; four
// overlap, and are then bound by shifts, masks and table loads (about 40 instructions per 8
// bytes). The fold has no dependency on a CRC register and no table: six 16-byte loads, five XORs
// and one store per 16 bytes. The JS variant serves where WebAssembly is unavailable.

const POLY = 0x82f63b78;

/** TABLE[k * 256 + i]: CRC of byte i followed by k zero bytes. */
const TABLE = /* @__PURE__ */ makeTable();

function makeTable(): Int32Array {
  const t = new Int32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) {
    let c = t[i];
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[k * 256 + i] = c;
    }
  }
  return t;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function checkRange(buf: Uint8Array, start: number, end: number): void {
  if (!(start >= 0 && end <= buf.length && start <= end)) {
    throw new RangeError(`crc32c: range [${start}, ${end}) outside buffer of ${buf.length}`);
  }
}

/** Continues `crc` (a previous result, 0 to start) over buf[start, end). Unsigned result. */
export function crc32cJsUpdate(crc: number, buf: Uint8Array, start = 0, end = buf.length): number {
  checkRange(buf, start, end);
  const t = TABLE;
  let c = ~crc;
  let i = start;
  // Bytes up to the first 4-byte aligned address, so the word view below can exist.
  const abs = buf.byteOffset + i;
  let head = (4 - (abs & 3)) & 3;
  if (head > end - i) head = end - i;
  for (const stop = i + head; i < stop; i++) c = t[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  const words = (end - i) >>> 3 << 1;
  if (words > 0 && LITTLE_ENDIAN) {
    const w = new Int32Array(buf.buffer, buf.byteOffset + i, words);
    for (let k = 0; k < words; k += 2) {
      const a = w[k] ^ c;
      const b = w[k + 1];
      c = t[1792 + (a & 0xff)] ^ t[1536 + ((a >>> 8) & 0xff)] ^
        t[1280 + ((a >>> 16) & 0xff)] ^ t[1024 + (a >>> 24)] ^
        t[768 + (b & 0xff)] ^ t[512 + ((b >>> 8) & 0xff)] ^
        t[256 + ((b >>> 16) & 0xff)] ^ t[b >>> 24];
    }
    i += words << 2;
  }
  for (; i < end; i++) c = t[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC32C of buf[start, end) in plain JavaScript. */
export function crc32cJs(buf: Uint8Array, start = 0, end = buf.length): number {
  return crc32cJsUpdate(0, buf, start, end);
}

// crc(crc i32, ptr i32, len i32) -> i32 over memory "mem". Memory layout: the 8 slicing tables at
// [0, 8192) (table k at k * 1024, addressed through the loads' offset immediates), the 4 shift
// tables at [8192, 12288), data from WASM_DATA on.
//
// Four lanes: slicing-by-8 has one dependency chain (each 8-byte step needs the previous CRC), so
// a core runs it at about a quarter of its load throughput. The module therefore cuts the input
// into super blocks of 4 x LANE bytes and runs four independent CRCs (lane 0 continues the running
// CRC, lanes 1-3 start from 0) in one loop, then joins them: CRC is linear over GF(2), so
// crc(s, A || B) = Z(crc(s, A)) ^ crc(0, B), where Z advances a register over LANE zero bytes
// (4 lookups in the shift tables). The tail (< 4 x LANE) runs one lane, then byte by byte.
// The code is emitted by wasmCrcModule() below instead of being listed byte by byte.
const LANE = 256;
const SHIFT_TABLES = 8192;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

// Instructions both functions below are written in.
const get = (l: number) => [0x20, l];
const set = (l: number) => [0x21, l];
const tee = (l: number) => [0x22, l];
const k = (v: number) => [0x41, ...sleb(v)];
const XOR = 0x73, AND = 0x71, SHL = 0x74, SHR = 0x76, ADD = 0x6a, SUB = 0x6b;
const LTU = 0x49, GTS = 0x4a, LEU = 0x4d, EQZ = 0x45;
const block = [0x02, 0x40], loop = [0x03, 0x40], end = [0x0b];
const br = (d: number) => [0x0c, d];
const brIf = (d: number) => [0x0d, d];

function wasmCrcModule(withFold: boolean): Uint8Array<ArrayBuffer> {
  const [C0, PTR, LEN, C1, C2, C3, A, B, I] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const load = (offset: number) => [0x28, 0x02, ...uleb(offset)]; // i32.load align=4
  // T[base + byte k of v]: v's byte 0 scaled by 4, then bytes 1-3 shifted into place.
  const lookup = (v: number, byte: number, base: number) => {
    const idx = byte === 0
      ? [...get(v), ...k(255), AND, ...k(2), SHL]
      : byte === 3
      ? [...get(v), ...k(24), SHR, ...k(2), SHL]
      : [...get(v), ...k(byte * 8 - 2), SHR, ...k(1020), AND];
    return [...idx, ...load(base)];
  };
  // T[base + the byte at ptr + off]: bytes 4-7 of a step do not mix with the CRC, so they are loaded
  // as bytes (one load and a shift instead of a shift and a mask on a word).
  const byteAt = (off: number, base: number) => [...get(PTR), 0x2d, 0x00, ...uleb(off), ...k(2), SHL, ...load(base)];
  // One slicing-by-8 step of lane register `c` over the 8 bytes at ptr + off.
  const step = (c: number, off: number) => [
    ...get(PTR),
    ...load(off),
    ...get(c),
    XOR,
    ...set(A),
    ...lookup(A, 0, 7168),
    ...lookup(A, 1, 6144),
    XOR,
    ...lookup(A, 2, 5120),
    XOR,
    ...lookup(A, 3, 4096),
    XOR,
    ...byteAt(off + 4, 3072),
    XOR,
    ...byteAt(off + 5, 2048),
    XOR,
    ...byteAt(off + 6, 1024),
    XOR,
    ...byteAt(off + 7, 0),
    XOR,
    ...set(c),
  ];
  // c0 = Z(c0) ^ other
  const join = (other: number) => [
    ...lookup(C0, 0, SHIFT_TABLES),
    ...lookup(C0, 1, SHIFT_TABLES + 1024),
    XOR,
    ...lookup(C0, 2, SHIFT_TABLES + 2048),
    XOR,
    ...lookup(C0, 3, SHIFT_TABLES + 3072),
    XOR,
    ...get(other),
    XOR,
    ...set(C0),
  ];
  const body = [
    ...uleb(1),
    ...uleb(6),
    0x7f, // 6 more i32 locals: c1 c2 c3 a b i
    ...get(C0),
    ...k(-1),
    XOR,
    ...set(C0),
    // four lanes over super blocks of 4 * LANE bytes
    ...block,
    ...loop,
    ...get(LEN),
    ...k(4 * LANE),
    LTU,
    ...brIf(1),
    ...k(0),
    ...set(C1),
    ...k(0),
    ...set(C2),
    ...k(0),
    ...set(C3),
    ...k(LANE),
    ...set(I),
    ...loop,
    ...step(C0, 0),
    ...step(C1, LANE),
    ...step(C2, 2 * LANE),
    ...step(C3, 3 * LANE),
    ...get(PTR),
    ...k(8),
    ADD,
    ...set(PTR),
    ...get(I),
    ...k(8),
    SUB,
    ...tee(I),
    ...brIf(0),
    ...end,
    ...join(C1),
    ...join(C2),
    ...join(C3),
    ...get(PTR),
    ...k(3 * LANE),
    ADD,
    ...set(PTR),
    ...get(LEN),
    ...k(4 * LANE),
    SUB,
    ...set(LEN),
    ...br(0),
    ...end,
    ...end,
    // one lane, 8 bytes at a time
    ...block,
    ...loop,
    ...get(LEN),
    ...k(8),
    LTU,
    ...brIf(1),
    ...step(C0, 0),
    ...get(PTR),
    ...k(8),
    ADD,
    ...set(PTR),
    ...get(LEN),
    ...k(8),
    SUB,
    ...set(LEN),
    ...br(0),
    ...end,
    ...end,
    // bytes
    ...block,
    ...loop,
    ...get(LEN),
    EQZ,
    ...brIf(1),
    ...get(C0),
    ...get(PTR),
    0x2d,
    0x00,
    0x00,
    XOR,
    ...k(255),
    AND,
    ...k(2),
    SHL,
    ...load(0), // T0[(c ^ byte) & 255]
    ...get(C0),
    ...k(8),
    SHR,
    XOR,
    ...set(C0),
    ...get(PTR),
    ...k(1),
    ADD,
    ...set(PTR),
    ...get(LEN),
    ...k(1),
    SUB,
    ...set(LEN),
    ...br(0),
    ...end,
    ...end,
    ...get(C0),
    ...k(-1),
    XOR,
    ...end,
  ];
  const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
  const name = (s: string) => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
  const fn = (code: number[]) => [...uleb(code.length), ...code];
  const fold = withFold ? foldBody() : [];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    // types: 0 (i32, i32, i32) -> i32, 1 (i32, i32) -> i32
    ...section(1, [2, 0x60, 3, 0x7f, 0x7f, 0x7f, 1, 0x7f, 0x60, 2, 0x7f, 0x7f, 1, 0x7f]),
    ...section(3, withFold ? [2, 0, 1] : [1, 0]),
    ...section(5, [1, 0x00, 1]), // one memory, min 1 page
    ...section(7, [
      withFold ? 3 : 2,
      ...name("crc"),
      0x00,
      0,
      ...name("mem"),
      0x02,
      0,
      ...(withFold ? [...name("fold"), 0x00, 1] : []),
    ]),
    ...section(10, [withFold ? 2 : 1, ...fn(body), ...(withFold ? fn(fold) : [])]),
  ]);
}

// fold(ptr, len) -> residual start, over the data at [ptr, ptr + len) (len >= FOLD_MIN), with the
// FOLD_PAD bytes below ptr zero. CRC is the message polynomial modulo P, so any multiple Q of P can
// reduce the message first: with Q = 1 + x^(128 e_1) + ... + x^(128 d) (FOLD_TERMS), each 16-byte
// chunk of degree >= 128 d is replaced by copies of itself XORed 16 * (d - e) bytes further on,
// which leaves the CRC unchanged. Every chunk but the last d or so is folded that way, then the
// table loop runs over the rest. v128 loads, XORs and stores do 16 bytes per step with no table
// and no dependency on a CRC register (Chorba-style reduction; no carry-less multiply is
// reachable from wasm). The fold pulls: chunk j = its input ^ the final chunks j - o for each
// offset o (zeros below ptr), then the chunks past the folded region take the pushes of the last
// folded chunks.
function foldBody(): number[] {
  const [PTR, LEN, B, END, I] = [0, 1, 2, 3, 4];
  const vload = (off: number) => [0xfd, 0x00, 0x04, ...uleb(off)];
  const vstore = (off: number) => [0xfd, 0x0b, 0x04, ...uleb(off)];
  const VXOR = [0xfd, ...uleb(0x51)];
  const top = FOLD_OFFSETS[FOLD_OFFSETS.length - 1] * 16;
  const pull = (at: number) => [
    ...get(B),
    ...get(B),
    ...vload(top + at),
    ...FOLD_OFFSETS.flatMap((o) => [...get(B), ...vload(top + at - o * 16), ...VXOR]),
    ...vstore(top + at),
  ];
  const code = [
    ...uleb(1),
    ...uleb(3),
    0x7f, // b end i
    // end: the last folded chunk, 16 * (floor(len / 16) - 1 - d) past ptr
    ...get(PTR),
    ...get(LEN),
    ...k(-16),
    AND,
    ...k(16 + top),
    SUB,
    ADD,
    ...set(END),
    // pull: b runs top bytes below the chunk being made
    ...get(PTR),
    ...k(top),
    SUB,
    ...set(B),
    // two chunks a step while both fit (no offset is 1, so they do not depend on each other), then one
    ...block,
    ...loop,
    ...get(B),
    ...get(END),
    ...k(top + 16),
    SUB,
    GTS,
    ...brIf(1),
    ...pull(0),
    ...pull(16),
    ...get(B),
    ...k(32),
    ADD,
    ...set(B),
    ...br(0),
    ...end,
    ...end,
    ...block,
    ...get(B),
    ...get(END),
    ...k(top),
    SUB,
    GTS,
    ...brIf(0),
    ...pull(0),
    ...end,
    // push into the chunks past end: for offset o, from the chunks end - o + 1 .. end
    ...FOLD_OFFSETS.flatMap((o) => [
      ...get(END),
      ...k(o * 16 - 16),
      SUB,
      ...set(I),
      ...loop,
      ...get(I),
      ...get(I),
      ...vload(o * 16),
      ...get(I),
      ...vload(0),
      ...VXOR,
      ...vstore(o * 16),
      ...get(I),
      ...k(16),
      ADD,
      ...set(I),
      ...get(I),
      ...get(END),
      LEU,
      ...brIf(0),
      ...end,
    ]),
    ...get(END),
    ...k(16),
    ADD,
    ...end,
  ];
  return code;
}

/** SHIFT[k * 256 + i]: register i << 8k advanced over LANE zero bytes (built from the 32 unit vectors). */
function makeShiftTables(): Int32Array {
  const unit = new Int32Array(32);
  for (let bit = 0; bit < 32; bit++) {
    let c = 1 << bit;
    for (let n = 0; n < LANE; n++) c = TABLE[c & 0xff] ^ (c >>> 8);
    unit[bit] = c;
  }
  const t = new Int32Array(4 * 256);
  for (let k = 0; k < 4; k++) {
    for (let i = 0; i < 256; i++) {
      let v = 0;
      for (let bit = 0; bit < 8; bit++) if (i & (1 << bit)) v ^= unit[k * 8 + bit];
      t[k * 256 + i] = v;
    }
  }
  return t;
}

// Q = 1 + x^(128 * 14) + x^(128 * 39) + x^(128 * 54) + x^(128 * 144) + x^(128 * 209), a multiple
// of the CRC32C polynomial (found by scripts/crc_fold_relation.ts; tests/protocol/crc32c_test.ts
// checks it), as the offsets in 16-byte chunks that each folded chunk is XORed into: 209 - e.
const FOLD_OFFSETS = [65, 155, 170, 195, 209];
const FOLD_PAD = 16 * FOLD_OFFSETS[FOLD_OFFSETS.length - 1];
/** Below this many bytes the table loop alone is faster than folding and then running it. */
const FOLD_MIN = 4 * FOLD_PAD;
const WASM_DATA = 16384;
// The fold reads FOLD_PAD bytes below the data as zeros: nothing may live there.
if (SHIFT_TABLES + 4096 > WASM_DATA - FOLD_PAD) throw new Error("crc32c: the wasm tables overlap the fold's zero pad");

type WasmCrc = {
  crc: (crc: number, ptr: number, len: number) => number;
  fold?: (ptr: number, len: number) => number;
  mem: WebAssembly.Memory;
  /** A view of mem, renewed when it grows. */
  bytes: Uint8Array;
};
let wasm: WasmCrc | null | undefined;

/** The module built and its tables filled; throws where WebAssembly (or its SIMD, withFold) is unavailable. */
function instantiate(withFold: boolean): WasmCrc {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(wasmCrcModule(withFold)), {});
  const ex = inst.exports as unknown as WasmCrc;
  const bytes = new Uint8Array(ex.mem.buffer);
  const put = (at: number, t: Int32Array) => {
    for (let i = 0; i < t.length; i++) {
      const v = t[i];
      bytes[at + i * 4] = v & 0xff;
      bytes[at + i * 4 + 1] = (v >>> 8) & 0xff;
      bytes[at + i * 4 + 2] = (v >>> 16) & 0xff;
      bytes[at + i * 4 + 3] = v >>> 24;
    }
  };
  put(0, TABLE);
  put(SHIFT_TABLES, makeShiftTables());
  return { crc: ex.crc, fold: ex.fold, mem: ex.mem, bytes };
}

function loadWasm(): WasmCrc | null {
  if (wasm !== undefined) return wasm;
  try {
    try {
      wasm = instantiate(true);
    } catch {
      wasm = instantiate(false); // no wasm SIMD here: the table loop alone
    }
  } catch {
    wasm = null; // no WebAssembly (or a restricted one): the JS path serves
  }
  return wasm;
}

/** Whether the wasm variant folds with SIMD here (see foldBody). */
export function crc32cWasmFolds(): boolean {
  return loadWasm()?.fold !== undefined;
}

/** The fold's relation, for its test: offsets in 16-byte chunks (see FOLD_OFFSETS). */
export const CRC32C_FOLD_OFFSETS: readonly number[] = FOLD_OFFSETS;

/** The wasm variant built without the SIMD fold, as on a runtime without wasm SIMD (for tests). */
export function crc32cWasmWithoutFold(): (buf: Uint8Array, start?: number, end?: number) => number {
  const w = instantiate(false);
  return (buf, start = 0, end = buf.length) => wasmCrc(w, buf, start, end);
}

/** Whether the WebAssembly variant can run here. */
export function crc32cWasmAvailable(): boolean {
  return loadWasm() !== null;
}

/** CRC32C of buf[start, end) computed by the embedded wasm module (copies input into its memory, 1 MiB at a time). */
export function crc32cWasm(buf: Uint8Array, start = 0, end = buf.length): number {
  const w = loadWasm();
  if (w === null) return crc32cJsUpdate(0, buf, start, end);
  return wasmCrc(w, buf, start, end);
}

function wasmCrc(w: WasmCrc, buf: Uint8Array, start: number, end: number): number {
  checkRange(buf, start, end);
  const CHUNK = 1 << 20;
  let crc = 0;
  for (let i = start; i < end; i += CHUNK) {
    const n = Math.min(CHUNK, end - i);
    if (w.bytes.length < WASM_DATA + n) {
      w.mem.grow(Math.ceil((WASM_DATA + n - w.bytes.length) / 65536));
      w.bytes = new Uint8Array(w.mem.buffer);
    }
    const mem = w.bytes;
    mem.set(buf.subarray(i, i + n), WASM_DATA);
    if (n >= FOLD_MIN && w.fold !== undefined) {
      // The register (~crc) goes into the first 4 bytes; the fold leaves a residue whose CRC from
      // a zero register is the whole range's.
      const r = ~crc;
      mem[WASM_DATA] ^= r;
      mem[WASM_DATA + 1] ^= r >>> 8;
      mem[WASM_DATA + 2] ^= r >>> 16;
      mem[WASM_DATA + 3] ^= r >>> 24;
      const rest = w.fold(WASM_DATA, n);
      crc = w.crc(-1, rest, WASM_DATA + n - rest) >>> 0;
    } else {
      crc = w.crc(crc, WASM_DATA, n) >>> 0;
    }
  }
  return crc;
}

/** CRC32C (Castagnoli) of buf[start, end), unsigned. The faster of the variants above. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  return crc32cWasm(buf, start, end);
}
