// PostgreSQL frontend/backend protocol v3, sans-io: the messages the client sends, a framer for what
// the server sends, and binary encodings of the parameter and column types the engine uses.
// https://www.postgresql.org/docs/current/protocol-message-formats.html

export const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  varchar: 1043,
  int4Array: 1007,
  int8Array: 1016,
  byteaArray: 1001,
  textArray: 1009,
} as const;

/** A parameter value; its type comes from the OID given with the statement. */
export type PgParam =
  | null
  | string
  | number
  | bigint
  | boolean
  | Uint8Array
  | readonly (number | Uint8Array | string)[];

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Parameter bytes at least this long are sent by reference (their own chunk), not copied into the buffer. */
const BY_REFERENCE = 4096;
const BLOCK = 64 * 1024;

/**
 * Outgoing messages, written without copying what was already written: into blocks that are never reused (a
 * full one is left to the chunks that point into it and a new one started), with large byte strings (record
 * batches) kept as chunks of their own. take()/takeChunks() hand out what was written since the last take.
 */
export class MessageWriter {
  buf = new Uint8Array(BLOCK);
  len = 0;
  /** Start of the part of `buf` not yet in #chunks. */
  #from = 0;
  #chunks: Uint8Array[] = [];
  /** Bytes written since the last take (chunks and buffer together). */
  #total = 0;
  #start: { buf: Uint8Array; at: number; total: number } | null = null;

  #ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    this.#cut();
    this.buf = new Uint8Array(Math.max(BLOCK, n));
    this.len = this.#from = 0;
  }

  #cut(): void {
    if (this.len > this.#from) this.#chunks.push(this.buf.subarray(this.#from, this.len));
    this.#from = this.len;
  }

  /** Reserves an int32 to be filled in by patchLength (bytes written after it). */
  mark(): { buf: Uint8Array; at: number; total: number } {
    this.#ensure(4);
    const m = { buf: this.buf, at: this.len, total: this.#total + 4 };
    this.i32(0);
    return m;
  }

  /** Fills in a mark with the number of bytes written since it (plus `extra`). */
  patchLength(m: { buf: Uint8Array; at: number; total: number }, extra = 0): void {
    new DataView(m.buf.buffer, m.buf.byteOffset).setInt32(m.at, this.#total - m.total + extra);
  }

  /** Starts a message of `type` ("" for the untyped startup message); end() fills in its length. */
  begin(type: string): this {
    if (type !== "") this.u8(type.charCodeAt(0));
    this.#start = this.mark();
    return this;
  }

  end(): this {
    this.patchLength(this.#start!, 4); // the length counts itself
    return this;
  }

  u8(v: number): this {
    this.#ensure(1);
    this.buf[this.len++] = v;
    this.#total += 1;
    return this;
  }

  i16(v: number): this {
    this.#ensure(2);
    new DataView(this.buf.buffer).setInt16(this.len, v);
    this.len += 2;
    this.#total += 2;
    return this;
  }

  i32(v: number): this {
    this.#ensure(4);
    new DataView(this.buf.buffer).setInt32(this.len, v);
    this.len += 4;
    this.#total += 4;
    return this;
  }

  i64(v: number | bigint): this {
    this.#ensure(8);
    new DataView(this.buf.buffer).setBigInt64(this.len, BigInt(v));
    this.len += 8;
    this.#total += 8;
    return this;
  }

  /** Copies `b`, or keeps a reference to it when large: it must not change until the chunks are written. */
  bytes(b: Uint8Array): this {
    if (b.length >= BY_REFERENCE) {
      this.#cut();
      this.#chunks.push(b);
    } else {
      this.#ensure(b.length);
      this.buf.set(b, this.len);
      this.len += b.length;
    }
    this.#total += b.length;
    return this;
  }

  /** A NUL-terminated string. */
  cstr(s: string): this {
    return this.bytes(enc.encode(s)).u8(0);
  }

  /** What was written since the last take, as chunks to send in order, and starts over. */
  takeChunks(): Uint8Array[] {
    this.#cut();
    const out = this.#chunks;
    this.#chunks = [];
    this.#total = 0;
    return out;
  }

  /** What was written since the last take, in one piece (no copy unless it spans chunks). */
  take(): Uint8Array {
    const chunks = this.takeChunks();
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** Writes one parameter value (int32 length + bytes, -1 for NULL) in binary format. */
export function writeParam(w: MessageWriter, type: number, v: PgParam): void {
  if (v === null) {
    w.i32(-1);
    return;
  }
  switch (type) {
    case OID.int8:
      w.i32(8).i64(v as number | bigint);
      return;
    case OID.int4:
      w.i32(4).i32(Number(v));
      return;
    case OID.int2:
      w.i32(2).i16(Number(v));
      return;
    case OID.bool:
      w.i32(1).u8(v ? 1 : 0);
      return;
    case OID.bytea: {
      const b = v as Uint8Array;
      w.i32(b.length).bytes(b);
      return;
    }
    case OID.text:
    case OID.varchar: {
      const b = enc.encode(String(v));
      w.i32(b.length).bytes(b);
      return;
    }
    case OID.int4Array:
    case OID.int8Array:
    case OID.byteaArray:
    case OID.textArray:
      writeArray(w, type, v as readonly (number | Uint8Array | string)[]);
      return;
    default:
      throw new TypeError(`no binary encoding for parameter type ${type}`);
  }
}

const ELEMENT: Record<number, number> = {
  [OID.int4Array]: OID.int4,
  [OID.int8Array]: OID.int8,
  [OID.byteaArray]: OID.bytea,
  [OID.textArray]: OID.text,
};

/** A one-dimensional array without NULLs in the binary array format (array_send). */
function writeArray(w: MessageWriter, type: number, items: readonly (number | Uint8Array | string)[]): void {
  const length = w.mark(); // filled in below
  const elem = ELEMENT[type];
  if (items.length === 0) {
    w.i32(0).i32(0).i32(elem);
  } else {
    w.i32(1).i32(0).i32(elem).i32(items.length).i32(1);
    for (const it of items) writeParam(w, elem, it as PgParam);
  }
  w.patchLength(length);
}

/** Decodes one binary-format column value by its type OID; unknown types come back as bytes. */
export function readColumn(type: number, b: Uint8Array): unknown {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (type) {
    case OID.int8: {
      const n = v.getBigInt64(0);
      if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) return n;
      return Number(n);
    }
    case OID.int4:
    case OID.oid:
      return v.getInt32(0);
    case OID.int2:
      return v.getInt16(0);
    case OID.bool:
      return b[0] === 1;
    case OID.bytea:
      return b.slice();
    case OID.text:
    case OID.varchar:
    case 19: // name
      return dec.decode(b);
    default:
      // Any other type comes back as its bytes, copied: `b` is a view of the receive buffer, reused for later messages.
      return b.slice();
  }
}

/** Splits received bytes into backend messages (type byte, int32 length, body). */
export class MessageReader {
  #buf = new Uint8Array(0);
  #start = 0;
  #end = 0;

  /** Adds bytes; the reader copies what it has to keep. */
  push(chunk: Uint8Array): void {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end + chunk.length > this.#buf.length) {
      const live = this.#end - this.#start;
      if (live + chunk.length <= this.#buf.length) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        const next = new Uint8Array(Math.max(64 * 1024, (live + chunk.length) * 2));
        next.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = next;
      }
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** The next whole message, or null. `body` is valid until the next push(). */
  next(): { type: string; body: Uint8Array } | null {
    if (this.#end - this.#start < 5) return null;
    const len = new DataView(this.#buf.buffer, this.#start + 1, 4).getInt32(0);
    if (len < 4) throw new Error(`malformed PostgreSQL message length ${len}`);
    if (this.#end - this.#start < 1 + len) return null;
    const type = String.fromCharCode(this.#buf[this.#start]);
    const body = this.#buf.subarray(this.#start + 5, this.#start + 1 + len);
    this.#start += 1 + len;
    return { type, body };
  }
}

/** Reads the fields of an ErrorResponse / NoticeResponse (code letter → value). */
export function readFields(body: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const code = String.fromCharCode(body[i]);
    const end = body.indexOf(0, i + 1);
    out.set(code, dec.decode(body.subarray(i + 1, end)));
    i = end + 1;
  }
  return out;
}

/** A NUL-terminated string at `at`: its text and the position after the NUL. */
export function readCstr(body: Uint8Array, at: number): [string, number] {
  const end = body.indexOf(0, at);
  return [dec.decode(body.subarray(at, end)), end + 1];
}
