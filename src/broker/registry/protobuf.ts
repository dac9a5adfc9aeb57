// Protobuf schemas (.proto text, proto2 or proto3) for the schema registry: a small parser of the
// declarations that matter to compatibility (package, messages and nested messages, fields with
// their number, label and type, map fields, oneofs, enums) and the checks Confluent applies to them
// for every compatibility level (the rules are symmetric): a message removed, a field's kind or
// scalar type changed outside the wire-compatible groups (int32/uint32/int64/uint64/bool,
// sint32/sint64, fixed32/sfixed32, fixed64/sfixed64, string/bytes), a field's message or enum type
// renamed, repeated vs singular changed, a field moved into an existing oneof or several into a new
// one, the package changed. Adding and removing fields is compatible, as in protobuf itself.

export class ProtobufSchemaError extends Error {}

type Field = { name: string; number: number; label: string; type: string; oneof: string | null };
type Message = { name: string; fields: Map<number, Field>; oneofs: Set<string> };
export type ProtoMessage = Message;
export type ProtoSchema = {
  syntax: string;
  pkg: string;
  messages: Map<string, Message>;
  /** Enum full name -> value name -> number (for serializing JSON, REST Proxy's protobuf produce). */
  enumValues: Map<string, Map<string, number>>;
};

const SCALARS = new Set([
  "double",
  "float",
  "int32",
  "int64",
  "uint32",
  "uint64",
  "sint32",
  "sint64",
  "fixed32",
  "fixed64",
  "sfixed32",
  "sfixed64",
  "bool",
  "string",
  "bytes",
]);
const GROUPS = [
  ["int32", "uint32", "int64", "uint64", "bool"],
  ["sint32", "sint64"],
  ["fixed32", "sfixed32"],
  ["fixed64", "sfixed64"],
  ["string", "bytes"],
];

function tokens(text: string): string[] {
  const noComments = text.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/[^\n]*/g, " ");
  return noComments.match(
    /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[A-Za-z_][\w.]*|\.[\w.]+|-?\d[\w.+-]*|[{}\[\]()<>=;,:]/g,
  ) ??
    [];
}

/** Parses .proto text; throws ProtobufSchemaError on what it cannot read. */
export function parseProto(text: string): ProtoSchema {
  const t = tokens(text);
  let i = 0;
  const peek = () => t[i];
  const next = () => {
    if (i >= t.length) throw new ProtobufSchemaError("Invalid schema: unexpected end of .proto text");
    return t[i++];
  };
  const expect = (s: string) => {
    const got = next();
    if (got !== s) throw new ProtobufSchemaError(`Invalid schema: expected '${s}', found '${got}'`);
  };
  const skipStatement = () => {
    let depth = 0;
    while (i < t.length) {
      const x = next();
      if (x === "{") depth++;
      else if (x === "}") {
        depth--;
        if (depth <= 0) return;
      } else if (x === ";" && depth === 0) return;
    }
  };
  const out: ProtoSchema = { syntax: "proto2", pkg: "", messages: new Map(), enumValues: new Map() };
  const parseEnum = (full: string) => {
    const values = new Map<string, number>();
    out.enumValues.set(full, values);
    expect("{");
    while (peek() !== "}") {
      const x = next();
      if (x === ";") continue;
      if (x === "option" || x === "reserved") {
        i--;
        skipStatement();
        continue;
      }
      expect("=");
      const n = Number(next());
      if (peek() === "[") { while (next() !== "]"); }
      expect(";");
      values.set(x, n);
    }
    expect("}");
  };
  const parseMessage = (prefix: string) => {
    const name = next();
    const full = prefix ? `${prefix}.${name}` : name;
    const m: Message = { name: full, fields: new Map(), oneofs: new Set() };
    out.messages.set(full, m);
    expect("{");
    const body = (oneof: string | null) => {
      while (peek() !== "}") {
        const x = peek();
        if (x === undefined) throw new ProtobufSchemaError("Invalid schema: unclosed message");
        if (x === "message") {
          next();
          parseMessage(full);
        } else if (x === "enum") {
          next();
          parseEnum(`${full}.${next()}`);
        } else if (x === "oneof") {
          next();
          const o = next();
          m.oneofs.add(o);
          expect("{");
          body(o);
          expect("}");
        } else if (["option", "reserved", "extensions", "extend"].includes(x)) {
          skipStatement();
        } else if (x === ";") {
          next();
        } else {
          let label = "optional";
          if (["repeated", "optional", "required"].includes(x)) label = next();
          let type = next();
          if (type === "map") {
            expect("<");
            const k = next();
            expect(",");
            const v = next();
            expect(">");
            type = `map<${k},${v}>`;
            label = "repeated";
          } else if (type === "group") {
            throw new ProtobufSchemaError("Invalid schema: groups are not supported");
          }
          const fname = next();
          expect("=");
          const num = Number(next());
          if (!Number.isInteger(num) || num <= 0) {
            throw new ProtobufSchemaError(`Invalid schema: bad field number for ${fname}`);
          }
          if (m.fields.has(num)) {
            throw new ProtobufSchemaError(`Invalid schema: field number ${num} used twice in ${full}`);
          }
          if (peek() === "[") { while (next() !== "]"); }
          expect(";");
          m.fields.set(num, { name: fname, number: num, label, type, oneof });
        }
      }
    };
    body(null);
    expect("}");
  };
  while (i < t.length) {
    const x = next();
    if (x === "syntax" || x === "edition") {
      expect("=");
      out.syntax = next().replace(/["']/g, "");
      expect(";");
    } else if (x === "package") {
      out.pkg = next();
      expect(";");
    } else if (x === "message") parseMessage("");
    else if (x === "enum") {
      parseEnum(next());
    } else if (x === ";") continue;
    else if (["import", "option", "service", "extend"].includes(x)) skipStatement();
    else throw new ProtobufSchemaError(`Invalid schema: unexpected '${x}'`);
  }
  if (out.messages.size === 0) throw new ProtobufSchemaError("Invalid schema: no message definition");
  return out;
}

/** A text without comments and with whitespace folded, to recognise a schema registered before. */
export function canonicalProto(text: string): string {
  return tokens(text).join(" ");
}

function kind(type: string): string {
  if (type.startsWith("map<")) return "map";
  return SCALARS.has(type) ? "scalar" : "named";
}

function scalarCompatible(a: string, b: string): boolean {
  return a === b || GROUPS.some((g) => g.includes(a) && g.includes(b));
}

/** Reasons the two schemas cannot read each other's data (empty: compatible). */
export function protoIncompatibilities(reader: ProtoSchema, writer: ProtoSchema): string[] {
  const out: string[] = [];
  if (reader.pkg !== writer.pkg) out.push(`PACKAGE_CHANGED: ${writer.pkg} -> ${reader.pkg}`);
  for (const [name, wm] of writer.messages) {
    const rm = reader.messages.get(name);
    if (!rm) {
      out.push(`MESSAGE_REMOVED: ${name}`);
      continue;
    }
    const movedIntoNew = new Map<string, number>();
    for (const [num, wf] of wm.fields) {
      const rf = rm.fields.get(num);
      if (!rf) continue;
      const where = `${name}.${rf.name} (${num})`;
      if (kind(rf.type) !== kind(wf.type)) out.push(`FIELD_KIND_CHANGED: ${where}`);
      else if (kind(rf.type) === "scalar" && !scalarCompatible(rf.type, wf.type)) {
        out.push(`FIELD_SCALAR_KIND_CHANGED: ${where}: ${wf.type} -> ${rf.type}`);
      } else if (kind(rf.type) !== "scalar" && rf.type.replace(/^\./, "") !== wf.type.replace(/^\./, "")) {
        out.push(`FIELD_NAMED_TYPE_CHANGED: ${where}: ${wf.type} -> ${rf.type}`);
      }
      if ((rf.label === "repeated") !== (wf.label === "repeated")) out.push(`FIELD_LABEL_CHANGED: ${where}`);
      if (rf.oneof !== null && wf.oneof === null) {
        if (wm.oneofs.has(rf.oneof)) out.push(`FIELD_MOVED_TO_EXISTING_ONEOF: ${where}`);
        else movedIntoNew.set(rf.oneof, (movedIntoNew.get(rf.oneof) ?? 0) + 1);
      }
    }
    for (const [o, n] of movedIntoNew) if (n > 1) out.push(`MULTIPLE_FIELDS_MOVED_TO_ONEOF: ${name}.${o}`);
  }
  return out;
}

/**
 * Every message and enum a schema can name, by fully qualified name (package included): its own, those
 * of the schemas it references (its imports, as the registry's references give them), and protobuf's
 * well-known types of google/protobuf/{wrappers,any,timestamp,duration,empty}.proto, which Confluent's
 * serializers know without a reference.
 */
export type ProtoTypes = {
  messages: Map<string, Message>;
  enums: Map<string, Map<string, number>>;
};

const WELL_KNOWN_TEXT = `syntax = "proto3"; package google.protobuf;
message DoubleValue { double value = 1; } message FloatValue { float value = 1; }
message Int64Value { int64 value = 1; } message UInt64Value { uint64 value = 1; }
message Int32Value { int32 value = 1; } message UInt32Value { uint32 value = 1; }
message BoolValue { bool value = 1; } message StringValue { string value = 1; } message BytesValue { bytes value = 1; }
message Any { string type_url = 1; bytes value = 2; }
message Timestamp { int64 seconds = 1; int32 nanos = 2; } message Duration { int64 seconds = 1; int32 nanos = 2; }
message Empty {}`;
let wellKnown: ProtoSchema | null = null;

/** The types `main` can use, with those of `imports` (referenced schemas) and the well-known types. */
export function protoTypes(main: ProtoSchema, imports: readonly ProtoSchema[] = []): ProtoTypes {
  wellKnown ??= parseProto(WELL_KNOWN_TEXT);
  const out: ProtoTypes = { messages: new Map(), enums: new Map() };
  for (const s of [wellKnown, ...imports, main]) {
    const full = (local: string) => (s.pkg ? `${s.pkg}.${local}` : local);
    for (const [name, m] of s.messages) out.messages.set(full(name), m);
    for (const [name, e] of s.enumValues) out.enums.set(full(name), e);
  }
  return out;
}
