// Avro schemas for the schema registry: parsing (with named types, namespaces and references to
// other schemas' named types), a canonical form to recognise a schema registered before, and the
// reader/writer compatibility of the Avro specification's "Schema Resolution" (what Confluent's
// BACKWARD/FORWARD/FULL checks apply): a reader can read data written with a writer schema when
// - both are the same primitive, or the writer's promotes to the reader's (int -> long, float,
//   double; long -> float, double; float -> double; string <-> bytes);
// - records: every reader field is in the writer (by name or alias) with a compatible type, or has
//   a default; writer fields the reader lacks are skipped;
// - enums: every writer symbol is a reader symbol, or the reader has a default;
// - arrays and maps: compatible items / values; fixed: same name and size;
// - unions: every writer branch is readable by some reader branch (a non-union writer by one
//   branch of a reader union; a union writer against a non-union reader branch by branch).
// Named types are matched by full name (or a reader alias).

export class AvroSchemaError extends Error {}

type Named = { name: string; aliases: string[] };
export type AvroType =
  | { type: "null" | "boolean" | "int" | "long" | "float" | "double" | "bytes" | "string" }
  | (Named & {
    type: "record";
    fields: { name: string; aliases: string[]; type: AvroType; hasDefault: boolean; default?: unknown }[];
  })
  | (Named & { type: "enum"; symbols: string[]; default?: string })
  | (Named & { type: "fixed"; size: number })
  | { type: "array"; items: AvroType }
  | { type: "map"; values: AvroType }
  | { type: "union"; branches: AvroType[] };

const PRIMITIVES = new Set(["null", "boolean", "int", "long", "float", "double", "bytes", "string"]);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function fullName(name: string, namespace: string): string {
  if (name.includes(".")) return name;
  return namespace ? `${namespace}.${name}` : name;
}

/** Parses an Avro schema (JSON text); `named` holds named types defined by references first. */
export function parseAvro(text: string, named = new Map<string, AvroType>()): AvroType {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new AvroSchemaError(`Invalid schema: ${(e as Error).message}`);
  }
  return toType(json, "", named);
}

function toType(s: unknown, ns: string, named: Map<string, AvroType>): AvroType {
  if (typeof s === "string") {
    if (PRIMITIVES.has(s)) return { type: s } as AvroType;
    const t = named.get(fullName(s, ns)) ?? named.get(s);
    if (!t) throw new AvroSchemaError(`Undefined name: ${s}`);
    return t;
  }
  if (Array.isArray(s)) {
    const branches = s.map((b) => toType(b, ns, named));
    if (branches.some((b) => b.type === "union")) {
      throw new AvroSchemaError("Unions may not immediately contain unions");
    }
    return { type: "union", branches };
  }
  if (s === null || typeof s !== "object") throw new AvroSchemaError(`Not a schema: ${JSON.stringify(s)}`);
  const o = s as Record<string, unknown>;
  const type = o.type;
  if (typeof type === "string" && PRIMITIVES.has(type)) return { type } as AvroType;
  if (type === "array") return { type: "array", items: toType(o.items, ns, named) };
  if (type === "map") return { type: "map", values: toType(o.values, ns, named) };
  if (type === "record" || type === "error" || type === "enum" || type === "fixed") {
    if (typeof o.name !== "string") throw new AvroSchemaError(`No name in schema: ${JSON.stringify(s)}`);
    const space = typeof o.namespace === "string" ? o.namespace : ns;
    const name = fullName(o.name, space);
    const last = name.slice(name.lastIndexOf(".") + 1);
    if (!NAME.test(last)) throw new AvroSchemaError(`Illegal name: ${name}`);
    const childNs = name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : "";
    const aliases = Array.isArray(o.aliases) ? o.aliases.map((a) => fullName(String(a), childNs)) : [];
    if (type === "fixed") {
      if (typeof o.size !== "number" || o.size < 0) throw new AvroSchemaError(`Invalid fixed size: ${o.size}`);
      const t: AvroType = { type: "fixed", name, aliases, size: o.size };
      named.set(name, t);
      return t;
    }
    if (type === "enum") {
      const symbols = o.symbols;
      if (!Array.isArray(symbols) || symbols.some((x) => typeof x !== "string" || !NAME.test(x))) {
        throw new AvroSchemaError(`Invalid enum symbols: ${JSON.stringify(symbols)}`);
      }
      if (new Set(symbols).size !== symbols.length) throw new AvroSchemaError(`Duplicate enum symbol in ${name}`);
      const t: AvroType = { type: "enum", name, aliases, symbols: symbols as string[] };
      if (typeof o.default === "string") t.default = o.default;
      named.set(name, t);
      return t;
    }
    if (!Array.isArray(o.fields)) throw new AvroSchemaError(`Record has no fields: ${name}`);
    const t: AvroType = { type: "record", name, aliases, fields: [] };
    named.set(name, t); // recursive references
    const seen = new Set<string>();
    for (const f of o.fields as Record<string, unknown>[]) {
      if (typeof f?.name !== "string" || !NAME.test(f.name)) throw new AvroSchemaError(`Invalid field name in ${name}`);
      if (seen.has(f.name)) throw new AvroSchemaError(`Duplicate field ${f.name} in ${name}`);
      seen.add(f.name);
      t.fields.push({
        name: f.name,
        aliases: Array.isArray(f.aliases) ? f.aliases.map(String) : [],
        type: toType(f.type, childNs, named),
        hasDefault: Object.hasOwn(f, "default"),
        default: f.default,
      });
    }
    return t;
  }
  if (typeof type === "object" && type !== null) return toType(type, ns, named);
  throw new AvroSchemaError(`Unknown type: ${JSON.stringify(type)}`);
}

/** A stable text for "is this the schema registered before": keys sorted, whitespace dropped. */
export function canonicalJson(text: string): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    }
    return v;
  };
  return JSON.stringify(sort(JSON.parse(text)));
}

const PROMOTIONS: Record<string, string[]> = {
  int: ["long", "float", "double"],
  long: ["float", "double"],
  float: ["double"],
  string: ["bytes"],
  bytes: ["string"],
};

function nameMatches(reader: Named, writer: Named): boolean {
  return reader.name === writer.name || reader.aliases.includes(writer.name);
}

/** Reasons the reader cannot read what the writer wrote (empty: compatible). */
export function avroIncompatibilities(
  reader: AvroType,
  writer: AvroType,
  path = "/",
  seen = new Set<string>(),
): string[] {
  if (writer.type === "union") {
    return writer.branches.flatMap((w, i) => avroIncompatibilities(reader, w, `${path}${i}/`, seen));
  }
  if (reader.type === "union") {
    const ok = reader.branches.some((r) => avroIncompatibilities(r, writer, path, new Set(seen)).length === 0);
    return ok ? [] : [`${path}: reader union lacks a branch for writer type ${writer.type}`];
  }
  if (reader.type !== writer.type) {
    if (PROMOTIONS[writer.type]?.includes(reader.type)) return [];
    return [`${path}: type mismatch: reader ${reader.type}, writer ${writer.type}`];
  }
  switch (reader.type) {
    case "array":
      return avroIncompatibilities(reader.items, (writer as typeof reader).items, `${path}items/`, seen);
    case "map":
      return avroIncompatibilities(reader.values, (writer as typeof reader).values, `${path}values/`, seen);
    case "fixed": {
      const w = writer as typeof reader;
      if (!nameMatches(reader, w)) return [`${path}: name mismatch: reader ${reader.name}, writer ${w.name}`];
      return reader.size === w.size ? [] : [`${path}: fixed size mismatch: reader ${reader.size}, writer ${w.size}`];
    }
    case "enum": {
      const w = writer as typeof reader;
      if (!nameMatches(reader, w)) return [`${path}: name mismatch: reader ${reader.name}, writer ${w.name}`];
      const missing = w.symbols.filter((s) => !reader.symbols.includes(s));
      return missing.length && reader.default === undefined
        ? [`${path}: reader enum ${reader.name} lacks symbols ${missing.join(", ")}`]
        : [];
    }
    case "record": {
      const w = writer as typeof reader;
      if (!nameMatches(reader, w)) return [`${path}: name mismatch: reader ${reader.name}, writer ${w.name}`];
      const key = `${reader.name}|${w.name}`;
      if (seen.has(key)) return [];
      seen.add(key);
      const out: string[] = [];
      for (const f of reader.fields) {
        const wf = w.fields.find((x) => x.name === f.name || f.aliases.includes(x.name));
        if (!wf) {
          if (!f.hasDefault) out.push(`${path}fields/${f.name}: reader field has no default and the writer lacks it`);
          continue;
        }
        out.push(...avroIncompatibilities(f.type, wf.type, `${path}fields/${f.name}/`, seen));
      }
      return out;
    }
    default:
      return [];
  }
}

/**
 * Avro's binary encoding of a value given in Avro's JSON encoding (what Confluent's REST Proxy takes:
 * unions as {"branch": value} or null, bytes and fixed as strings of code points 0-255). A record
 * field that is absent takes its default. Throws AvroSchemaError when the value does not fit.
 */
export function encodeAvro(type: AvroType, value: unknown): Uint8Array {
  const out: number[] = [];
  const long = (n: bigint) => {
    let z = (n << 1n) ^ (n >> 63n);
    z = BigInt.asUintN(64, z);
    do {
      let b = Number(z & 0x7fn);
      z >>= 7n;
      if (z) b |= 0x80;
      out.push(b);
    } while (z);
  };
  const bytesOf = (s: string) => {
    long(BigInt(s.length));
    for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i) & 0xff);
  };
  const fail = (what: string): never => {
    throw new AvroSchemaError(`value ${JSON.stringify(value)} does not fit ${what}`);
  };
  const write = (t: AvroType, v: unknown): void => {
    switch (t.type) {
      case "null":
        if (v !== null) fail("null");
        return;
      case "boolean":
        if (typeof v !== "boolean") fail("boolean");
        out.push(v ? 1 : 0);
        return;
      case "int":
      case "long":
        if (typeof v !== "number" && typeof v !== "string") fail(t.type);
        long(BigInt(v as number));
        return;
      case "float":
      case "double": {
        if (typeof v !== "number") fail(t.type);
        const b = new Uint8Array(t.type === "float" ? 4 : 8);
        const dv = new DataView(b.buffer);
        if (t.type === "float") dv.setFloat32(0, v as number, true);
        else dv.setFloat64(0, v as number, true);
        out.push(...b);
        return;
      }
      case "string": {
        if (typeof v !== "string") fail("string");
        const b = new TextEncoder().encode(v as string);
        long(BigInt(b.length));
        out.push(...b);
        return;
      }
      case "bytes":
        if (typeof v !== "string") fail("bytes");
        bytesOf(v as string);
        return;
      case "fixed":
        if (typeof v !== "string" || v.length !== t.size) fail(`fixed ${t.name}`);
        for (let i = 0; i < t.size; i++) out.push((v as string).charCodeAt(i) & 0xff);
        return;
      case "enum": {
        const i = t.symbols.indexOf(v as string);
        if (i < 0) fail(`enum ${t.name}`);
        long(BigInt(i));
        return;
      }
      case "array":
        if (!Array.isArray(v)) fail("array");
        if ((v as unknown[]).length) {
          long(BigInt((v as unknown[]).length));
          for (const x of v as unknown[]) write(t.items, x);
        }
        out.push(0);
        return;
      case "map": {
        if (v === null || typeof v !== "object" || Array.isArray(v)) fail("map");
        const entries = Object.entries(v as Record<string, unknown>);
        if (entries.length) {
          long(BigInt(entries.length));
          for (const [k, x] of entries) {
            write({ type: "string" }, k);
            write(t.values, x);
          }
        }
        out.push(0);
        return;
      }
      case "record": {
        if (v === null || typeof v !== "object" || Array.isArray(v)) fail(`record ${t.name}`);
        const o = v as Record<string, unknown>;
        for (const f of t.fields) {
          if (Object.hasOwn(o, f.name)) write(f.type, o[f.name]);
          else if (f.hasDefault) write(f.type, f.type.type === "union" ? wrapDefault(f.type, f.default) : f.default);
          else fail(`record ${t.name}: field ${f.name} is missing`);
        }
        return;
      }
      case "union": {
        if (v === null) {
          const i = t.branches.findIndex((b) => b.type === "null");
          if (i < 0) fail("union without null");
          long(BigInt(i));
          return;
        }
        if (typeof v === "object" && !Array.isArray(v) && Object.keys(v as object).length === 1) {
          const [k, x] = Object.entries(v as Record<string, unknown>)[0];
          const i = t.branches.findIndex((b) =>
            b.type === k || ("name" in b && (b.name === k || b.name.endsWith(`.${k}`)))
          );
          if (i >= 0) {
            long(BigInt(i));
            write(t.branches[i], x);
            return;
          }
        }
        const nonNull = t.branches.map((b, i) => [b, i] as const).filter(([b]) => b.type !== "null");
        if (nonNull.length === 1) {
          long(BigInt(nonNull[0][1]));
          write(nonNull[0][0], v);
          return;
        }
        fail('union (give the branch as {"type": value})');
      }
    }
  };
  write(type, value);
  return new Uint8Array(out);
}

/** A union field's default is a value of its first branch. */
function wrapDefault(t: AvroType & { type: "union" }, d: unknown): unknown {
  const first = t.branches[0];
  if (d === null && first.type === "null") return null;
  return { [first.type === "record" || first.type === "enum" || first.type === "fixed" ? first.name : first.type]: d };
}

/** Avro's binary decoding into Avro's JSON encoding (unions as {"branch": value}); the inverse of encodeAvro. */
export function decodeAvro(type: AvroType, buf: Uint8Array): unknown {
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > buf.length) throw new AvroSchemaError("Avro data ends early");
  };
  const long = (): bigint => {
    let n = 0n, shift = 0n, b: number;
    do {
      need(1);
      b = buf[pos++];
      n |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    } while (b & 0x80);
    return (n >> 1n) ^ -(n & 1n);
  };
  const bytes = (n: number) => {
    need(n);
    const v = buf.subarray(pos, pos + n);
    pos += n;
    return v;
  };
  const read = (t: AvroType): unknown => {
    switch (t.type) {
      case "null":
        return null;
      case "boolean":
        need(1);
        return buf[pos++] === 1;
      case "int":
        return Number(long());
      case "long": {
        const v = long();
        return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
      }
      case "float": {
        const b = bytes(4);
        return new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);
      }
      case "double": {
        const b = bytes(8);
        return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
      }
      case "string":
        return new TextDecoder().decode(bytes(Number(long())));
      case "bytes":
        return String.fromCharCode(...bytes(Number(long())));
      case "fixed":
        return String.fromCharCode(...bytes(t.size));
      case "enum":
        return t.symbols[Number(long())];
      case "array":
      case "map": {
        const out: unknown[] | Record<string, unknown> = t.type === "array" ? [] : {};
        for (;;) {
          let n = Number(long());
          if (n === 0) break;
          if (n < 0) {
            n = -n;
            long();
          }
          for (let i = 0; i < n; i++) {
            if (t.type === "array") (out as unknown[]).push(read(t.items));
            else (out as Record<string, unknown>)[read({ type: "string" }) as string] = read(t.values);
          }
        }
        return out;
      }
      case "record": {
        const o: Record<string, unknown> = {};
        for (const f of t.fields) o[f.name] = read(f.type);
        return o;
      }
      case "union": {
        const b = t.branches[Number(long())];
        if (!b) throw new AvroSchemaError("Avro union index out of range");
        if (b.type === "null") return null;
        return { ["name" in b ? b.name : b.type]: read(b) };
      }
    }
  };
  return read(type);
}
