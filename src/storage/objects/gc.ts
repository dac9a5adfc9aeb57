// Deleting data objects, by two rules and only ever keys that isDataObjectKey() accepts (our naming under
// our prefix), so nothing the broker did not write is touched:
// 1. Objects the index says no extent refers to any more (retention, DeleteRecords, deleted topics) are
//    deleted, then forgotten by the index. An object is forgotten only once its deletion succeeded.
// 2. Orphans: objects of ours that the index does not know (the broker died between PUT and commit, or the
//    commit failed) are deleted once older than the grace period, by the time in their name and by the
//    store's last-modified time. The writer refuses to commit an object older than half the grace period,
//    so an object being committed is never swept.
import { dataObjectTime, dataPrefix, isDataObjectKey } from "./format.ts";
import type { ObjectIndex } from "./index.ts";
import { ORPHAN_GRACE_MS } from "./writer.ts";
import { listAll, type ObjectStore } from "./store.ts";

export type GcOptions = {
  store: ObjectStore;
  index: ObjectIndex;
  prefix: string;
  orphanGraceMs?: number;
  clock?: () => number;
  /** Called for each deleted key (e.g. ObjectReader.forget). */
  onDeleted?: (key: string) => void;
};

export type GcResult = { unreferenced: string[]; orphans: string[]; errors: { key: string; message: string }[] };

/** Deletes what no extent refers to, up to `limit` objects per call. */
export async function deleteUnreferenced(options: GcOptions, limit = 1000): Promise<GcResult> {
  const result: GcResult = { unreferenced: [], orphans: [], errors: [] };
  const keys = (await options.index.unreferencedObjects(limit)).filter((k) => isDataObjectKey(options.prefix, k));
  if (keys.length === 0) return result;
  const r = await options.store.deleteMany(keys);
  for (const e of r.errors) result.errors.push({ key: e.key, message: `${e.code}: ${e.message}` });
  await options.index.forgetObjects(r.deleted);
  for (const k of r.deleted) options.onDeleted?.(k);
  result.unreferenced = r.deleted;
  return result;
}

/** Lists our data objects and deletes those the index does not know that are older than the grace period. */
export async function sweepOrphans(options: GcOptions): Promise<GcResult> {
  const result: GcResult = { unreferenced: [], orphans: [], errors: [] };
  const now = (options.clock ?? Date.now)();
  const grace = options.orphanGraceMs ?? ORPHAN_GRACE_MS;
  let candidates: string[] = [];
  const settle = async () => {
    if (candidates.length === 0) return;
    const known = await options.index.knownObjects(candidates);
    const orphans = candidates.filter((k) => !known.has(k));
    candidates = [];
    if (orphans.length === 0) return;
    const r = await options.store.deleteMany(orphans);
    for (const e of r.errors) result.errors.push({ key: e.key, message: `${e.code}: ${e.message}` });
    for (const k of r.deleted) options.onDeleted?.(k);
    result.orphans.push(...r.deleted);
  };
  for await (const o of listAll(options.store, dataPrefix(options.prefix))) {
    const born = dataObjectTime(options.prefix, o.key);
    if (born === null) continue; // not ours: never touched
    if (now - born < grace || now - o.lastModified < grace) continue;
    candidates.push(o.key);
    if (candidates.length >= 1000) await settle();
  }
  await settle();
  return result;
}
