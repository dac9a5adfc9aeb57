// A reader of the protobuf wire format (varints, fixed 32/64-bit values, length-delimited fields),
// bounded to its message: the REST proxy's protobuf records (src/http/serialize.ts) and client
// telemetry's OTLP payloads (src/broker/telemetry/otlp.ts) are read through it. What it throws is
// made by the caller's `fail`, so each reports malformed data in its own terms.

const utf8 = new TextDecoder();

export class ProtoReader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    readonly end = buf.length,
    start = 0,
    readonly fail: (message: string) => Error = (message) => new Error(message),
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint, as the 64 bits it may carry (callers narrow with BigInt.asIntN / asUintN / Number). */
  varint(): bigint {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw this.fail("truncated protobuf data");
      const x = this.buf[this.pos++];
      v |= BigInt(x & 0x7f) << shift;
      if (!(x & 0x80)) return BigInt.asUintN(64, v);
    }
    throw this.fail("protobuf varint too long");
  }

  /** A zigzag-encoded varint (sint32, sint64). */
  zigzag(): bigint {
    const v = this.varint();
    return (v >> 1n) ^ -(v & 1n);
  }

  /** A field's key: its number and wire type. */
  tag(): [number, number] {
    const t = this.varint();
    return [Number(t >> 3n), Number(t & 7n)];
  }

  /** The next `n` bytes (a view, not a copy). */
  take(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.end) throw this.fail("truncated protobuf data");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The next `n` bytes as a DataView (fixed32, fixed64, float, double: little-endian). */
  fixed(n: 4 | 8): DataView {
    const b = this.take(n);
    return new DataView(b.buffer, b.byteOffset, n);
  }

  /** A length-delimited field's bytes. */
  bytes(): Uint8Array {
    return this.take(Number(this.varint()));
  }

  /** A length-delimited field as a reader of its own, bounded to it. */
  sub(): ProtoReader {
    const len = Number(this.varint());
    if (this.pos + len > this.end) throw this.fail("truncated protobuf data");
    const r = new ProtoReader(this.buf, this.pos + len, this.pos, this.fail);
    this.pos += len;
    return r;
  }

  string(): string {
    return utf8.decode(this.bytes());
  }

  /** Skips a field's value of wire type `wire`. */
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.take(8);
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.take(4);
    else throw this.fail(`unsupported protobuf wire type ${wire}`);
  }
}
