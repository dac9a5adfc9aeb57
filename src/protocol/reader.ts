// Bounds-checked reads of Kafka primitive types from a Uint8Array.
// Every read checks against `end` first and throws CodecError, so a truncated or
// hostile frame can never make us read past the frame or allocate from a bogus length.
import { CodecError } from "./errors.ts";

export { CodecError };

const decoder = new TextDecoder();
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const EMPTY = new Uint8Array(0);

function truncated(): never {
  throw new CodecError("truncated frame");
}

/** Base64url (no padding) of 16 UUID bytes, Kafka's Uuid.toString(). */
export function uuidToString(b: Uint8Array, o: number): string {
  let s = "";
  let i = o;
  for (const stop = o + 15; i < stop; i += 3) {
    const n = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    s += B64URL[n >>> 18] + B64URL[(n >>> 12) & 63] + B64URL[(n >>> 6) & 63] + B64URL[n & 63];
  }
  const last = b[i];
  return s + B64URL[last >>> 2] + B64URL[(last & 3) << 4];
}

export class Reader {
  readonly buf: Uint8Array;
  readonly view: DataView;
  pos: number;
  /** Exclusive bound; tagged-field decoding narrows it temporarily. */
  end: number;
  /**
   * Array entries the codec may still decode from this reader (all arrays, nested ones included);
   * past it decoding fails with a CodecError. Bounds the objects one small frame can make.
   */
  entryBudget = Infinity;

  constructor(buf: Uint8Array, offset = 0, end = buf.length) {
    if (offset < 0 || end > buf.length || offset > end) throw new CodecError("reader bounds out of range");
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws unless `n` more bytes are available. */
  need(n: number): void {
    if (n > this.end - this.pos) truncated();
  }

  skip(n: number): void {
    if (n < 0 || n > this.end - this.pos) truncated();
    this.pos += n;
  }

  int8(): number {
    if (this.pos >= this.end) truncated();
    return this.view.getInt8(this.pos++);
  }

  bool(): boolean {
    if (this.pos >= this.end) truncated();
    return this.buf[this.pos++] !== 0;
  }

  int16(): number {
    const p = this.pos;
    if (p + 2 > this.end) truncated();
    this.pos = p + 2;
    return this.view.getInt16(p);
  }

  uint16(): number {
    const p = this.pos;
    if (p + 2 > this.end) truncated();
    this.pos = p + 2;
    return this.view.getUint16(p);
  }

  int32(): number {
    const p = this.pos;
    if (p + 4 > this.end) truncated();
    this.pos = p + 4;
    return this.view.getInt32(p);
  }

  uint32(): number {
    const p = this.pos;
    if (p + 4 > this.end) truncated();
    this.pos = p + 4;
    return this.view.getUint32(p);
  }

  int64(): bigint {
    const p = this.pos;
    if (p + 8 > this.end) truncated();
    this.pos = p + 8;
    return this.view.getBigInt64(p);
  }

  float64(): number {
    const p = this.pos;
    if (p + 8 > this.end) truncated();
    this.pos = p + 8;
    return this.view.getFloat64(p);
  }

  /** Unsigned varint of at most 5 bytes (Kafka's readUnsignedVarint), 0 .. 2^32-1. */
  uvarint(): number {
    const b = this.buf;
    let p = this.pos;
    const end = this.end;
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (p >= end) truncated();
      const byte = b[p++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) {
        this.pos = p;
        if (value > 0xffffffff) throw new CodecError("varint too large");
        return value;
      }
    }
    throw new CodecError("varint longer than 5 bytes");
  }

  /** Zigzag varint (int32). */
  varint(): number {
    const u = this.uvarint();
    return (u >>> 1) ^ -(u & 1);
  }

  /** Zigzag varlong (int64), at most 10 bytes. */
  varlong(): bigint {
    const b = this.buf;
    let p = this.pos;
    const end = this.end;
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (p >= end) truncated();
      const byte = b[p++];
      value |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.pos = p;
        value = BigInt.asUintN(64, value);
        return (value >> 1n) ^ -(value & 1n);
      }
    }
    throw new CodecError("varlong longer than 10 bytes");
  }

  uuid(): string {
    const p = this.pos;
    if (p + 16 > this.end) truncated();
    this.pos = p + 16;
    return uuidToString(this.buf, p);
  }

  /** UTF-8 text of `len` bytes at the cursor (len already validated as >= 0). */
  utf8(len: number): string {
    const p = this.pos;
    if (len > this.end - p) truncated();
    this.pos = p + len;
    if (len === 0) return "";
    if (len <= 32) {
      // Short ASCII strings (topic names, client ids) are cheaper by hand than through TextDecoder.
      const b = this.buf;
      let s = "";
      for (let i = p; i < p + len; i++) {
        const c = b[i];
        if (c >= 0x80) return decoder.decode(b.subarray(p, p + len));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return decoder.decode(this.buf.subarray(p, p + len));
  }

  /** int16 length; -1 means null. */
  nullableString(): string | null {
    const len = this.int16();
    if (len < 0) {
      if (len === -1) return null;
      throw new CodecError(`negative string length ${len}`);
    }
    return this.utf8(len);
  }

  string(): string {
    const s = this.nullableString();
    if (s === null) throw new CodecError("null string in non-nullable field");
    return s;
  }

  /** uvarint length + 1; 0 means null. */
  compactNullableString(): string | null {
    const n = this.uvarint();
    if (n === 0) return null;
    return this.utf8(n - 1);
  }

  compactString(): string {
    const s = this.compactNullableString();
    if (s === null) throw new CodecError("null string in non-nullable field");
    return s;
  }

  /** Zero-copy view of `len` bytes at the cursor. */
  raw(len: number): Uint8Array {
    const p = this.pos;
    if (len < 0 || len > this.end - p) truncated();
    this.pos = p + len;
    return len === 0 ? EMPTY : this.buf.subarray(p, p + len);
  }

  /** int32 length; -1 means null. Returns a subarray of the input (no copy). */
  nullableBytes(): Uint8Array | null {
    const len = this.int32();
    if (len < 0) {
      if (len === -1) return null;
      throw new CodecError(`negative bytes length ${len}`);
    }
    return this.raw(len);
  }

  bytes(): Uint8Array {
    const b = this.nullableBytes();
    if (b === null) throw new CodecError("null bytes in non-nullable field");
    return b;
  }

  compactNullableBytes(): Uint8Array | null {
    const n = this.uvarint();
    if (n === 0) return null;
    return this.raw(n - 1);
  }

  compactBytes(): Uint8Array {
    const b = this.compactNullableBytes();
    if (b === null) throw new CodecError("null bytes in non-nullable field");
    return b;
  }

  /** int32 array length; -1 is null. Rejects counts larger than the bytes left. */
  arrayLength(): number {
    const n = this.int32();
    if (n < 0) {
      if (n === -1) return -1;
      throw new CodecError(`negative array length ${n}`);
    }
    if (n > this.end - this.pos) throw new CodecError(`array length ${n} exceeds frame`);
    return n;
  }

  /** uvarint length + 1; returns -1 for null. */
  compactArrayLength(): number {
    const n = this.uvarint() - 1;
    if (n > this.end - this.pos) throw new CodecError(`array length ${n} exceeds frame`);
    return n;
  }

  /** Skips a whole tagged-field section (count, then tag/size/bytes per field). */
  skipTaggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      this.skip(this.uvarint());
    }
  }
}
