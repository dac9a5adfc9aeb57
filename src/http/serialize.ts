// Serializing a REST produce's JSON data with a registered schema, in Confluent's wire format (magic
// byte 0, the schema id, then the payload): Avro binary, JSON text (JSON Schema), or protobuf with
// its message indexes. Shared by REST Proxy v2 (avro, jsonschema, protobuf content types) and v3
// (schema_id / schema / subject in a record's key or value); and protobuf back to JSON for v2
// consumer instances in the protobuf format.
//
// Protobuf: the data is protobuf's JSON mapping of the schema's first message (as Confluent's proxy
// does): fields by name or lowerCamelCase JSON name, 64-bit integers as numbers or strings, bytes as
// base64, enums by name or number, nested messages, repeated fields (written unpacked, which every
// parser reads), maps; types of referenced (imported) schemas by their full names, and the well-known
// types in their JSON forms: wrappers (google.protobuf.Int32Value … as the bare value), Timestamp
// (RFC 3339 text), Duration ("1.5s"), Empty, and Any ({"@type": url, …fields}, or "value" for a
// well-known type). Groups, Struct/Value/ListValue and FieldMask are not resolved: such data is
// refused with a message.
import { encodeAvro } from "../broker/registry/avro.ts";
import { parseProto, type ProtoSchema, type ProtoTypes, protoTypes } from "../broker/registry/protobuf.ts";
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
    const payload = encodeProtoJson(parsed.proto, data, parsed.protoImports);
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

/** The fully qualified name of a schema's local message name. */
const fullName = (schema: ProtoSchema, local: string) => (schema.pkg ? `${schema.pkg}.${local}` : local);

/** The data's bytes as the schema's first message; `imports` are the schemas it references. */
export function encodeProtoJson(schema: ProtoSchema, data: unknown, imports: readonly ProtoSchema[] = []): Uint8Array {
  const first = schema.messages.keys().next().value;
  if (first === undefined) throw new SerializeError("The schema has no message");
  return new Uint8Array(message(protoTypes(schema, imports), fullName(schema, first), data, "data"));
}

/**
 * A type name as written in a field of message `scope` (fully qualified), resolved as protoc does:
 * a leading dot names it in full, else from the innermost enclosing scope (packages included) outward.
 */
function resolve(types: ProtoTypes, type: string, scope: string): { kind: "message" | "enum"; name: string } | null {
  const parts = type.startsWith(".") ? [] : scope.split(".");
  const t = type.startsWith(".") ? type.slice(1) : type;
  for (let n = parts.length; n >= 0; n--) {
    const name = [...parts.slice(0, n), t].join(".");
    if (types.messages.has(name)) return { kind: "message", name };
    if (types.enums.has(name)) return { kind: "enum", name };
  }
  return null;
}

function message(types: ProtoTypes, name: string, data: unknown, what: string): number[] {
  const known = wellKnownToProto(types, name, data, what);
  if (known !== null) return known;
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new SerializeError(`${what} must be an object (message ${name})`);
  }
  const m = types.messages.get(name)!;
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
        single(types, entry, 1, map[1], key, name, `${what}.${k}["${mk}"] key`);
        single(types, entry, 2, map[2], mv, name, `${what}.${k}["${mk}"]`);
        w.lengthDelimited(f.number, entry.bytes);
      }
    } else if (f.label === "repeated") {
      if (!Array.isArray(v)) throw new SerializeError(`${what}.${k} must be an array`);
      v.forEach((x, i) => single(types, w, f.number, f.type, x, name, `${what}.${k}[${i}]`));
    } else single(types, w, f.number, f.type, v, name, `${what}.${k}`);
  }
  return w.bytes;
}

function single(
  types: ProtoTypes,
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
    const r = resolve(types, type, scope);
    if (!r) throw new SerializeError(`${what}: type ${type} is not defined in the schema or its references`);
    if (r.kind === "message") w.lengthDelimited(field, message(types, r.name, v, what));
    else {
      const values = types.enums.get(r.name)!;
      const n = typeof v === "string" ? values.get(v) : typeof v === "number" && Number.isInteger(v) ? v : undefined;
      if (n === undefined) throw new SerializeError(`${what} is not a value of enum ${r.name}`);
      w.tag(field, 0);
      w.varint(BigInt(n));
    }
  }
}

// ---- the well-known types' JSON forms ----

/** google.protobuf wrapper message -> the scalar type of its `value` field. */
const WRAPPERS: ReadonlyMap<string, string> = new Map(
  ["Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes"].map((
    t,
  ) => [
    `google.protobuf.${t}Value`,
    t === "UInt64" || t === "UInt32" ? `u${t.slice(1).toLowerCase()}` : t.toLowerCase(),
  ]),
);
const TIMESTAMP = "google.protobuf.Timestamp";
const DURATION = "google.protobuf.Duration";
const ANY = "google.protobuf.Any";

/** Seconds and nanos as a Timestamp / Duration message. */
function secondsNanos(seconds: bigint, nanos: number): number[] {
  const w = new Writer();
  if (seconds !== 0n) {
    w.tag(1, 0);
    w.varint(seconds);
  }
  if (nanos !== 0) {
    w.tag(2, 0);
    w.varint(BigInt(nanos));
  }
  return w.bytes;
}

/** The message bytes of a well-known type's JSON form; null for any other message (an ordinary object). */
function wellKnownToProto(types: ProtoTypes, name: string, v: unknown, what: string): number[] | null {
  const scalar = WRAPPERS.get(name);
  if (scalar !== undefined) {
    const w = new Writer();
    single(types, w, 1, scalar, v, name, what);
    return w.bytes;
  }
  if (name === TIMESTAMP) {
    const m = typeof v === "string" &&
      /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i.exec(v);
    const ms = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
    if (!m || Number.isNaN(ms)) throw new SerializeError(`${what} must be an RFC 3339 timestamp`);
    return secondsNanos(BigInt(ms / 1000), Number((m[2] ?? "").padEnd(9, "0")));
  }
  if (name === DURATION) {
    const m = typeof v === "string" && /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(v);
    if (!m) throw new SerializeError(`${what} must be a duration such as "1.5s"`);
    const sign = m[1] ? -1 : 1;
    return secondsNanos(BigInt(sign) * BigInt(m[2]), sign * Number((m[3] ?? "").padEnd(9, "0")));
  }
  if (name === ANY) {
    const o = v as Record<string, unknown> | null;
    const url = typeof o === "object" && o !== null ? o["@type"] : undefined;
    if (typeof url !== "string") throw new SerializeError(`${what} must be an object with "@type" (Any)`);
    const inner = url.slice(url.lastIndexOf("/") + 1);
    if (!types.messages.has(inner)) {
      throw new SerializeError(`${what}: type ${inner} of "@type" is not defined in the schema or its references`);
    }
    const { "@type": _, ...fields } = o as Record<string, unknown>;
    const special = WRAPPERS.has(inner) || [TIMESTAMP, DURATION, ANY].includes(inner);
    const w = new Writer();
    w.lengthDelimited(1, utf8.encode(url));
    w.lengthDelimited(2, message(types, inner, special ? fields.value : fields, `${what}.value`));
    return w.bytes;
  }
  return null;
}

/** A well-known type's JSON form from its decoded fields; other messages as they are. */
function wellKnownToJson(types: ProtoTypes, name: string, fields: Record<string, unknown>): unknown {
  const scalar = WRAPPERS.get(name);
  if (scalar !== undefined) {
    if ("value" in fields) return fields.value;
    return scalar === "bool" ? false : scalar === "string" || scalar === "bytes" ? "" : /64/.test(scalar) ? "0" : 0;
  }
  if (name === TIMESTAMP || name === DURATION) {
    const seconds = BigInt(String(fields.seconds ?? "0"));
    const nanos = Number(fields.nanos ?? 0);
    // 0, 3, 6 or 9 fractional digits, as protobuf's JSON printers write them.
    const frac = (n: number) => {
      if (n === 0) return "";
      const digits = String(Math.abs(n)).padStart(9, "0");
      return `.${digits.slice(0, n % 1_000_000 === 0 ? 3 : n % 1000 === 0 ? 6 : 9)}`;
    };
    if (name === DURATION) {
      const negative = seconds < 0n || nanos < 0;
      return `${negative ? "-" : ""}${seconds < 0n ? -seconds : seconds}${frac(nanos)}s`;
    }
    const iso = new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, "");
    return `${iso}${frac(nanos)}Z`;
  }
  if (name === ANY) {
    const url = String(fields.typeUrl ?? "");
    const inner = url.slice(url.lastIndexOf("/") + 1);
    if (!types.messages.has(inner)) return fields; // an unknown type: the bytes stay base64
    const bytes = base64ToBytes(String(fields.value ?? ""));
    const r = new ProtoReader(bytes, bytes.length, 0, (message) => new SerializeError(message));
    const decoded = decodeMessage(types, inner, r, bytes.length);
    const special = WRAPPERS.has(inner) || [TIMESTAMP, DURATION, ANY].includes(inner);
    return special ? { "@type": url, value: decoded } : { "@type": url, ...(decoded as Record<string, unknown>) };
  }
  return fields;
}

// ---- protobuf to JSON (v2 consumer instances in the protobuf format) ----

/**
 * Data serialized with protobuf schema `schema`, as protobuf's JSON mapping; `framed` is what follows
 * the schema id in Confluent's wire format (the message indexes, then the message).
 */
export function decodeProtoFramed(
  schema: ProtoSchema,
  framed: Uint8Array,
  imports: readonly ProtoSchema[] = [],
): unknown {
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
  return decodeMessage(protoTypes(schema, imports), fullName(schema, scope), r, framed.length);
}

const PACKABLE = new Set([...VARINT, ...FIXED32, ...FIXED64, "sint32", "sint64"]);

/** A message's JSON mapping (a well-known type in its own JSON form). */
function decodeMessage(types: ProtoTypes, name: string, r: ProtoReader, end: number): unknown {
  const m = types.messages.get(name)!;
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
        if (Number(t >> 3n) === 1) k = scalarOrNested(types, map[1], Number(t & 7n), r, name);
        else if (Number(t >> 3n) === 2) v = scalarOrNested(types, map[2], Number(t & 7n), r, name);
        else r.skip(Number(t & 7n));
      }
      ((out[key] ??= {}) as Record<string, unknown>)[String(k)] = v;
    } else if (f.label === "repeated") {
      const list = (out[key] ??= []) as unknown[];
      if (wire === 2 && PACKABLE.has(f.type)) {
        const stop = r.pos + Number(r.varint());
        const wt = FIXED32.has(f.type) ? 5 : FIXED64.has(f.type) ? 1 : 0;
        while (r.pos < stop) list.push(scalarOrNested(types, f.type, wt, r, name));
      } else list.push(scalarOrNested(types, f.type, wire, r, name));
    } else out[key] = scalarOrNested(types, f.type, wire, r, name);
  }
  return wellKnownToJson(types, name, out);
}

function scalarOrNested(types: ProtoTypes, type: string, wire: number, r: ProtoReader, scope: string): unknown {
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
  const t = resolve(types, type, scope);
  if (!t) throw new SerializeError(`type ${type} is not defined in the schema or its references`);
  if (t.kind === "enum") {
    const n = Number(BigInt.asIntN(32, r.varint()));
    for (const [k, v] of types.enums.get(t.name)!) if (v === n) return k;
    return n;
  }
  if (wire !== 2) throw new SerializeError(`field of message type ${type} has wire type ${wire}`);
  const len = Number(r.varint());
  return decodeMessage(types, t.name, r, r.pos + len);
}
