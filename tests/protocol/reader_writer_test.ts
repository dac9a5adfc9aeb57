import { describe, expect, test } from "bun:test";
import { CodecError } from "../../src/protocol/errors.ts";
import { Reader } from "../../src/protocol/reader.ts";
import { concatChunks, LARGE_BYTES, utf8Length, Writer } from "../../src/protocol/writer.ts";

const bytes = (f: (w: Writer) => void) => {
  const w = new Writer(16);
  f(w);
  return concatChunks(w.finish());
};

describe("varints", () => {
  test("unsigned varint encodings", () => {
    expect(bytes((w) => w.uvarint(0))).toEqual(new Uint8Array([0]));
    expect(bytes((w) => w.uvarint(127))).toEqual(new Uint8Array([0x7f]));
    expect(bytes((w) => w.uvarint(128))).toEqual(new Uint8Array([0x80, 1]));
    expect(bytes((w) => w.uvarint(300))).toEqual(new Uint8Array([0xac, 2]));
    expect(bytes((w) => w.uvarint(0xffffffff))).toEqual(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]));
    for (const v of [0, 1, 127, 128, 16383, 16384, 2 ** 21, 2 ** 28, 2 ** 31, 0xffffffff]) {
      expect(new Reader(bytes((w) => w.uvarint(v))).uvarint()).toBe(v);
    }
  });

  test("zigzag varint and varlong", () => {
    for (const v of [0, -1, 1, -64, 63, 64, -65, 2 ** 31 - 1, -(2 ** 31)]) {
      expect(new Reader(bytes((w) => w.varint(v))).varint()).toBe(v);
    }
    expect(bytes((w) => w.varint(-1))).toEqual(new Uint8Array([1]));
    for (const v of [0n, -1n, 1n, 2n ** 63n - 1n, -(2n ** 63n), 1234567890123n]) {
      expect(new Reader(bytes((w) => w.varlong(v))).varlong()).toBe(v);
    }
  });

  test("overlong and truncated varints throw CodecError", () => {
    expect(() => new Reader(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])).uvarint()).toThrow(CodecError);
    expect(() => new Reader(new Uint8Array([0x80, 0x80])).uvarint()).toThrow(CodecError);
    expect(() => new Reader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x1f])).uvarint()).toThrow(CodecError);
    expect(() => new Reader(new Uint8Array(11).fill(0x80)).varlong()).toThrow(CodecError);
  });
});

describe("strings, bytes, uuid", () => {
  test("utf-8 strings of every width", () => {
    for (const s of ["", "a", "héllo", "日本語", "𝄞x", "x".repeat(100), "é".repeat(50)]) {
      expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
      expect(new Reader(bytes((w) => w.string(s))).string()).toBe(s);
      expect(new Reader(bytes((w) => w.compactString(s))).compactString()).toBe(s);
    }
    expect(new Reader(bytes((w) => w.nullableString(null))).nullableString()).toBeNull();
    expect(new Reader(bytes((w) => w.compactNullableString(null))).compactNullableString()).toBeNull();
    expect(() => new Reader(bytes((w) => w.nullableString(null))).string()).toThrow(CodecError);
  });

  test("bytes are zero-copy views and bounds-checked", () => {
    const buf = new Uint8Array([0, 0, 0, 3, 1, 2, 3, 9]);
    const r = new Reader(buf);
    const b = r.bytes();
    expect(b).toEqual(new Uint8Array([1, 2, 3]));
    expect(b.buffer).toBe(buf.buffer);
    expect(() => new Reader(buf, 0, 6).bytes()).toThrow(CodecError);
    expect(() => new Reader(new Uint8Array([0x7f, 0xff, 0xff, 0xff])).bytes()).toThrow(CodecError);
    expect(() => new Reader(new Uint8Array([0xff, 0xff, 0xff, 0xfe])).nullableBytes()).toThrow(CodecError);
  });

  test("uuid text round trip and validation", () => {
    for (const u of ["AAAAAAAAAAAAAAAAAAAAAA", "R29sZGVuVG9waWNJZDAxMg", "_____________________w"]) {
      expect(new Reader(bytes((w) => w.uuid(u))).uuid()).toBe(u);
    }
    expect(() => bytes((w) => w.uuid("short"))).toThrow(CodecError);
    expect(() => bytes((w) => w.uuid("!!!!!!!!!!!!!!!!!!!!!!"))).toThrow(CodecError);
  });

  test("fixed-width ints", () => {
    const b = bytes((w) => {
      w.int8(-2);
      w.int16(-300);
      w.uint16(65000);
      w.int32(-70000);
      w.uint32(4000000000);
      w.int64(-5n);
      w.float64(1.5);
      w.bool(true);
    });
    const r = new Reader(b);
    expect([r.int8(), r.int16(), r.uint16(), r.int32(), r.uint32(), r.int64(), r.float64(), r.bool()])
      .toEqual([-2, -300, 65000, -70000, 4000000000, -5n, 1.5, true]);
    expect(() => r.int8()).toThrow(CodecError);
  });

  test("reader respects offset and end", () => {
    const r = new Reader(new Uint8Array([9, 0, 0, 0, 1, 7]), 1, 5);
    expect(r.int32()).toBe(1);
    expect(() => r.int8()).toThrow(CodecError);
    expect(() => new Reader(new Uint8Array(2), 0, 3)).toThrow(CodecError);
  });
});

describe("writer chunks", () => {
  test("large bytes become their own chunk; small ones are copied", () => {
    const big = new Uint8Array(LARGE_BYTES).fill(3);
    const small = new Uint8Array(10).fill(4);
    const w = new Writer(64);
    w.int32(0);
    w.bytes(small);
    w.bytes(big);
    w.int16(7);
    const chunks = w.finish();
    expect(chunks.length).toBe(3);
    expect(chunks[1]).toBe(big);
    expect(chunks[0].length).toBe(4 + 4 + 10 + 4);
    expect(chunks[2]).toEqual(new Uint8Array([0, 7]));
  });

  test("length and patchInt32 across growth and chunks", () => {
    const w = new Writer(16);
    w.int32(0);
    for (let i = 0; i < 100; i++) w.int32(i); // forces growth
    w.raw(new Uint8Array(5000));
    w.int32(0);
    expect(w.length).toBe(4 + 400 + 5000 + 4);
    w.patchInt32(0, w.length - 4);
    w.patchInt32(4 + 400 + 5000, 99);
    expect(() => w.patchInt32(404, 1)).toThrow(CodecError); // inside the passed-through chunk
    const all = concatChunks(w.finish());
    const r = new Reader(all);
    expect(r.int32()).toBe(all.length - 4);
    expect(r.int32()).toBe(0);
    r.skip(396 + 5000);
    expect(r.int32()).toBe(99);
  });

  test("records as a chunk list: one prefix, chunks passed through", () => {
    const a = new Uint8Array([1, 2]);
    const b = new Uint8Array([3]);
    const w = new Writer();
    w.records([a, b], true);
    const chunks = w.finish();
    expect(chunks[0]).toEqual(new Uint8Array([4]));
    expect(chunks[1]).toBe(a);
    expect(chunks[2]).toBe(b);
  });
});
