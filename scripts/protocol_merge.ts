// Merges two editions of one Kafka message schema into one that describes every version of both:
// each version's layout is taken from the edition that describes it. Kafka 4.x (messages-4.1/)
// dropped old versions of many APIs (KIP-896) and added new ones; the broker keeps serving the old
// versions (from messages/) for old clients and serves the new ones (from messages-4.1/).
//
// The result is an ordinary schema whose field, nullable and tagged version ranges are explicit:
// versions >= the newer edition's minimum come from the newer edition, older ones from the older.
// A field both editions have (same name) is one field whose ranges are the union; a field only the
// older edition has keeps its place after its predecessor there. Anything that cannot be expressed
// as one contiguous range per field, or that changes a field's type, default or tag, throws, so a
// merge that would change the wire layout of any version is never written silently.

export type MergeField = {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string | number | boolean;
  fields?: MergeField[];
  flexibleVersions?: string;
  [k: string]: unknown;
};

export type MergeSchema = {
  apiKey?: number;
  type: string;
  name: string;
  validVersions: string;
  flexibleVersions: string;
  latestVersionUnstable?: boolean;
  fields: MergeField[];
  commonStructs?: { name: string; versions: string; fields: MergeField[] }[];
  [k: string]: unknown;
};

type Span = { since: number; until?: number } | null;

/** A schema version range ("N+", "N-M", "N", "none" or absent: null); throws on anything else. */
export function span(s: string | undefined): Span {
  if (s === undefined || s === "none") return null;
  let m = /^(\d+)\+$/.exec(s);
  if (m) return { since: +m[1] };
  m = /^(\d+)-(\d+)$/.exec(s);
  if (m) return { since: +m[1], until: +m[2] };
  m = /^(\d+)$/.exec(s);
  if (m) return { since: +m[1], until: +m[1] };
  throw new Error(`bad version range ${s}`);
}

const within = (r: Span, v: number) => r !== null && v >= r.since && (r.until === undefined || v <= r.until);

/** The versions of [lo, hi] in `set` as one range string; open ("N+") when it reaches hi and `open`. */
function rangeOf(set: boolean[], lo: number, hi: number, open: boolean, where: string): string | undefined {
  const vs: number[] = [];
  for (let v = lo; v <= hi; v++) if (set[v]) vs.push(v);
  if (!vs.length) return undefined;
  const a = vs[0], b = vs[vs.length - 1];
  if (b - a + 1 !== vs.length) throw new Error(`${where}: versions ${vs.join(",")} are not one range`);
  if (b === hi && open) return `${a}+`;
  return a === b ? `${a}` : `${a}-${b}`;
}

type Ctx = { lo: number; hi: number; split: number; where: string };

/** Versions (as a boolean per version) where `r` holds, restricted to the edition's own versions. */
function mark(r: Span, from: number, to: number, into: boolean[]) {
  for (let v = from; v <= to; v++) if (within(r, v)) into[v] = true;
}

function baseType(t: string) {
  return t.replace(/^\[\]/, "");
}

function mergeField(o: MergeField | undefined, n: MergeField | undefined, ctx: Ctx): MergeField | null {
  const f = (n ?? o)!;
  const where = `${ctx.where}.${f.name}`;
  const present: boolean[] = [], nullable: boolean[] = [], tagged: boolean[] = [];
  if (o) {
    mark(span(o.versions), ctx.lo, ctx.split - 1, present);
    mark(span(o.nullableVersions), ctx.lo, ctx.split - 1, nullable);
    mark(span(o.taggedVersions), ctx.lo, ctx.split - 1, tagged);
  }
  if (n) {
    mark(span(n.versions), ctx.split, ctx.hi, present);
    mark(span(n.nullableVersions), ctx.split, ctx.hi, nullable);
    mark(span(n.taggedVersions), ctx.split, ctx.hi, tagged);
  }
  // Nullability and tagging only matter where the field is present.
  for (let v = ctx.lo; v <= ctx.hi; v++) if (!present[v]) nullable[v] = tagged[v] = false;
  const versions = rangeOf(present, ctx.lo, ctx.hi, !!n && span(n.versions)?.until === undefined, where);
  if (versions === undefined) return null;
  if (o && n) {
    const oa = o.type.startsWith("[]"), na = n.type.startsWith("[]");
    const oPrim = !o.fields && /^[a-z]/.test(baseType(o.type));
    if (oa !== na || (oPrim && o.type !== n.type)) throw new Error(`${where}: type ${o.type} -> ${n.type}`);
    if (String(o.default) !== String(n.default)) throw new Error(`${where}: default ${o.default} -> ${n.default}`);
    if (o.tag !== undefined && n.tag !== undefined && Number(o.tag) !== Number(n.tag)) {
      throw new Error(`${where}: tag changed`);
    }
  }
  const out: MergeField = { ...f, versions };
  delete out.nullableVersions;
  delete out.taggedVersions;
  const nv = rangeOf(nullable, ctx.lo, ctx.hi, !!span((n ?? o)!.nullableVersions) && versions.endsWith("+"), where);
  if (nv !== undefined) out.nullableVersions = nv;
  const tv = rangeOf(tagged, ctx.lo, ctx.hi, versions.endsWith("+"), where);
  if (tv !== undefined) {
    out.taggedVersions = tv;
    out.tag = (n?.tag ?? o?.tag)!;
  } else delete out.tag;
  if (f.fields || o?.fields) {
    out.fields = mergeFields(o?.fields ?? [], n?.fields ?? [], { ...ctx, where });
  }
  return out;
}

function mergeFields(olds: MergeField[], news: MergeField[], ctx: Ctx): MergeField[] {
  const oldBy = new Map(olds.map((f) => [f.name, f]));
  const newNames = new Set(news.map((f) => f.name));
  const out: MergeField[] = [];
  for (const n of news) {
    const m = mergeField(oldBy.get(n.name), n, ctx);
    if (m) out.push(m);
  }
  // Fields only the older edition has: after their predecessor there (or first).
  let after: string | null = null;
  for (const o of olds) {
    if (newNames.has(o.name)) {
      after = o.name;
      continue;
    }
    const m = mergeField(o, undefined, ctx);
    if (m) {
      const i = after === null ? 0 : out.findIndex((f) => f.name === after) + 1;
      out.splice(i, 0, m);
    }
    after = o.name;
  }
  return out;
}

/**
 * One schema for every version of `older` and `newer` (same API or data type). `newer` may be
 * undefined or have no versions ("none"): then `older` is returned as it is, and the reverse.
 */
export function mergeSchema(older: MergeSchema | undefined, newer: MergeSchema | undefined): MergeSchema {
  const ov = span(older?.validVersions), nv = span(newer?.validVersions);
  if (!older || !ov) return newer!;
  if (!newer || !nv) return older;
  const lo = Math.min(ov.since, nv.since), hi = nv.until ?? nv.since;
  const oHi = ov.until ?? ov.since;
  if (hi < oHi) throw new Error(`${newer.name}: the newer edition ends before the older`);
  if (nv.since > oHi + 1) throw new Error(`${newer.name}: a gap between v${oHi} and v${nv.since}`);
  if (span(older.flexibleVersions)?.since !== span(newer.flexibleVersions)?.since) {
    throw new Error(`${newer.name}: flexibleVersions ${older.flexibleVersions} -> ${newer.flexibleVersions}`);
  }
  const split = nv.since;
  const ctx: Ctx = { lo, hi, split, where: newer.name };
  const commons = new Map<string, { name: string; versions: string; fields: MergeField[] }>();
  const oc = new Map((older.commonStructs ?? []).map((c) => [c.name, c]));
  const nc = new Map((newer.commonStructs ?? []).map((c) => [c.name, c]));
  for (const name of new Set([...nc.keys(), ...oc.keys()])) {
    const o = oc.get(name), n = nc.get(name);
    commons.set(name, {
      name,
      versions: `${lo}+`,
      fields: mergeFields(o?.fields ?? [], n?.fields ?? [], { ...ctx, where: `${newer.name}.${name}` }),
    });
  }
  const merged: MergeSchema = {
    ...newer,
    validVersions: lo === hi ? `${lo}` : `${lo}-${hi}`,
    flexibleVersions: newer.flexibleVersions,
    fields: mergeFields(older.fields, newer.fields, ctx),
  };
  if (commons.size) merged.commonStructs = [...commons.values()];
  else delete merged.commonStructs;
  return merged;
}
