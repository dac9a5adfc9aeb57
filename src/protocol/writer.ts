// Writes Kafka primitive types into one growing buffer.
// Large byte values (>= LARGE_BYTES, and every `records` chunk list) are not copied: the current
// buffer slice is closed as a chunk, the caller's Uint8Array goes out as its own chunk, and writing
// continues in the rest of the same buffer. finish() hands the chunk list to the connection.
import { CodecError } from "./errors.ts";

/** Byte values at least this long are passed through as their own chunk instead of copied. */
export const LARGE_BYTES = 4096;

const encoder = new TextEncoder();
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64INDEX[B64URL.charCodeAt(i)] = i;

/** Bytes of `s` in UTF-8 (lone surrogates count as U+FFFD, as TextEncoder writes them). */
export function utf8Length(s: string): number {
  const n = s.length;
  let len = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) len += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      len += 2; // 4 bytes for 2 UTF-16 units
      i++;
    } else len += 2;
  }
  return len;
}

/** Parses Kafka's base64url UUID text into 16 bytes at `out[o]`. */
export function uuidFromString(s: string, out: Uint8Array, o: number): void {
  if (typeof s !== "string" || s.length !== 22) throw new CodecError(`invalid uuid ${JSON.stringify(s)}`);
  let j = o;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < 22; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B64INDEX[c] : -1;
    if (v < 0) throw new CodecError(`invalid uuid ${JSON.stringify(s)}`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >>> bits) & 0xff;
    }
  }
}

export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  /** Write position in `buf`. */
  private pos = 0;
  /** Start in `buf` of the chunk being filled. */
  private start = 0;
  private chunks: Uint8Array[] = [];
  /** Bytes in `chunks`. */
  private closed = 0;
  /** Writer-owned chunks and their absolute positions, for patchInt32. */
  private ownedAt: number[] = [];
  private owned: Uint8Array[] = [];

  constructor(initialCapacity = 1024) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  /** Total bytes written so far. */
  get length(): number {
    return this.closed + this.pos - this.start;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const used = this.pos - this.start;
    const next = new Uint8Array(Math.max(this.buf.length * 2, used + n + 64));
    next.set(this.buf.subarray(this.start, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
    this.pos = used;
    this.start = 0;
  }

  private closeChunk(): void {
    if (this.pos === this.start) return;
    const c = this.buf.subarray(this.start, this.pos);
    this.ownedAt.push(this.closed);
    this.owned.push(c);
    this.chunks.push(c);
    this.closed += c.length;
    this.start = this.pos;
  }

  /** Returns the chunks written, in order. The writer must not be used afterwards. */
  finish(): Uint8Array[] {
    this.closeChunk();
    return this.chunks;
  }

  /** Overwrites 4 bytes at absolute `position` (must lie inside one writer-owned chunk). */
  patchInt32(position: number, value: number): void {
    const openAt = this.closed;
    if (position >= openAt) {
      const p = this.start + position - openAt;
      if (position < 0 || p + 4 > this.pos) throw new CodecError("patch outside written bytes");
      this.view.setInt32(p, value);
      return;
    }
    for (let i = this.owned.length - 1; i >= 0; i--) {
      const at = this.ownedAt[i];
      if (position >= at) {
        const c = this.owned[i];
        if (position + 4 > at + c.length) throw new CodecError("patch spans chunks");
        new DataView(c.buffer, c.byteOffset, c.byteLength).setInt32(position - at, value);
        return;
      }
    }
    throw new CodecError("patch outside writer-owned bytes");
  }

  int8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  int16(v: number): void {
    this.ensure(2);
    this.view.setInt16(this.pos, v);
    this.pos += 2;
  }

  uint16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }

  int32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.pos, v);
    this.pos += 4;
  }

  uint32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }

  int64(v: bigint): void {
    this.ensure(8);
    this.view.setBigInt64(this.pos, typeof v === "bigint" ? v : BigInt(v));
    this.pos += 8;
  }

  float64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }

  /** Unsigned varint, 0 .. 2^32-1. */
  uvarint(v: number): void {
    this.ensure(5);
    const b = this.buf;
    let p = this.pos;
    v = v >>> 0;
    while (v >= 0x80) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
  }

  varint(v: number): void {
    this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  varlong(v: bigint): void {
    let u = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
    this.ensure(10);
    const b = this.buf;
    let p = this.pos;
    while (u >= 0x80n) {
      b[p++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    b[p++] = Number(u);
    this.pos = p;
  }

  uuid(v: string): void {
    this.ensure(16);
    uuidFromString(v, this.buf, this.pos);
    this.pos += 16;
  }

  /** Writes UTF-8 bytes of `s`, whose byte length the caller computed. */
  private utf8(s: string, len: number): void {
    this.ensure(len);
    if (len === s.length && len <= 64) {
      const b = this.buf;
      let p = this.pos;
      for (let i = 0; i < len; i++) b[p++] = s.charCodeAt(i);
      this.pos = p;
      return;
    }
    encoder.encodeInto(s, this.buf.subarray(this.pos, this.pos + len));
    this.pos += len;
  }

  string(s: string): void {
    if (typeof s !== "string") throw new CodecError("expected a string");
    const len = utf8Length(s);
    if (len > 0x7fff) throw new CodecError("string longer than 32767 bytes");
    this.int16(len);
    this.utf8(s, len);
  }

  nullableString(s: string | null): void {
    if (s === null) this.int16(-1);
    else this.string(s);
  }

  compactString(s: string): void {
    if (typeof s !== "string") throw new CodecError("expected a string");
    const len = utf8Length(s);
    this.uvarint(len + 1);
    this.utf8(s, len);
  }

  compactNullableString(s: string | null): void {
    if (s === null) this.uvarint(0);
    else this.compactString(s);
  }

  /** Appends bytes: copied when small, passed through as a chunk when large. */
  raw(b: Uint8Array): void {
    const n = b.length;
    if (n >= LARGE_BYTES) {
      this.closeChunk();
      this.chunks.push(b);
      this.closed += n;
      return;
    }
    this.ensure(n);
    this.buf.set(b, this.pos);
    this.pos += n;
  }

  bytes(b: Uint8Array): void {
    this.int32(b.length);
    this.raw(b);
  }

  nullableBytes(b: Uint8Array | null): void {
    if (b === null) this.int32(-1);
    else this.bytes(b);
  }

  compactBytes(b: Uint8Array): void {
    this.uvarint(b.length + 1);
    this.raw(b);
  }

  compactNullableBytes(b: Uint8Array | null): void {
    if (b === null) this.uvarint(0);
    else this.compactBytes(b);
  }

  /**
   * A `records` value: one Uint8Array or a list of them (e.g. stored batches for Fetch), written
   * with one length prefix. Lists are always passed through without copying.
   */
  records(v: Uint8Array | readonly Uint8Array[] | null, compact: boolean): void {
    if (v === null) {
      if (compact) this.uvarint(0);
      else this.int32(-1);
      return;
    }
    if (v instanceof Uint8Array) {
      if (compact) this.compactBytes(v);
      else this.bytes(v);
      return;
    }
    let total = 0;
    for (const c of v) total += c.length;
    if (compact) this.uvarint(total + 1);
    else this.int32(total);
    this.closeChunk();
    for (const c of v) {
      if (c.length === 0) continue;
      this.chunks.push(c);
      this.closed += c.length;
    }
  }

  /** A tagged-field section with no fields. */
  emptyTaggedFields(): void {
    this.ensure(1);
    this.buf[this.pos++] = 0;
  }
}

/** Concatenates chunks into one Uint8Array (tests, small frames). */
export function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}
