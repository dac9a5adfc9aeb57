// Small-object compaction. A low-traffic cluster or a short flush.ms makes many small objects: each costs a
// GET on a cold read and an index row per partition. This rewrites the still-referenced extents of small
// objects into one object (grouped by partition, in offset order), moves the index's extents to it in one
// transaction, and leaves the old objects unreferenced for gc.ts to delete. Readers that located an extent
// in an old object just before it was deleted re-locate (reader.ts retries once on NoSuchKey).
//
// Safety: the new object is written create-only before the index changes; a crash in between leaves an
// orphan (swept later). Extents dropped meanwhile by retention are skipped by moveExtents, never revived.
// As the writer's commits and the cleaner's switches, the move is refused once the new object is older than half
// the orphan sweep's grace period (after a slow PUT the sweep could delete it, unknown to the index, just as the
// extents move to it, and gc.ts would then delete the old objects: records lost); the round fails, the new
// object is an orphan, and the next round starts again.
import { encodeObject, type FooterEntry, newDataObjectKey } from "./format.ts";
import type { CompactableIndex, Extent } from "./index.ts";
import type { ObjectStore } from "./store.ts";
import { ensureReferableInTime, ORPHAN_GRACE_MS } from "./writer.ts";

export type CompactOptions = {
  store: ObjectStore;
  index: CompactableIndex;
  prefix: string;
  nodeId: number;
  /** Objects with fewer referenced bytes than this are candidates (default 1 MiB). */
  smallBytes?: number;
  /** Stop gathering once the new object would hold this much (default 8 MiB). */
  targetBytes?: number;
  clock?: () => number;
  /** The orphan sweep's grace period (chronik.object.orphan.grace.ms; default ORPHAN_GRACE_MS). */
  orphanGraceMs?: number;
};

export type CompactResult = { newKey: string | null; sources: string[]; moved: number; bytes: number };

/** One compaction round: at most one new object. Does nothing with fewer than two candidates. */
export async function compactSmallObjects(o: CompactOptions): Promise<CompactResult> {
  const smallBytes = o.smallBytes ?? 1 << 20;
  const targetBytes = o.targetBytes ?? 8 << 20;
  const candidates = await o.index.smallObjects(smallBytes, 1000);
  const chosen: { key: string; extents: Extent[] }[] = [];
  let bytes = 0;
  for (const c of candidates) {
    const live = c.extents.reduce((n, e) => n + e.size, 0);
    if (chosen.length > 0 && bytes + live > targetBytes) break;
    chosen.push(c);
    bytes += live;
  }
  if (chosen.length < 2) return { newKey: null, sources: [], moved: 0, bytes: 0 };

  // One ranged GET per source object, covering its referenced extents.
  const data = new Map<Extent, Uint8Array>();
  await Promise.all(chosen.map(async ({ key, extents }) => {
    const start = Math.min(...extents.map((e) => e.position));
    const end = Math.max(...extents.map((e) => e.position + e.size));
    const body = await o.store.get(key, { offset: start, length: end - start });
    for (const e of extents) data.set(e, body.subarray(e.position - start, e.position - start + e.size));
  }));

  const extents = chosen.flatMap((c) => c.extents).sort((a, b) =>
    a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition || a.baseOffset - b.baseOffset
  );
  const footer: FooterEntry[] = [];
  const moves: { from: Extent; position: number }[] = [];
  let at = 0;
  for (const e of extents) {
    footer.push({
      topic: e.topic,
      partition: e.partition,
      position: at,
      size: e.size,
      records: e.lastOffset - e.baseOffset + 1,
    });
    moves.push({ from: e, position: at });
    at += e.size;
  }
  const clock = o.clock ?? Date.now;
  const now = clock();
  const body = encodeObject(extents.map((e) => data.get(e)!), {
    version: 1,
    node: o.nodeId,
    created: now,
    entries: footer,
  });
  const newKey = newDataObjectKey(o.prefix, o.nodeId, now);
  await o.store.put(newKey, body, { ifNoneMatch: true });
  ensureReferableInTime(newKey, "move extents to it", now, clock(), o.orphanGraceMs ?? ORPHAN_GRACE_MS);
  const moved = await o.index.moveExtents(newKey, moves);
  return { newKey, sources: chosen.map((c) => c.key), moved, bytes: at };
}
