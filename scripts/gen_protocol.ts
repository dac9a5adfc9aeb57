// Generates src/protocol/messages/ from Kafka's JSON message definitions.
//   bun scripts/gen_protocol.ts            (or: deno run -A scripts/gen_protocol.ts)
//   bun scripts/gen_protocol.ts --out DIR  (writes there instead; tests/protocol/gen_test.ts compares)
// The output is formatted with the repo's `deno fmt` settings, so a regeneration is byte-identical.
// Reads ../shared/kafka-protocol/messages/*.json (Kafka of Oct 2024) and messages-4.1/ (Kafka 4.1)
// relative to the repo root and serves the union of their versions, each version laid out as the
// edition that describes it says (scripts/protocol_merge.ts). Copies facts only
// (names, types, versions, defaults, tags); the schemas' `about` prose is not carried over.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { mergeSchema, span } from "./protocol_merge.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const protocolDir = join(root, "..", "shared", "kafka-protocol");
const outArg = process.argv.indexOf("--out");
const outDir = outArg > 0 ? process.argv[outArg + 1] : join(root, "src", "protocol", "messages");

type JsonField = {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string | number | boolean;
  fields?: JsonField[];
  flexibleVersions?: string;
};
type JsonSchema = {
  apiKey?: number;
  type: "request" | "response" | "header" | "data";
  name: string;
  validVersions: string;
  flexibleVersions: string;
  latestVersionUnstable?: boolean;
  fields: JsonField[];
  commonStructs?: { name: string; versions: string; fields: JsonField[] }[];
};

/** JSON with `//` line comments: drop comments outside string literals, then parse. */
function parseJsonc(text: string): unknown {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      const start = i++;
      while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
      out += text.slice(start, ++i);
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out);
}

const PRIMITIVES = new Set([
  "bool",
  "int8",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "float64",
  "string",
  "uuid",
  "bytes",
  "records",
]);
const INTS = new Set(["int8", "int16", "uint16", "int32", "uint32"]);

const camel = (s: string) => s[0].toLowerCase() + s.slice(1);
const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();

/** Converts a schema default (often a string) to a TypeScript literal of the field's type. */
function defaultLiteral(f: JsonField, base: string, isArray: boolean, where: string): string | undefined {
  const d = f.default;
  if (d === undefined) return undefined;
  if (d === "null") {
    if (!f.nullableVersions) throw new Error(`${where}: default null on non-nullable field`);
    return "null";
  }
  if (isArray || !PRIMITIVES.has(base)) throw new Error(`${where}: unsupported default ${d}`);
  if (base === "bool") {
    if (d === true || d === "true") return "true";
    if (d === false || d === "false") return "false";
    throw new Error(`${where}: bad bool default ${d}`);
  }
  if (INTS.has(base) || base === "int64") {
    const text = String(d).trim();
    const neg = text.startsWith("-");
    const digits = neg ? text.slice(1) : text;
    const big = BigInt(digits); // accepts 0x… hex and decimal
    const v = neg ? -big : big;
    if (base === "int64") return `${v}n`;
    const n = Number(v);
    const [lo, hi] = ({
      int8: [-128, 127],
      int16: [-32768, 32767],
      uint16: [0, 65535],
      int32: [-(2 ** 31), 2 ** 31 - 1],
      uint32: [0, 2 ** 32 - 1],
    } as Record<string, number[]>)[base];
    if (n < lo || n > hi) throw new Error(`${where}: default ${d} out of range`);
    return String(n);
  }
  if (base === "float64") return String(Number(d));
  if (base === "string") return JSON.stringify(String(d));
  throw new Error(`${where}: unsupported default ${d} for ${base}`);
}

type Ctx = {
  /** Message or data type name, e.g. "ProduceRequest": prefix of nested struct type names. */
  typePrefix: string;
  /** Struct definitions in this file by schema struct name (inline and common). */
  structs: Map<string, JsonField[]>;
  common: Set<string>;
  /** Emitted nested type declarations, by TS type name. */
  types: Map<string, string>;
  /** TS type name of each nested struct, by schema struct name (see nestedName). */
  names: Map<string, string>;
  /** Field-table consts for common structs, in dependency order. */
  consts: Map<string, string>;
  optional: boolean;
  recordsType: string;
};

function collectStructs(fields: JsonField[], into: Map<string, JsonField[]>) {
  for (const f of fields) {
    if (f.fields) {
      const name = f.type.replace(/^\[\]/, "");
      into.set(name, f.fields);
      collectStructs(f.fields, into);
    }
  }
}

function tsType(f: JsonField, ctx: Ctx): string {
  const isArray = f.type.startsWith("[]");
  const base = isArray ? f.type.slice(2) : f.type;
  let t: string;
  switch (base) {
    case "bool":
      t = "boolean";
      break;
    case "int8":
    case "int16":
    case "uint16":
    case "int32":
    case "uint32":
    case "float64":
      t = "number";
      break;
    case "int64":
      t = "bigint";
      break;
    case "string":
    case "uuid":
      t = "string";
      break;
    case "bytes":
      t = "Uint8Array";
      break;
    case "records":
      t = ctx.recordsType;
      break;
    default: {
      const fields = f.fields ?? ctx.structs.get(base);
      if (!fields) throw new Error(`${ctx.typePrefix}.${f.name}: unknown type ${base}`);
      t = nestedName(ctx, base);
      if (!ctx.types.has(t)) {
        ctx.types.set(t, ""); // reserve (recursion guard)
        ctx.types.set(t, typeDecl(t, fields, ctx));
      }
    }
  }
  if (isArray) t = t.includes("|") ? `Array<${t}>` : `${t}[]`;
  if (f.nullableVersions) t += " | null";
  return t;
}

/**
 * The TS name of a nested struct: the message name plus the struct's own name, without repeating
 * what the message name already says ("JoinGroupRequestProtocol" in JoinGroupRequest stays
 * JoinGroupRequestProtocol, "FetchTopic" in FetchRequest becomes FetchRequestTopic). Falls back to
 * the plain concatenation when the short form is taken by another struct of the same message.
 */
function nestedName(ctx: Ctx, base: string): string {
  const known = ctx.names.get(base);
  if (known) return known;
  const prefix = ctx.typePrefix;
  const api = prefix.replace(/(Request|Response)$/, "");
  const kind = prefix.slice(api.length);
  let rest = base;
  const strip = (word: string) => {
    if (word && rest.startsWith(word) && rest.length > word.length && /[A-Z]/.test(rest[word.length])) {
      rest = rest.slice(word.length);
    }
  };
  strip(api);
  strip(kind);
  let name = prefix + rest;
  if ([...ctx.names.values()].includes(name)) name = prefix + base;
  ctx.names.set(base, name);
  return name;
}

function versionNote(f: JsonField): string {
  const notes: string[] = [];
  if (f.versions !== "0+") notes.push(`v${f.versions}`);
  if (f.nullableVersions && f.nullableVersions !== f.versions) notes.push(`nullable v${f.nullableVersions}`);
  if (f.tag !== undefined) notes.push(`tag ${f.tag}`);
  return notes.length ? ` // ${notes.join(", ")}` : "";
}

function typeDecl(name: string, fields: JsonField[], ctx: Ctx): string {
  const q = ctx.optional ? "?" : "";
  const lines = fields.map((f) => `  ${camel(f.name)}${q}: ${tsType(f, ctx)};${versionNote(f)}`);
  return `export type ${name} = {\n${lines.join("\n")}\n};\n`;
}

function fieldTable(fields: JsonField[], ctx: Ctx, indent: string): string {
  const out: string[] = [];
  for (const f of fields) {
    const where = `${ctx.typePrefix}.${f.name}`;
    const isArray = f.type.startsWith("[]");
    const base = isArray ? f.type.slice(2) : f.type;
    const prim = PRIMITIVES.has(base);
    const v = span(f.versions);
    if (!v) throw new Error(`${where}: no versions`);
    if (f.flexibleVersions !== undefined) throw new Error(`${where}: field-level flexibleVersions unsupported`);
    const parts = [`name: ${JSON.stringify(camel(f.name))}`, `type: ${JSON.stringify(prim ? base : "struct")}`];
    if (isArray) parts.push("array: true");
    parts.push(`since: ${v.since}`);
    if (v.until !== undefined) parts.push(`until: ${v.until}`);
    const n = span(f.nullableVersions);
    if (n) {
      if (!(isArray || ["string", "bytes", "records", "uuid"].includes(base) || !prim)) {
        throw new Error(`${where}: nullable ${f.type}`);
      }
      parts.push(`nullableSince: ${n.since}`);
      if (n.until !== undefined) parts.push(`nullableUntil: ${n.until}`);
    }
    if (f.tag !== undefined) {
      const t = span(f.taggedVersions);
      if (!t) throw new Error(`${where}: tag without taggedVersions`);
      parts.push(`tag: ${f.tag}`, `taggedSince: ${t.since}`);
      if (t.until !== undefined) parts.push(`taggedUntil: ${t.until}`);
    }
    const d = defaultLiteral(f, base, isArray, where);
    if (d !== undefined) parts.push(`default: ${d}`);
    if (!prim) {
      if (f.fields) {
        parts.push(`fields: [\n${fieldTable(f.fields, ctx, indent + "  ")}${indent}]`);
      } else if (ctx.common.has(base)) {
        parts.push(`fields: ${commonConst(base, ctx)}`);
      } else {
        throw new Error(`${where}: unknown struct ${base}`);
      }
    }
    out.push(`${indent}{ ${parts.join(", ")} },\n`);
  }
  return out.join("");
}

function commonConst(name: string, ctx: Ctx): string {
  const id = `fields${ctx.typePrefix}${name}`;
  if (!ctx.consts.has(id)) {
    ctx.consts.set(id, ""); // reserve: dependencies are emitted first, then this
    const body = fieldTable(ctx.structs.get(name)!, ctx, "  ");
    ctx.consts.delete(id);
    ctx.consts.set(id, `const ${id}: Field[] = [\n${body}];\n`);
  }
  return id;
}

function makeCtx(s: JsonSchema, optional: boolean, recordsType: string): Ctx {
  const structs = new Map<string, JsonField[]>();
  const common = new Set<string>();
  for (const c of s.commonStructs ?? []) {
    structs.set(c.name, c.fields);
    common.add(c.name);
    collectStructs(c.fields, structs);
  }
  collectStructs(s.fields, structs);
  return {
    typePrefix: s.name,
    structs,
    common,
    types: new Map(),
    names: new Map(),
    consts: new Map(),
    optional,
    recordsType,
  };
}

function flexibleFrom(s: JsonSchema): string {
  const r = span(s.flexibleVersions);
  if (!r) return "Infinity";
  if (r.until !== undefined) throw new Error(`${s.name}: bounded flexibleVersions`);
  return String(r.since);
}

function versionsOf(s: JsonSchema): [number, number] {
  const r = span(s.validVersions)!;
  return [r.since, r.until ?? r.since];
}

const header = (from: string) => `// GENERATED by scripts/gen_protocol.ts from ${from}. Do not edit.\n`;

// ---------------------------------------------------------------------------------------------

function readSchemas(dir: string): JsonSchema[] {
  return readdirSync(dir).sort().filter((f) => f.endsWith(".json")).map((f) =>
    parseJsonc(readFileSync(join(dir, f), "utf8")) as JsonSchema
  );
}
// Requests and responses pair up by API key (key 74 was renamed in 4.1), data schemas by name.
const identity = (s: JsonSchema) => s.apiKey !== undefined ? `${s.type} ${s.apiKey}` : `${s.type} ${s.name}`;
const older = new Map(readSchemas(join(protocolDir, "messages")).map((s) => [identity(s), s]));
const newer = new Map(readSchemas(join(protocolDir, "messages-4.1")).map((s) => [identity(s), s]));
const schemas = new Map<string, JsonSchema>();
for (const id of new Set([...older.keys(), ...newer.keys()])) {
  const s = mergeSchema(older.get(id), newer.get(id)) as JsonSchema;
  schemas.set(s.name, s);
}

if (outArg < 0) rmSync(outDir, { recursive: true, force: true }); // --out DIR: written into, nothing removed
mkdirSync(outDir, { recursive: true });

const requests = [...schemas.values()].filter((s) => s.type === "request").sort((a, b) => a.apiKey! - b.apiKey!);
const index: { key: number; name: string; file: string }[] = [];

for (const req of requests) {
  const name = req.name.replace(/Request$/, "");
  const res = schemas.get(`${name}Response`);
  if (!res) throw new Error(`no response for ${req.name}`);
  if (res.apiKey !== req.apiKey) throw new Error(`${name}: apiKey mismatch`);
  if (req.validVersions !== res.validVersions || req.flexibleVersions !== res.flexibleVersions) {
    throw new Error(`${name}: request/response versions differ`);
  }
  const key = req.apiKey!;
  const file = `${String(key).padStart(2, "0")}_${snake(name)}.ts`;

  const reqCtx = makeCtx(req, false, "Uint8Array");
  const resCtx = makeCtx(res, true, "Uint8Array | Uint8Array[]");
  const reqType = typeDecl(`${name}Request`, req.fields, reqCtx);
  const resType = typeDecl(`${name}Response`, res.fields, resCtx);
  const reqTable = fieldTable(req.fields, reqCtx, "    ");
  const resTable = fieldTable(res.fields, resCtx, "    ");
  const [min, max] = versionsOf(req);

  let out = header(`${name}{Request,Response}.json`);
  out += `import type { Api, Field } from "../schema.ts";\n\n`;
  out += reqType + [...reqCtx.types.values()].join("") + "\n";
  out += resType + [...resCtx.types.values()].join("") + "\n";
  const consts = [...reqCtx.consts.values(), ...resCtx.consts.values()];
  if (consts.length) out += consts.join("\n") + "\n";
  out += `export const ${name}: Api<${name}Request, ${name}Response> = {\n`;
  out += `  key: ${key},\n  name: ${JSON.stringify(name)},\n  versions: [${min}, ${max}],\n`;
  out += `  flexibleFrom: ${flexibleFrom(req)},\n`;
  if (req.latestVersionUnstable || res.latestVersionUnstable) out += `  latestVersionUnstable: true,\n`;
  out += `  request: [\n${reqTable}  ],\n  response: [\n${resTable}  ],\n};\n`;
  if (!consts.length) out = out.replace("import type { Api, Field }", "import type { Api }");
  writeFileSync(join(outDir, file), out);
  index.push({ key, name, file });
}

if (index.length !== 93 || index.some((e, i) => e.key !== i)) throw new Error("expected API keys 0-92");

// Data schemas used by consumer groups.
{
  let out = header("ConsumerProtocol{Subscription,Assignment}.json");
  let usesField = false;
  const parts: string[] = [];
  for (const n of ["ConsumerProtocolSubscription", "ConsumerProtocolAssignment"]) {
    const s = schemas.get(n)!;
    const ctx = makeCtx(s, false, "Uint8Array");
    const type = typeDecl(n, s.fields, ctx);
    const table = fieldTable(s.fields, ctx, "    ");
    const consts = [...ctx.consts.values()];
    if (consts.length) usesField = true;
    const [min, max] = versionsOf(s);
    parts.push(
      type + [...ctx.types.values()].join("") + "\n" + (consts.length ? consts.join("\n") + "\n" : "") +
        `export const ${n}Schema: DataSchema<${n}> = {\n  name: ${
          JSON.stringify(n)
        },\n  versions: [${min}, ${max}],\n` +
        `  flexibleFrom: ${flexibleFrom(s)},\n  fields: [\n${table}  ],\n};\n`,
    );
  }
  out += `import type { DataSchema${usesField ? ", Field" : ""} } from "../schema.ts";\n\n` + parts.join("\n");
  writeFileSync(join(outDir, "consumer_protocol.ts"), out);
}

{
  let out = header("*Request.json") + `import type { Api } from "../schema.ts";\n`;
  for (const e of index) out += `import { ${e.name} } from "./${e.file}";\n`;
  out += "\n";
  for (const e of index) out += `export * from "./${e.file}";\n`;
  out += `export * from "./consumer_protocol.ts";\n\n`;
  out += `/** Every API, indexed by API key (0-${index.length - 1}). */\n`;
  out += `export const API_LIST: readonly Api[] = [\n${index.map((e) => `  ${e.name} as Api,\n`).join("")}];\n\n`;
  out +=
    `/** API key -> Api. */\nexport const APIS: ReadonlyMap<number, Api> = new Map(API_LIST.map((a) => [a.key, a]));\n`;
  writeFileSync(join(outDir, "index.ts"), out);
}

{
  const deno = join(root, "node_modules", ".bin", "deno");
  const r = spawnSync(deno, ["fmt", "--quiet", "--config", join(root, "deno.json"), outDir], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`deno fmt of ${outDir} failed (run npm ci first)`);
}

console.log(`wrote ${index.length} APIs and consumer_protocol.ts to ${outDir}`);
