// Serializing a REST produce's JSON data with a registered schema, in Confluent's wire format (magic
// byte 0, the schema id, then the payload): Avro binary, JSON text (JSON Schema), or protobuf with
// its message indexes. Shared by REST Proxy v2 (avro, jsonschema, protobuf content types) and v3
// (schema_id / schema / subject in a record's key or value); and protobuf back to JSON for v2
// consumer instances in the protobuf format.
//
// Protobuf: the data is protobuf's JSON mapping of the schema's first message (as Confluent's proxy
// does): fields by name or lowerCamelCase JSON name, 64-bit integers as numbers or strings, bytes as
// base64, enums by name or number, nested messages, repeated fields (written unpacked, which every
// parser reads), maps. Types from referenced (imported) schemas, groups, Any and the well-known
// wrapper types are not resolved: such data is refused with a message.
import { encodeAvro } from "../broker/registry/avro.ts";
import { parseProto, type ProtoSchema } from "../broker/registry/protobuf.ts";
import { toWireFormat } from "../broker/registry/registry.ts";
import type { Services } from "../broker/services.ts";
import { base64ToBytes, bytesToBase64 } from "./base64.ts";
import { ProtoReader } from "../protocol/protobuf.ts";

/** Data that does not fit its schema (Confluent: 42203 in v2, 400 in v3). */
export class SerializeError extends Error {}

const utf8 = new TextEncoder();

/** `data` serialized with schema `id` in Confluent's wire format; `type` is what the client asked for, if anything. */
export function serializeWithSchema(svc: Services, id: number, data: unknown, type?: string): Uint8Array {
  const parsed = svc.registry.parsedById(id);
  if (type !== undefined && type !== parsed.type) {
    throw new SerializeError(`Schema ${id} is a ${parsed.type} schema, not ${type}`);
  }
  if (parsed.avro) {
    try {
      return toWireFormat(id, encodeAvro(parsed.avro, data));
    } catch (e) {
      throw new SerializeError(e instanceof Error ? e.message : String(e));
    }
  }
  if (parsed.proto) {
    // Message indexes [0] (the first message) are written as a single 0, as Confluent's serializer does.
    const payload = encodeProtoJson(parsed.proto, data);
    const out = new Uint8Array(1 + payload.length);
    out.set(payload, 1);
    return toWireFormat(id, out);
  }
  return toWireFormat(id, utf8.encode(JSON.stringify(data)));
}

/**
 * The record name a schema text declares, for the RECORD_NAME subject strategies: an Avro record's
 * full name, a protobuf schema's first message (with its package), a JSON Schema's title; null if none.
 */
export function schemaRecordName(schemaType: string, schema: string): string | null {
  try {
    if (schemaType === "PROTOBUF") {
      const p = parseProto(schema);
      const first = p.messages.keys().next().value;
      return first === undefined ? null : p.pkg ? `${p.pkg}.${first}` : first;
    }
    const o = JSON.parse(schema) as { name?: unknown; namespace?: unknown; title?: unknown };
    if (schemaType === "JSON") return typeof o.title === "string" ? o.title : null;
    if (typeof o.name !== "string") return null;
    return o.name.includes(".") || typeof o.namespace !== "string" || !o.namespace
      ? o.name
      : `${o.namespace}.${o.name}`;
  } catch {
    return null;
  }
}

// ---- protobuf from JSON ----

class Writer {
  bytes: number[] = [];
  varint(v: bigint) {
    v = BigInt.asUintN(64, v);
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
  }
  tag(field: number, wire: number) {
    this.varint(BigInt(field * 8 + wire));
  }
  raw(b: ArrayLike<number>) {
    for (let i = 0; i < b.length; i++) this.bytes.push(b[i]);
  }
  lengthDelimited(field: number, b: ArrayLike<number>) {
    this.tag(field, 2);
    this.varint(BigInt(b.length));
    this.raw(b);
  }
}

const VARINT = new Set(["int32", "int64", "uint32", "uint64", "bool"]);
const FIXED32 = new Set(["fixed32", "sfixed32", "float"]);
const FIXED64 = new Set(["fixed64", "sfixed64", "double"]);

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function integer(v: unknown, what: string): bigint {
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  if (typeof v === "string" && /^-?\d+$/.test(v)) return BigInt(v);
  throw new SerializeError(`${what} must be an integer`);
}

function number(v: unknown, what: string): number {
  if (typeof v === "number") return v;
  if (v === "NaN" || v === "Infinity" || v === "-Infinity") return Number(v);
  if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) return Number(v);
  throw new SerializeError(`${what} must be a number`);
}

/** The data's bytes as the schema's first message. */
export function encodeProtoJson(schema: ProtoSchema, data: unknown): Uint8Array {
  const first = schema.messages.keys().next().value;
  if (first === undefined) throw new SerializeError("The schema has no message");
  return new Uint8Array(message(schema, first, data, "data"));
}

/** A type name as written in a field, resolved from the scope of message `scope` outward. */
function resolve(schema: ProtoSchema, type: string, scope: string): { kind: "message" | "enum"; name: string } | null {
  let t = type.startsWith(".") ? type.slice(1) : type;
  if (schema.pkg && t.startsWith(`${schema.pkg}.`)) t = t.slice(schema.pkg.length + 1);
  const parts = scope.split(".");
  for (let n = parts.length; n >= 0; n--) {
    const name = [...parts.slice(0, n), t].join(".");
    if (schema.messages.has(name)) return { kind: "message", name };
    if (schema.enumValues.has(name)) return { kind: "enum", name };
  }
  return null;
}

function message(schema: ProtoSchema, name: string, data: unknown, what: string): number[] {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new SerializeError(`${what} must be an object (message ${name})`);
  }
  const m = schema.messages.get(name)!;
  const byName = new Map<string, { name: string; number: number; label: string; type: string }>();
  for (const f of m.fields.values()) {
    byName.set(f.name, f);
    byName.set(camel(f.name), f);
  }
  const w = new Writer();
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    const f = byName.get(k);
    if (!f) throw new SerializeError(`${what}.${k} is not a field of message ${name}`);
    if (v === null || v === undefined) continue;
    const map = /^map<\s*([\w.]+)\s*,\s*([\w.]+)\s*>$/.exec(f.type);
    if (map) {
      if (typeof v !== "object" || Array.isArray(v)) throw new SerializeError(`${what}.${k} must be an object`);
      for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) {
        const entry = new Writer();
        const key = map[1] === "bool" ? mk === "true" : mk;
        single(schema, entry, 1, map[1], key, name, `${what}.${k}["${mk}"] key`);
        single(schema, entry, 2, map[2], mv, name, `${what}.${k}["${mk}"]`);
        w.lengthDelimited(f.number, entry.bytes);
      }
    } else if (f.label === "repeated") {
      if (!Array.isArray(v)) throw new SerializeError(`${what}.${k} must be an array`);
      v.forEach((x, i) => single(schema, w, f.number, f.type, x, name, `${what}.${k}[${i}]`));
    } else single(schema, w, f.number, f.type, v, name, `${what}.${k}`);
  }
  return w.bytes;
}

function single(
  schema: ProtoSchema,
  w: Writer,
  field: number,
  type: string,
  v: unknown,
  scope: string,
  what: string,
): void {
  if (VARINT.has(type)) {
    w.tag(field, 0);
    if (type === "bool") {
      if (typeof v !== "boolean") throw new SerializeError(`${what} must be true or false`);
      w.varint(v ? 1n : 0n);
    } else w.varint(integer(v, what));
  } else if (type === "sint32" || type === "sint64") {
    const n = integer(v, what);
    w.tag(field, 0);
    w.varint(n >= 0n ? n << 1n : ((-n) << 1n) - 1n);
  } else if (FIXED32.has(type) || FIXED64.has(type)) {
    const wide = FIXED64.has(type);
    const view = new DataView(new ArrayBuffer(wide ? 8 : 4));
    if (type === "float") view.setFloat32(0, number(v, what), true);
    else if (type === "double") view.setFloat64(0, number(v, what), true);
    else if (wide) view.setBigUint64(0, BigInt.asUintN(64, integer(v, what)), true);
    else view.setUint32(0, Number(BigInt.asUintN(32, integer(v, what))), true);
    w.tag(field, wide ? 1 : 5);
    w.raw(new Uint8Array(view.buffer));
  } else if (type === "string") {
    if (typeof v !== "string") throw new SerializeError(`${what} must be a string`);
    w.lengthDelimited(field, utf8.encode(v));
  } else if (type === "bytes") {
    if (typeof v !== "string") throw new SerializeError(`${what} must be base64 text`);
    try {
      w.lengthDelimited(field, base64ToBytes(v));
    } catch {
      throw new SerializeError(`${what} is not valid base64`);
    }
  } else {
    const r = resolve(schema, type, scope);
    if (!r) throw new SerializeError(`${what}: type ${type} is not defined in the schema`);
    if (r.kind === "message") w.lengthDelimited(field, message(schema, r.name, v, what));
    else {
      const values = schema.enumValues.get(r.name)!;
      const n = typeof v === "string" ? values.get(v) : typeof v === "number" && Number.isInteger(v) ? v : undefined;
      if (n === undefined) throw new SerializeError(`${what} is not a value of enum ${r.name}`);
      w.tag(field, 0);
      w.varint(BigInt(n));
    }
  }
}

// ---- protobuf to JSON (v2 consumer instances in the protobuf format) ----

/**
 * Data serialized with protobuf schema `schema`, as protobuf's JSON mapping; `framed` is what follows
 * the schema id in Confluent's wire format (the message indexes, then the message).
 */
export function decodeProtoFramed(schema: ProtoSchema, framed: Uint8Array): unknown {
  const r = new ProtoReader(framed, framed.length, 0, (message) => new SerializeError(message));
  // Message indexes: a zigzag count then zigzag indexes; a single 0 is [0].
  const count = Number(r.zigzag());
  const path = count === 0 ? [0] : Array.from({ length: count }, () => Number(r.zigzag()));
  let scope = "";
  for (const index of path) {
    const children = [...schema.messages.keys()].filter((n) =>
      scope ? n.startsWith(`${scope}.`) && !n.slice(scope.length + 1).includes(".") : !n.includes(".")
    );
    if (index >= children.length) throw new SerializeError(`message index ${index} is not in the schema`);
    scope = children[index];
  }
  return decodeMessage(schema, scope, r, framed.length);
}

const PACKABLE = new Set([...VARINT, ...FIXED32, ...FIXED64, "sint32", "sint64"]);

function decodeMessage(schema: ProtoSchema, name: string, r: ProtoReader, end: number): Record<string, unknown> {
  const m = schema.messages.get(name)!;
  const out: Record<string, unknown> = {};
  while (r.pos < end) {
    const tag = r.varint();
    const number = Number(tag >> 3n), wire = Number(tag & 7n);
    const f = m.fields.get(number);
    const key = f ? camel(f.name) : "";
    const map = f && /^map<\s*([\w.]+)\s*,\s*([\w.]+)\s*>$/.exec(f.type);
    if (!f) r.skip(wire);
    else if (map) {
      const len = Number(r.varint());
      const stop = r.pos + len;
      let k: unknown = "", v: unknown = null;
      while (r.pos < stop) {
        const t = r.varint();
        if (Number(t >> 3n) === 1) k = scalarOrNested(schema, map[1], Number(t & 7n), r, name);
        else if (Number(t >> 3n) === 2) v = scalarOrNested(schema, map[2], Number(t & 7n), r, name);
        else r.skip(Number(t & 7n));
      }
      ((out[key] ??= {}) as Record<string, unknown>)[String(k)] = v;
    } else if (f.label === "repeated") {
      const list = (out[key] ??= []) as unknown[];
      if (wire === 2 && PACKABLE.has(f.type)) {
        const stop = r.pos + Number(r.varint());
        const wt = FIXED32.has(f.type) ? 5 : FIXED64.has(f.type) ? 1 : 0;
        while (r.pos < stop) list.push(scalarOrNested(schema, f.type, wt, r, name));
      } else list.push(scalarOrNested(schema, f.type, wire, r, name));
    } else out[key] = scalarOrNested(schema, f.type, wire, r, name);
  }
  return out;
}

function scalarOrNested(schema: ProtoSchema, type: string, wire: number, r: ProtoReader, scope: string): unknown {
  switch (type) {
    case "int32":
      return Number(BigInt.asIntN(32, r.varint()));
    case "uint32":
      return Number(BigInt.asUintN(32, r.varint()));
    case "int64":
      return String(BigInt.asIntN(64, r.varint()));
    case "uint64":
      return String(BigInt.asUintN(64, r.varint()));
    case "bool":
      return r.varint() !== 0n;
    case "sint32":
      return Number(r.zigzag());
    case "sint64":
      return String(r.zigzag());
    case "fixed32":
      return r.fixed(4).getUint32(0, true);
    case "sfixed32":
      return r.fixed(4).getInt32(0, true);
    case "float":
      return r.fixed(4).getFloat32(0, true);
    case "fixed64":
      return String(r.fixed(8).getBigUint64(0, true));
    case "sfixed64":
      return String(r.fixed(8).getBigInt64(0, true));
    case "double":
      return r.fixed(8).getFloat64(0, true);
    case "string":
      return r.string();
    case "bytes":
      return bytesToBase64(r.bytes());
  }
  const t = resolve(schema, type, scope);
  if (!t) throw new SerializeError(`type ${type} is not defined in the schema`);
  if (t.kind === "enum") {
    const n = Number(BigInt.asIntN(32, r.varint()));
    for (const [k, v] of schema.enumValues.get(t.name)!) if (v === n) return k;
    return n;
  }
  if (wire !== 2) throw new SerializeError(`field of message type ${type} has wire type ${wire}`);
  const len = Number(r.varint());
  return decodeMessage(schema, t.name, r, r.pos + len);
}
