import { describe, expect, test } from "bun:test";
import {
  crc32c,
  CRC32C_FOLD_OFFSETS,
  crc32cJs,
  crc32cJsUpdate,
  crc32cWasm,
  crc32cWasmAvailable,
  crc32cWasmFolds,
  crc32cWasmWithoutFold,
} from "../../src/protocol/crc32c.ts";

const enc = (s: string) => new TextEncoder().encode(s);

// Reference: bit-at-a-time, straight from the definition.
function slow(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe("crc32c", () => {
  test("known vectors (RFC 3720 B.4 and the usual check value)", () => {
    for (const f of [crc32c, crc32cJs, crc32cWasm]) {
      expect(f(enc("123456789"))).toBe(0xe3069283);
      expect(f(new Uint8Array(0))).toBe(0);
      expect(f(new Uint8Array(32))).toBe(0x8a9136aa);
      expect(f(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
      expect(f(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
      expect(f(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    }
  });

  test("wasm variant is available here", () => {
    expect(crc32cWasmAvailable()).toBe(true);
  });

  test("all variants agree with the bitwise definition at every length and alignment", () => {
    const big = Uint8Array.from({ length: 300 }, (_, i) => (i * 2654435761) >>> 24);
    for (let start = 0; start < 8; start++) {
      for (let len = 0; len < 70; len++) {
        const want = slow(big.subarray(start, start + len));
        expect(crc32cJs(big, start, start + len)).toBe(want);
        expect(crc32cWasm(big, start, start + len)).toBe(want);
        expect(crc32c(big.subarray(start), 0, len)).toBe(want);
      }
    }
  });

  test("large and chunk-crossing inputs (wasm memory grows, chunks chain)", () => {
    const n = (1 << 20) * 2 + 12345;
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = (i * 40503) >>> 7;
    const want = crc32cJs(b);
    expect(crc32cWasm(b)).toBe(want);
    expect(crc32cWasm(b, 3, n - 5)).toBe(crc32cJs(b, 3, n - 5));
    // incremental form
    expect(crc32cJsUpdate(crc32cJs(b, 0, 1000), b, 1000)).toBe(want);
  });

  test("wasm lanes: lengths around the 4 x 256-byte super block agree with the JS variant", () => {
    const b = Uint8Array.from({ length: 5000 }, (_, i) => (i * 2654435761) >>> 19);
    for (const len of [1023, 1024, 1025, 1031, 1032, 2047, 2048, 2056, 3072, 4095, 4096, 4104, 4999]) {
      for (const start of [0, 1, 3]) {
        if (start + len > b.length) continue;
        expect(crc32cWasm(b, start, start + len)).toBe(crc32cJs(b, start, start + len));
      }
    }
  });

  test("the fold's relation is a multiple of the polynomial", () => {
    // x^(128 e) mod P in normal bit order, for the terms 1 + sum of x^(128 (d - o)).
    const P = 0x1edc6f41;
    const xPow = (n: number) => {
      let v = 1;
      for (let i = 0; i < n; i++) v = v & 0x80000000 ? ((v << 1) ^ P) >>> 0 : (v << 1) >>> 0;
      return v;
    };
    const d = CRC32C_FOLD_OFFSETS[CRC32C_FOLD_OFFSETS.length - 1];
    let sum = xPow(128 * d);
    for (const o of CRC32C_FOLD_OFFSETS) sum ^= xPow(128 * (d - o));
    expect(sum >>> 0).toBe(0);
  });

  test("wasm fold: lengths around its threshold and chunk grid, any alignment, chained chunks", () => {
    expect(crc32cWasmFolds()).toBe(true); // every runtime we ship on has wasm SIMD
    const pad = 16 * CRC32C_FOLD_OFFSETS[CRC32C_FOLD_OFFSETS.length - 1];
    const b = Uint8Array.from({ length: 12 * pad + 64 }, (_, i) => (i * 2654435761) >>> 21);
    const lens = [
      4 * pad - 1,
      4 * pad,
      4 * pad + 1,
      4 * pad + 15,
      4 * pad + 16,
      4 * pad + 17,
      5 * pad + 7,
      8 * pad,
      12 * pad,
    ];
    for (const len of lens) {
      for (const start of [0, 1, 5, 16, 31]) {
        expect(crc32cWasm(b, start, start + len)).toBe(crc32cJs(b, start, start + len));
      }
    }
    // all zeros and all ones (the register folded into the first bytes matters)
    for (const fill of [0, 0xff]) {
      const z = new Uint8Array(65536).fill(fill);
      expect(crc32cWasm(z)).toBe(crc32cJs(z));
    }
    // the scratch memory below the data stays zero across calls: same answer twice, then after a short one
    const once = crc32cWasm(b);
    crc32cWasm(b, 0, 100);
    expect(crc32cWasm(b)).toBe(once);
    expect(once).toBe(slow(b));
  });

  test("wasm without the fold (runtimes without wasm SIMD) agrees too", () => {
    const f = crc32cWasmWithoutFold();
    const b = Uint8Array.from({ length: 70000 }, (_, i) => (i * 40503) >>> 7);
    for (const len of [0, 9, 1024, 4099, 65536, 69999]) expect(f(b, 1, 1 + len)).toBe(crc32cJs(b, 1, 1 + len));
    expect(f(enc("123456789"))).toBe(0xe3069283);
  });

  test("range outside the buffer throws RangeError", () => {
    const b = new Uint8Array(10);
    expect(() => crc32c(b, 0, 11)).toThrow(RangeError);
    expect(() => crc32cJs(b, -1, 5)).toThrow(RangeError);
    expect(() => crc32c(b, 6, 5)).toThrow(RangeError);
  });
});
