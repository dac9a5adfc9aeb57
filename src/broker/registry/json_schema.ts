// JSON Schema for the schema registry: parse check, canonical form, and the reader/writer check that
// Confluent's compatibility levels apply ("can a consumer using `reader` accept every document valid
// under `writer`"). The rules cover what schema evolution uses in practice, after Confluent's
// JSON Schema rules: type narrowing (a type dropped, number -> integer), properties (a property the
// reader constrains differently, one the writer allows but a closed reader content model rejects,
// a property newly required), additionalProperties opened vs closed, enum values removed, narrowed
// string lengths, numeric ranges and item counts, and array items, recursively. $ref, allOf/anyOf/
// oneOf, not, patternProperties and dependencies are compared only for equality: a change there is
// reported as incompatible, never silently accepted.

export class JsonSchemaError extends Error {}

type S = Record<string, unknown> | boolean;

export function parseJsonSchema(text: string): S {
  let s: unknown;
  try {
    s = JSON.parse(text);
  } catch (e) {
    throw new JsonSchemaError(`Invalid schema: ${(e as Error).message}`);
  }
  if (typeof s !== "boolean" && (s === null || typeof s !== "object" || Array.isArray(s))) {
    throw new JsonSchemaError("Invalid schema: a JSON Schema is an object or a boolean");
  }
  return s as S;
}

const TYPES = ["null", "boolean", "object", "array", "number", "integer", "string"];
const OPAQUE = ["$ref", "allOf", "anyOf", "oneOf", "not", "patternProperties", "dependencies", "if", "then", "else"];

function typesOf(s: Record<string, unknown>): string[] {
  const t = s.type;
  if (t === undefined) return TYPES;
  return Array.isArray(t) ? t.map(String) : [String(t)];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Reasons a reader schema rejects documents the writer schema accepts (empty: compatible). */
export function jsonIncompatibilities(reader: S, writer: S, path = "#"): string[] {
  if (reader === true || (typeof reader === "object" && Object.keys(reader).length === 0)) return [];
  if (writer === false) return [];
  if (reader === false) return [`${path}: the reader accepts nothing`];
  const w: Record<string, unknown> = writer === true ? {} : writer;
  const r = reader;
  const out: string[] = [];
  for (const k of OPAQUE) {
    if (!same(r[k], w[k])) out.push(`${path}: ${k} changed`);
  }
  const rt = typesOf(r), wt = typesOf(w);
  for (const t of wt) {
    if (!rt.includes(t) && !(t === "integer" && rt.includes("number"))) {
      out.push(`${path}: type ${t} no longer allowed`);
    }
  }
  if (Array.isArray(r.enum)) {
    if (!Array.isArray(w.enum)) out.push(`${path}: enum added`);
    else {for (const v of w.enum) {
        if (!r.enum.some((x) => same(x, v))) out.push(`${path}: enum value ${JSON.stringify(v)} removed`);
      }}
  }
  if (r.const !== undefined && !same(r.const, w.const)) out.push(`${path}: const changed`);
  const narrower = (k: string, upper: boolean) => {
    const rv = r[k], wv = w[k];
    if (typeof rv !== "number") return;
    if (typeof wv !== "number" || (upper ? rv < wv : rv > wv)) out.push(`${path}: ${k} narrowed`);
  };
  for (const k of ["maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties"]) narrower(k, true);
  for (const k of ["minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties"]) narrower(k, false);
  if (typeof r.pattern === "string" && r.pattern !== w.pattern) out.push(`${path}: pattern changed`);
  // Objects.
  const rp = (r.properties ?? {}) as Record<string, S>, wp = (w.properties ?? {}) as Record<string, S>;
  const rAdd = (r.additionalProperties ?? true) as S, wAdd = (w.additionalProperties ?? true) as S;
  for (const [name, ws] of Object.entries(wp)) {
    const rs = rp[name] ?? rAdd;
    out.push(...jsonIncompatibilities(rs, ws, `${path}/properties/${name}`));
  }
  for (const [name, rs] of Object.entries(rp)) {
    if (!(name in wp)) out.push(...jsonIncompatibilities(rs, wAdd, `${path}/properties/${name}`));
  }
  if (!(rAdd === true && wAdd === true)) out.push(...jsonIncompatibilities(rAdd, wAdd, `${path}/additionalProperties`));
  const wReq = new Set(Array.isArray(w.required) ? w.required.map(String) : []);
  for (const name of Array.isArray(r.required) ? r.required.map(String) : []) {
    if (!wReq.has(name)) out.push(`${path}: property ${name} is newly required`);
  }
  // Arrays.
  if (r.items !== undefined || w.items !== undefined) {
    if (Array.isArray(r.items) || Array.isArray(w.items)) {
      if (!same(r.items, w.items)) out.push(`${path}/items: tuple items changed`);
    } else out.push(...jsonIncompatibilities((r.items ?? true) as S, (w.items ?? true) as S, `${path}/items`));
  }
  return out;
}
