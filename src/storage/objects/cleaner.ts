// Log compaction (cleanup.policy=compact) on the object data path, with the file and PostgreSQL engines' rules
// (../compaction.ts: latest record per key kept at its offset, tombstones dropped after delete.retention.ms,
// aborted transactional data dropped, markers kept, a producer's last batch never dropped whole). The unit is an
// extent (one append's batches in one object):
// - Cleanable: the extents below the first still-open transaction (Kafka: the last stable offset), older than
//   min.compaction.lag.ms, and never the partition's last extent (Kafka's active segment). min.cleanable.dirty.ratio
//   is measured over their bytes, with how far a previous pass got kept as partition state ("cleaner-offset").
// - A pass reads the extents from the log start (transaction outcomes), builds the key map over the cleanable ones,
//   then filters each: an extent that loses records is written again, as the runs of offset-contiguous batches it
//   keeps (each run one extent, so readers still derive every batch's offset from its extent's base), into a new
//   object per round; one that loses all is dropped. Then ONE guarded PostgreSQL statement (rewriteExtents) switches
//   the round's extents: only while this broker holds the partition's leader epoch and each extent row is still the
//   one the pass read. The old objects become unreferenced and the object GC deletes them; the GC never deletes an
//   object an extent refers to.
// - Rounds go in offset order and each switch is atomic, and a record is dropped only when a later record of its
//   key, which this pass keeps, exists: a pass stopped anywhere leaves every extent whole, old or cleaned (a new
//   object written but never switched to is an orphan, swept after the grace period).
import { batchBaseOffsetNumber, batchLastOffsetDelta, batchMaxTimestamp } from "../../protocol/record_batch.ts";
import { prepareCompression } from "../../protocol/compression/index.ts";
import {
  cleanableRange,
  CLEANER_STATE,
  cleanerState,
  cleanSegmentBatches,
  type CleanStats,
  KeyMap,
  TxnIndex,
} from "../compaction.ts";
import type { CompactionConfig, PassHost } from "../compaction.ts";
import { encodeObject, type FooterEntry, newDataObjectKey } from "./format.ts";
import type { CleanableIndex, Extent, ExtentRewrite } from "./index.ts";
import type { ObjectReader } from "./reader.ts";
import type { ObjectStore } from "./store.ts";
import { ensureReferableInTime, ORPHAN_GRACE_MS } from "./writer.ts";
import { turn } from "../../runtime/turn.ts";

/** Bytes of new extents per round (one object, one index statement), and extents at most. */
const ROUND_BYTES = 8 << 20;
const ROUND_EXTENTS = 500;
const PAGE_BYTES = 16 << 20;

/** What a pass needs of a partition (the object log store's partition gives it). */
export type CleanTarget = PassHost & {
  index: CleanableIndex;
  reader: ObjectReader;
  store: ObjectStore;
  prefix: string;
  nodeId: number;
  clock: () => number;
  /** Where a pass leaves its transaction index for the next one (none: every pass reads the whole log). */
  kept?: { value: KeptIndex | null };
  /** Told what the pass read for transaction outcomes (before it decides whether there is enough to clean). */
  read?(r: { extents: number; bytes: number }): void;
  /** Extents per round (default 500; tests make rounds small). */
  roundExtents?: number;
  /** The orphan sweep's grace period (chronik.object.orphan.grace.ms; default ORPHAN_GRACE_MS). */
  orphanGraceMs?: number;
};

/** What a pass keeps for the next one of this broker: the transaction index of the log as it left it. */
export type KeptIndex = { txns: TxnIndex; logStart: number; pass: string };

export type CleanResult = {
  cleanedExtents: number;
  removed: number;
  markersRemoved: number;
  upTo: number;
  objects: number;
  /** Extents (and their bytes) read for transaction outcomes: all of them without a kept index, else the new ones. */
  read: { extents: number; bytes: number };
} | null;

/**
 * One compaction pass over `t`; null when there was nothing (or, unless `force`, not enough) to clean.
 * Throws when a round fails or this broker lost the partition (what earlier rounds switched stays, consistent).
 */
export async function cleanPartition(
  t: CleanTarget,
  cfg: CompactionConfig,
  now: number,
  force: boolean,
  onDamaged: (offset: number, why: string) => void,
): Promise<CleanResult> {
  const start = t.logStartOffset;
  const end = t.logEndOffset;
  if (end - start < 2) return null;
  // Pass 1: every extent from the log start (index rows only).
  const extents: Extent[] = [];
  for (let from = start; from < end;) {
    const page = await t.index.locate(t.topic, t.partition, from, PAGE_BYTES);
    if (page.length === 0) break;
    for (const e of page) extents.push(e);
    from = page[page.length - 1].lastOffset + 1;
  }
  if (extents.length < 2) return null;
  const state = await cleanerState((n) => t.readState(n));
  const upTo = state.upTo;
  // Transaction outcomes (and each producer's last batch, the delete horizons): what the previous pass of this
  // broker kept, while it still describes the log (same log start, no other broker's pass since), plus the
  // batches appended since; otherwise from every batch of the log.
  const kept = t.kept?.value ?? null;
  if (t.kept) t.kept.value = null; // given back only by a pass that ends well
  const reuse = kept !== null && kept.logStart === start && kept.pass === state.pass && kept.txns.notedTo <= end;
  const txns = reuse ? kept.txns : new TxnIndex(t.forgetAborted);
  const cleanableBelow = (firstOpen: number) =>
    cleanableRange(extents, cfg, now, firstOpen, upTo, force, t.young, reuse ? txns.horizons(now) : undefined);
  // Open transactions only shorten the cleanable part (and its dirty share): check before reading any object.
  // (Without a kept index the horizons are unknown: the objects are read, once.)
  const keep = () => {
    if (t.kept) t.kept.value = { txns, logStart: start, pass: state.pass };
  };
  if (reuse && !cleanableBelow(Infinity).enough) {
    keep();
    return null;
  }
  const read = { extents: 0, bytes: 0 };
  for (let i = 0; i < extents.length; i++) {
    const e = extents[i];
    if (e.lastOffset < txns.notedTo) continue;
    for (const b of await t.reader.extentBatches(e)) if (batchBaseOffsetNumber(b) >= txns.notedTo) txns.note(b);
    read.extents++;
    read.bytes += e.size;
    if (i % 100 === 99) await turn();
  }
  t.read?.(read);
  const { cleanEnd, cleanable, enough } = cleanableRange(
    extents,
    cfg,
    now,
    txns.firstOpenOffset(),
    upTo,
    force,
    t.young,
    txns.horizons(now),
  );
  if (!enough) {
    keep();
    return null;
  }

  // Pass 2: the latest offset of each key in the cleanable extents.
  const map = new KeyMap();
  const damaged = (b: Uint8Array, why: string) => onDamaged(batchBaseOffsetNumber(b), why);
  for (const e of cleanable) {
    for (const b of await t.reader.extentBatches(e)) map.add(b, txns, damaged);
  }

  // Pass 3: filter each cleanable extent; write what changes into a new object per round, then switch.
  await prepareCompression();
  const stats: CleanStats = { removed: 0 };
  let parts: Uint8Array[] = [], footer: FooterEntry[] = [], rewrites: ExtentRewrite[] = [];
  let at = 0, cleanedExtents = 0, objects = 0;
  const flush = async () => {
    if (rewrites.length === 0) return;
    const created = t.clock();
    let key: string | null = null, size = 0;
    if (parts.length > 0) {
      const body = encodeObject(parts, { version: 1, node: t.nodeId, created, entries: footer });
      key = newDataObjectKey(t.prefix, t.nodeId, created);
      await t.store.put(key, body, { ifNoneMatch: true });
      // As the writer's commits: the switch must land well within the orphan sweep's grace period, or the
      // sweep may delete the object (unknown to the index) just as the extents move to it.
      ensureReferableInTime(key, "switch to it", created, t.clock(), t.orphanGraceMs ?? ORPHAN_GRACE_MS);
      size = body.length;
      objects++;
    }
    const r = await t.index.rewriteExtents(t.topic, t.partition, key === null ? null : { key, size }, rewrites);
    if (r === null) throw new Error(`${t.topic}-${t.partition}: compaction stopped: this broker no longer leads it`);
    t.sized(r.sizeInBytes);
    cleanedExtents += r.applied;
    parts = [];
    footer = [];
    rewrites = [];
    at = 0;
  };
  for (const e of cleanable) {
    const batches = await t.reader.extentBatches(e);
    const cleaned = await cleanSegmentBatches(
      batches,
      map,
      now,
      cfg.deleteRetentionMs,
      stats,
      turn,
      txns,
      damaged,
    );
    if (cleaned === null) continue;
    const runs: ExtentRewrite["runs"] = [];
    for (const b of cleaned) {
      const base = batchBaseOffsetNumber(b);
      const last = base + batchLastOffsetDelta(b);
      const ts = Number(batchMaxTimestamp(b));
      const run = runs[runs.length - 1];
      if (run && run.lastOffset + 1 === base) {
        run.lastOffset = last;
        run.size += b.length;
        run.maxTimestamp = Math.max(run.maxTimestamp, ts);
      } else {
        runs.push({ baseOffset: base, lastOffset: last, position: at, size: b.length, maxTimestamp: ts });
      }
      parts.push(b);
      at += b.length;
    }
    for (const r of runs) {
      footer.push({
        topic: t.topic,
        partition: t.partition,
        position: r.position,
        size: r.size,
        records: r.lastOffset - r.baseOffset + 1,
      });
    }
    rewrites.push({ from: e, runs });
    if (rewrites.length >= (t.roundExtents ?? ROUND_EXTENTS) || at >= ROUND_BYTES) await flush();
  }
  await flush();
  if (stats.horizon !== undefined) t.young?.(stats.horizon);
  const pass = crypto.randomUUID();
  await t.writeState(CLEANER_STATE, new TextEncoder().encode(`${Math.max(cleanEnd, upTo)} ${pass}`));
  txns.passDone();
  if (t.kept) t.kept.value = { txns, logStart: start, pass };
  return {
    cleanedExtents,
    removed: stats.removed,
    markersRemoved: stats.markersRemoved ?? 0,
    upTo: cleanEnd,
    objects,
    read,
  };
}
