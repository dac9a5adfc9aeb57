// The shared protobuf wire reader (src/protocol/protobuf.ts): varints to 64 bits, zigzag, fixed
// values, bounded sub-messages, skipping, and the caller's error for truncated or overlong data.
import { describe, expect, test } from "bun:test";
import { ProtoReader } from "../../src/protocol/protobuf.ts";

const bytes = (...b: number[]) => new Uint8Array(b);
class Bad extends Error {}
const reader = (b: Uint8Array) => new ProtoReader(b, b.length, 0, (m) => new Bad(m));

describe("ProtoReader", () => {
  test("varints: small, 64-bit, and int64 -1 (ten bytes)", () => {
    expect(reader(bytes(0x96, 0x01)).varint()).toBe(150n);
    const minus1 = reader(bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01));
    const v = minus1.varint();
    expect(v).toBe(0xffffffffffffffffn);
    expect(BigInt.asIntN(64, v)).toBe(-1n);
    expect(minus1.done).toBe(true);
  });

  test("zigzag, tag, fixed values, strings", () => {
    const r = reader(bytes(0x03, 0x08, 0x0a, 0x02, 0x68, 0x69, 0x00, 0x00, 0x80, 0x3f));
    expect(r.zigzag()).toBe(-2n);
    expect(r.tag()).toEqual([1, 0]);
    expect(r.tag()).toEqual([1, 2]);
    expect(r.string()).toBe("hi");
    expect(r.fixed(4).getFloat32(0, true)).toBe(1);
    expect(r.done).toBe(true);
  });

  test("a sub-message is bounded to its length; skipping each wire type", () => {
    const r = reader(bytes(0x02, 0x08, 0x01, 0x05));
    const sub = r.sub();
    expect(sub.tag()).toEqual([1, 0]);
    expect(sub.varint()).toBe(1n);
    expect(sub.done).toBe(true);
    expect(r.varint()).toBe(5n);
    const s = reader(bytes(0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0x02, 0xaa, 0xbb, 1, 2, 3, 4));
    s.skip(0);
    s.skip(1);
    s.skip(2);
    s.skip(5);
    expect(s.done).toBe(true);
  });

  test("truncated, overlong and unknown wire types throw the caller's error", () => {
    expect(() => reader(bytes(0x80)).varint()).toThrow(Bad);
    expect(() => reader(bytes(0x05, 0x01)).sub()).toThrow("truncated protobuf data");
    expect(() => reader(bytes(0x01, 0x02)).fixed(4)).toThrow(Bad);
    expect(() => reader(new Uint8Array(11).fill(0x80)).varint()).toThrow("protobuf varint too long");
    expect(() => reader(bytes()).skip(3)).toThrow("unsupported protobuf wire type 3");
    // A sub-reader stops at its own end, not the buffer's.
    const r = reader(bytes(0x01, 0x80, 0x01));
    expect(() => r.sub().varint()).toThrow(Bad);
  });
});
