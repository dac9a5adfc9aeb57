// Data objects: their names and their layout.
//
// Name: <prefix>/chronik-data/v1/<13-digit ms>-n<node id>-<16 hex random>.kob
//   Only keys of exactly this shape under the configured prefix are ever deleted (isDataObjectKey), so a
//   bucket or prefix shared with anything else is safe. The time in the name lets the orphan sweep judge an
//   object's age without a HEAD; the random part makes names unique across brokers and restarts.
// Layout: the record batches of every entry back to back, grouped by partition (so one partition's batches
//   in an object are one contiguous range: one ranged GET), then a footer describing the entries, then
//   8 bytes: the footer's length (uint32 big-endian) and the magic "CKO1". Batches are stored as producers
//   sent them; their base offsets are assigned at commit and written by readers (the index has them), so
//   the footer makes an object readable without the index (inspection, recovery), not a second index.

export const DATA_DIR = "chronik-data/v1/";
const MAGIC = [0x43, 0x4b, 0x4f, 0x31]; // "CKO1"

/** The prefix under which data objects live, from the configured prefix ("" or "a/b"). */
export function dataPrefix(prefix: string): string {
  const p = prefix.replace(/^\/+|\/+$/g, "");
  return p === "" ? DATA_DIR : `${p}/${DATA_DIR}`;
}

export function newDataObjectKey(prefix: string, nodeId: number, nowMs: number): string {
  const rnd = crypto.getRandomValues(new Uint8Array(8));
  let hex = "";
  for (const b of rnd) hex += (b < 16 ? "0" : "") + b.toString(16);
  return `${dataPrefix(prefix)}${String(Math.floor(nowMs)).padStart(13, "0")}-n${nodeId}-${hex}.kob`;
}

const NAME = /^(\d{13})-n(\d+)-[0-9a-f]{16}\.kob$/;

/** True only for names this module makes, directly under dataPrefix(prefix). */
export function isDataObjectKey(prefix: string, key: string): boolean {
  const dp = dataPrefix(prefix);
  return key.startsWith(dp) && NAME.test(key.slice(dp.length));
}

/** The creation time written into a data object's name, or null for any other key. */
export function dataObjectTime(prefix: string, key: string): number | null {
  if (!isDataObjectKey(prefix, key)) return null;
  return Number(NAME.exec(key.slice(dataPrefix(prefix).length))![1]);
}

export type FooterEntry = { topic: string; partition: number; position: number; size: number; records: number };
export type Footer = { version: 1; node: number; created: number; entries: FooterEntry[] };

/** The object: `parts` (already in layout order) followed by the footer. */
export function encodeObject(parts: readonly Uint8Array[], footer: Footer): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(footer));
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size + json.length + 8);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  out.set(json, at);
  at += json.length;
  new DataView(out.buffer).setUint32(at, json.length);
  out.set(MAGIC, at + 4);
  return out;
}

export function decodeFooter(object: Uint8Array): Footer {
  const n = object.length;
  if (n < 8 || MAGIC.some((m, i) => object[n - 4 + i] !== m)) throw new Error("not a chronik data object");
  const len = new DataView(object.buffer, object.byteOffset).getUint32(n - 8);
  if (len > n - 8) throw new Error("data object footer length out of range");
  return JSON.parse(new TextDecoder().decode(object.subarray(n - 8 - len, n - 8)));
}
