// Request values generated from the generated message tables (src/protocol/messages/): random but
// well-formed for the codec at a given version, so every request the fuzzer sends decodes, and what
// a handler does with it is the handler's business. Seeded (mulberry32); the same seed and key give
// the same value.
import { encodeVersionedData, ZERO_UUID } from "../../src/protocol/codec.ts";
import { buildMessageSet } from "../../src/protocol/legacy_message_set.ts";
import {
  ConsumerProtocolAssignmentSchema,
  ConsumerProtocolSubscriptionSchema,
} from "../../src/protocol/messages/consumer_protocol.ts";
import { buildRecordBatch, type RecordInput } from "../../src/protocol/record_batch.ts";
import type { Field } from "../../src/protocol/schema.ts";
import { concatChunks } from "../../src/protocol/writer.ts";

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** [0, 1) */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256);
    return b;
  }
}

/** A 32-bit seed from several numbers (FNV-1a over their decimal forms). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const c of parts.join(":")) {
    h ^= c.charCodeAt(0);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Names the broker knows, so that generated requests reach past "unknown topic/group". */
export type Hints = { strings: string[]; uuids: string[]; int64s: bigint[]; int32s: number[] };

const INT_BOUNDS: Record<string, number[]> = {
  int8: [-128, 127, -1, -2, 0, 1],
  int16: [-32768, 32767, -1, -2, 0, 1],
  uint16: [0, 1, 65535, 65534],
  int32: [-2147483648, 2147483647, -1, -2, 0, 1],
  uint32: [0, 1, 4294967295, 4294967294],
};
const INT_RANGE: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};
const INT64_BOUNDS = [-(2n ** 63n), 2n ** 63n - 1n, -1n, -2n, 0n, 1n, 2n ** 31n, -(2n ** 31n) - 1n];
const FLOATS = [
  0,
  -0,
  1,
  -1,
  0.5,
  1e300,
  -1e300,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  Infinity,
  -Infinity,
  NaN,
  2 ** 53,
  100,
  1e9,
];
const UNICODE = [
  "é",
  "ß",
  "日本",
  "🦀",
  "𝄞",
  "\u0000",
  "\u200b",
  "Ω",
  "\uffff",
  "ش",
  "\n",
  "\t",
  " ",
  "/",
  ".",
  "..",
  "*",
  "%",
  "\\",
];
const ASCII = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";

/** Keeps one request under a few hundred KB: arrays and long values draw from it. */
type Budget = { left: number };

export class Gen {
  constructor(private rng: Rng, private hints: Hints) {}

  request(fields: readonly Field[], version: number): Record<string, unknown> {
    return this.struct(fields, version, { left: 200_000 }, 0);
  }

  private struct(fields: readonly Field[], version: number, budget: Budget, depth: number): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    for (const f of fields) {
      if (version < f.since || (f.until !== undefined && version > f.until)) continue;
      o[f.name] = this.field(f, version, budget, depth);
    }
    return o;
  }

  private nullable(f: Field, version: number): boolean {
    return f.nullableSince !== undefined && version >= f.nullableSince &&
      (f.nullableUntil === undefined || version <= f.nullableUntil);
  }

  private field(f: Field, version: number, budget: Budget, depth: number): unknown {
    const r = this.rng;
    if (this.nullable(f, version) && r.chance(0.15)) return null;
    if (f.array) {
      const roll = r.next();
      let n = roll < 0.25 ? 0 : roll < 0.8 ? r.int(1, 3) : roll < 0.95 ? r.int(4, 20) : r.int(20, 200);
      if (depth > 2) n = Math.min(n, 3);
      const out: unknown[] = [];
      for (let i = 0; i < n && budget.left > 0; i++) out.push(this.one(f, version, budget, depth + 1));
      return out;
    }
    return this.one(f, version, budget, depth);
  }

  private one(f: Field, version: number, budget: Budget, depth: number): unknown {
    const r = this.rng;
    budget.left -= 8;
    switch (f.type) {
      case "struct":
        return this.struct(f.fields ?? [], version, budget, depth);
      case "bool":
        return r.chance(0.5);
      case "int8":
      case "int16":
      case "uint16":
      case "int32":
      case "uint32": {
        const roll = r.next();
        if (roll < 0.1 && f.type === "int32" && this.hints.int32s.length) return r.pick(this.hints.int32s);
        if (roll < 0.3) return r.pick(INT_BOUNDS[f.type]);
        const [lo, hi] = INT_RANGE[f.type];
        if (roll < 0.75) return Math.max(lo, Math.min(hi, r.int(-3, 10)));
        return r.int(lo, hi);
      }
      case "int64": {
        const roll = r.next();
        if (roll < 0.15 && this.hints.int64s.length) return r.pick(this.hints.int64s);
        if (roll < 0.3) return r.pick(INT64_BOUNDS);
        if (roll < 0.7) return BigInt(r.int(-3, 10));
        if (roll < 0.85) return BigInt(Date.now() + r.int(-1e9, 1e9));
        return BigInt.asIntN(64, (BigInt(r.int(0, 2 ** 31)) << 33n) ^ BigInt(r.int(0, 2 ** 31)));
      }
      case "float64":
        return r.chance(0.5) ? r.pick(FLOATS) : (r.next() - 0.5) * 10 ** r.int(0, 12);
      case "uuid":
        return this.uuid();
      case "string":
        return this.string(budget);
      case "bytes":
        return this.bytes(f, budget);
      case "records":
        return this.records(budget);
    }
  }

  /** A request header's client id (nullable string). */
  clientId(): string | null {
    return this.rng.chance(0.1) ? null : this.string({ left: 10_000 });
  }

  uuid(): string {
    const r = this.rng;
    const roll = r.next();
    if (roll < 0.25) return ZERO_UUID;
    if (roll < 0.6 && this.hints.uuids.length) return r.pick(this.hints.uuids);
    return base64url(r.bytes(16));
  }

  string(budget: Budget): string {
    const r = this.rng;
    const roll = r.next();
    if (roll < 0.4 && this.hints.strings.length) return r.pick(this.hints.strings);
    if (roll < 0.5) return "";
    const len = roll < 0.93 ? r.int(1, 24) : r.int(200, 4000);
    budget.left -= len * 2;
    let s = "";
    const uni = r.chance(0.3);
    while (s.length < len) s += uni && r.chance(0.4) ? r.pick(UNICODE) : ASCII[r.int(0, ASCII.length - 1)];
    return s;
  }

  private bytes(f: Field, budget: Budget): Uint8Array {
    const r = this.rng;
    const roll = r.next();
    // Consumer-protocol payloads (JoinGroup metadata, SyncGroup assignment) as real clients send them.
    if (roll < 0.3 && f.name === "metadata") {
      return encodeVersionedData(ConsumerProtocolSubscriptionSchema, r.int(0, 3), {
        topics: [this.string(budget), this.string(budget)],
        userData: r.chance(0.5) ? null : r.bytes(r.int(0, 8)),
        ownedPartitions: [{ topic: this.string(budget), partitions: [r.int(-1, 3)] }],
        generationId: r.int(-1, 5),
        rackId: r.chance(0.5) ? null : this.string(budget),
      });
    }
    if (roll < 0.3 && f.name === "assignment") {
      return encodeVersionedData(ConsumerProtocolAssignmentSchema, r.int(0, 3), {
        assignedPartitions: [{ topic: this.string(budget), partitions: [r.int(-1, 3), r.int(0, 3)] }],
        userData: r.chance(0.5) ? null : r.bytes(r.int(0, 8)),
      });
    }
    if (roll < 0.5) return new Uint8Array(0);
    const n = roll < 0.95 ? r.int(1, 64) : r.int(100, 4000);
    budget.left -= n;
    return r.bytes(n);
  }

  /** Random bytes, one or more valid v2 batches (any codec, idempotent/transactional/control), or a legacy message set. */
  private records(budget: Budget): Uint8Array {
    const r = this.rng;
    const roll = r.next();
    if (roll < 0.1) return new Uint8Array(0);
    if (roll < 0.3) {
      const n = r.chance(0.9) ? r.int(1, 200) : r.int(1000, 8000);
      budget.left -= n;
      return r.bytes(n);
    }
    if (roll < 0.38) {
      return buildMessageSet(r.chance(0.5) ? 0 : 1, [{
        key: r.chance(0.5) ? null : r.bytes(3),
        value: r.bytes(r.int(0, 20)),
        timestamp: BigInt(Date.now()),
      }]);
    }
    const batches: Uint8Array[] = [];
    const nb = r.chance(0.8) ? 1 : r.int(2, 3);
    for (let i = 0; i < nb; i++) {
      const records: RecordInput[] = [];
      const nr = r.chance(0.1) ? 0 : r.int(1, r.chance(0.9) ? 5 : 100);
      for (let j = 0; j < nr; j++) {
        records.push({
          key: r.chance(0.3) ? null : r.bytes(r.int(0, 16)),
          value: r.chance(0.1) ? null : r.bytes(r.int(0, r.chance(0.95) ? 64 : 2000)),
          headers: r.chance(0.2) ? [{ key: this.string(budget), value: r.chance(0.5) ? null : r.bytes(4) }] : [],
          timestamp: r.chance(0.8) ? Date.now() + r.int(-1000, 1000) : r.pick([-1, 0, 2 ** 50]),
        });
      }
      const idem = r.chance(0.3);
      const txn = idem && r.chance(0.3);
      let b: Uint8Array;
      try {
        b = buildRecordBatch({
          records,
          codec: r.chance(0.7) ? 0 : r.int(1, 4),
          producerId: idem ? r.pick([0, 1, 1000, 2 ** 40]) : -1,
          producerEpoch: idem ? r.int(0, 3) : -1,
          baseSequence: idem ? r.pick([0, 1, 5, 2147483647]) : -1,
          transactional: txn,
          control: txn && r.chance(0.1),
          timestampType: r.chance(0.1) ? 1 : 0,
          baseOffset: r.chance(0.9) ? 0 : r.pick([5, -1, 2 ** 40]),
        });
      } catch {
        b = buildRecordBatch({ records });
      }
      batches.push(b);
      budget.left -= b.length;
    }
    return concatChunks(batches);
  }
}

function base64url(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** JSON for a failure report: bigints as strings, byte arrays by length. */
export function describe(v: unknown): string {
  const s = JSON.stringify(
    v,
    (_k, x) => typeof x === "bigint" ? `${x}n` : x instanceof Uint8Array ? `<${x.length} bytes>` : x,
  );
  return s.length > 2000 ? s.slice(0, 2000) + "…" : s;
}
