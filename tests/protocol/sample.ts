// Generates sample values for a field table at one version: every field present at the version
// gets a non-default value (tagged fields included); nullable fields are null in the "nulls"
// variant; fields absent at the version get the default the decoder fills in, so that
// decode(encode(sample)) deep-equals sample.
import type { Field } from "../../src/protocol/schema.ts";

export type SampleOptions = {
  /** Nullable fields (present at the version) become null. */
  nulls?: boolean;
  /** Bytes fields get values >= 4096 bytes (the writer's pass-through path). */
  large?: boolean;
  seed?: number;
};

const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA";
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const inRange = (v: number, since?: number, until?: number) =>
  since !== undefined && v >= since && (until === undefined || v <= until);

function zero(f: Field): unknown {
  switch (f.type) {
    case "bool":
      return false;
    case "int64":
      return 0n;
    case "string":
      return "";
    case "uuid":
      return ZERO_UUID;
    case "bytes":
    case "records":
      return new Uint8Array(0);
    default:
      return 0;
  }
}

/** The value the decoder fills for a field that is absent at `version`. */
export function defaultFor(f: Field, version: number): unknown {
  if (f.default !== undefined) return f.default;
  if (f.array) return [];
  if (f.type === "struct") return defaultObject(f.fields ?? [], version);
  return zero(f);
}

export function defaultObject(fields: Field[], version: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of fields) o[f.name] = defaultFor(f, version);
  return o;
}

export class Sampler {
  private state: number;
  constructor(private readonly opts: SampleOptions = {}) {
    this.state = (opts.seed ?? 1) >>> 0 || 1;
  }

  private next(): number {
    // xorshift32
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }

  private int(lo: number, hi: number): number {
    return lo + (this.next() % (hi - lo + 1));
  }

  object(fields: Field[], version: number): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    for (const f of fields) {
      if (!inRange(version, f.since, f.until)) {
        o[f.name] = defaultFor(f, version);
        continue;
      }
      const nullable = inRange(version, f.nullableSince, f.nullableUntil);
      if (nullable && this.opts.nulls) {
        o[f.name] = null;
        continue;
      }
      if (f.array) {
        const n = this.int(1, 2);
        const arr: unknown[] = [];
        for (let i = 0; i < n; i++) arr.push(this.value(f, version, true));
        o[f.name] = arr;
      } else {
        o[f.name] = this.value(f, version, false);
      }
    }
    return o;
  }

  private value(f: Field, version: number, element: boolean): unknown {
    const def = element ? undefined : f.default;
    const pick = (v: unknown) => v;
    switch (f.type) {
      case "bool":
        return def === true ? false : true;
      case "int8":
        return nonDefault(this.int(-100, 100), def, 127);
      case "int16":
        return nonDefault(this.int(-30000, 30000), def, 32767);
      case "uint16":
        return nonDefault(this.int(1, 65535), def, 65535);
      case "int32":
        return nonDefault((this.next() | 0) || 7, def, 2147483647);
      case "uint32":
        return nonDefault(this.next() || 7, def, 4294967295);
      case "int64": {
        const v = (BigInt(this.next()) << 32n) | BigInt(this.next());
        return nonDefault(BigInt.asIntN(64, v) || 7n, def, 9223372036854775807n);
      }
      case "float64":
        return this.next() / 7;
      case "string": {
        const alphabet = ["a", "b", "z", "-", "_", ".", "é", "日", "€", "𝄞"];
        let s = "s";
        const n = this.int(0, 12);
        for (let i = 0; i < n; i++) s += alphabet[this.int(0, alphabet.length - 1)];
        return pick(s);
      }
      case "uuid": {
        const b = new Uint8Array(16);
        for (let i = 0; i < 16; i++) b[i] = this.next() & 0xff;
        b[0] |= 1; // never the zero uuid
        return uuidText(b);
      }
      case "bytes":
      case "records": {
        const n = this.opts.large ? 4096 + this.int(0, 100) : this.int(1, 9);
        const b = new Uint8Array(n);
        for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
        return b;
      }
      case "struct":
        return this.object(f.fields ?? [], version);
    }
  }
}

function nonDefault<T>(v: T, def: unknown, alt: T): T {
  return v === def ? alt : v;
}

function uuidText(b: Uint8Array): string {
  let bits = 0;
  let acc = 0;
  let s = "";
  for (const byte of b) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      s += B64URL[(acc >>> bits) & 63];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) s += B64URL[(acc << (6 - bits)) & 63];
  return s;
}
