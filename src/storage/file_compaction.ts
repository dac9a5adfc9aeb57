// Compaction of a file-engine partition (cleanup.policy=compact), split from file.ts: the rules are the shared ones
// (compaction.ts); here the segments are the unit. A pass reads every segment from the log start for transaction
// outcomes (a segment whose framing breaks ends what is cleaned), builds the key map over the cleanable segments, and
// writes each segment that changes beside the old one (`.cleaned`, fsynced), renames it `.swap`, and swaps it in once
// reads of the old one are done (load() finishes or drops a swap a crash interrupted).
import { prepareCompression } from "../protocol/compression/index.ts";
import { batchBaseOffsetNumber } from "../protocol/record_batch.ts";
import { cleanableRange, cleanSegmentBatches, type CleanStats, KeyMap, TxnIndex } from "./compaction.ts";
import type { FilePartitionLog } from "./file.ts";
import { batchMaxTs, Segment } from "./segment.ts";
import { turn } from "../runtime/turn.ts";

/** The partition file holding how far compaction has cleaned. */
export const CLEANER_FILE = "cleaner-offset";

/** Compaction of the rolled segments old enough for min.compaction.lag.ms; keeps offsets. */
export function compactFilePartition(p: FilePartitionLog, force: boolean): Promise<void> {
  return p.exclusive(async () => {
    if (p.closed || p.failed) return;
    const cfg = p.config();
    if (!cfg.compactPolicy) return;
    const now = p.core.now();
    // Transaction outcomes over the whole log: aborted data goes, and nothing at or past the
    // first still-open transaction is cleaned (its outcome is unknown).
    const txns = new TxnIndex(p.abortedTxnListeners.emit);
    // A segment whose framing is broken somewhere is not cleaned, nor anything after it (what
    // follows the break is unknown): its batches stay as they are, reported once.
    let damagedFrom = Infinity;
    for (const s of p.segments) {
      if (s.next <= p.logStartOffset) continue;
      const r = await p.visit(s, Math.max(s.base, p.logStartOffset), (batch) => txns.note(batch));
      if ((r.error !== null || s.damage !== null) && damagedFrom === Infinity) {
        damagedFrom = s.base;
        reportCleanerDamage(p, s, `byte ${r.error !== null ? r.pos : s.damage!.pos}`, r.error ?? s.damage!.reason);
      }
      await turn();
    }
    const firstOpen = Math.min(txns.firstOpenOffset(), damagedFrom);
    const live = p.segments.filter((s) => s.next > p.logStartOffset);
    if (live.length === 0) return;
    const units = live.map((s) => ({
      seg: s,
      baseOffset: s.base,
      lastOffset: s.next - 1,
      maxTimestamp: s.maxTs,
      size: s.size,
    }));
    const range = cleanableRange(units, cfg, now, firstOpen, p.cleanedUpTo, force, undefined, txns.horizons(now));
    if (!range.enough) return;
    const cleanable = range.cleanable.map((u) => u.seg);
    const map = new KeyMap();
    for (const s of cleanable) {
      const onDamaged = (batch: Uint8Array, why: string) =>
        reportCleanerDamage(p, s, `offset ${batchBaseOffsetNumber(batch, 0)}`, why);
      await p.visit(s, s.base, (batch) => map.add(batch, txns, onDamaged));
      await turn();
    }
    const stats: CleanStats = { removed: 0 };
    // Rewritten zstd batches need the wasm encoder, which loads in the background at start-up.
    await prepareCompression();
    let upTo = cleanable[0].base;
    for (const s of cleanable) {
      if (p.closed) return;
      const batches: Uint8Array[] = [];
      const scan = await p.visit(s, s.base, (batch) => {
        batches.push(batch);
      });
      if (scan.error !== null) break; // (changed since the first pass) never swap in a partial copy
      const onDamaged = (batch: Uint8Array, why: string) =>
        reportCleanerDamage(p, s, `offset ${batchBaseOffsetNumber(batch, 0)}`, why);
      const cleaned = await cleanSegmentBatches(
        batches,
        map,
        now,
        cfg.deleteRetentionMs,
        stats,
        turn,
        txns,
        onDamaged,
      );
      if (cleaned !== null) await swap(p, s, cleaned);
      upTo = s.next;
    }
    upTo = Math.max(upTo, p.cleanedUpTo);
    p.cleanedUpTo = upTo;
    await p.core.fs.writeFileAtomic(`${p.dir}/${CLEANER_FILE}`, new TextEncoder().encode(String(upTo)));
    p.core.stats.compactions++;
    p.core.stats.recordsCompactedAway += stats.removed;
    p.core.log(
      "info",
      `${p.topic}-${p.partition}: compacted ${cleanable.length} segment(s), ${stats.removed} record(s) removed` +
        (stats.markersRemoved ? `, ${stats.markersRemoved} transaction marker(s) removed` : ""),
    );
  });
}

/** The cleaner met a damaged batch: logged once per place per process, then skipped quietly. */
function reportCleanerDamage(p: FilePartitionLog, seg: Segment, where: string, why: string): void {
  const key = `${seg.base}:${where}`;
  if (p.cleanerReported.has(key)) return;
  p.cleanerReported.add(key);
  p.core.log(
    "warn",
    `${p.topic}-${p.partition}: compaction skips a damaged record batch at ${where} of ${seg.logPath} (${why}); ` +
      `it is kept as it is (see the README, Storage: damaged segments)`,
  );
}

/** Replaces a rolled segment by its cleaned copy: `.cleaned` → `.swap` → `.log` (load() finishes a torn swap). */
async function swap(p: FilePartitionLog, old: Segment, batches: Uint8Array[]): Promise<void> {
  const { fs } = p.core;
  await p.rollFlush; // the old segment's own indexes must not land over the cleaned one's
  const cfg = p.config();
  const fresh = new Segment(p.dir, old.base, old.created);
  fresh.next = old.next;
  let size = 0;
  for (const b of batches) size += b.length;
  const data = new Uint8Array(size);
  let at = 0;
  for (const b of batches) {
    data.set(b, at);
    fresh.noteBatch(at, b.length, batchBaseOffsetNumber(b, 0), batchMaxTs(b, 0), cfg.indexInterval);
    at += b.length;
  }
  fresh.maybeAddTime();
  // Kept batches were copied from disk, not validated on append (a damaged one stays as it was):
  // reads check them once, as for a loaded segment.
  fresh.size = fresh.trustedFrom = size;
  fresh.lastAppend = old.lastAppend;
  const cleanedPath = `${old.path}.log.cleaned`;
  const swapPath = `${old.path}.log.swap`;
  const h = await fs.open(cleanedPath, { create: true });
  try {
    await h.truncate(0);
    if (size > 0) await h.append(data);
    await h.sync();
  } finally {
    await h.close();
  }
  await fs.rename(cleanedPath, swapPath);
  const i = p.segments.indexOf(old);
  if (i < 0) {
    await fs.remove(swapPath);
    return;
  }
  fresh.gate = (async () => {
    while (old.readers > 0) await new Promise((r) => setTimeout(r, 5));
    if (old.handle) await p.core.commit.settled(old.handle);
    await old.closeHandle();
    await fs.remove(`${old.path}.index`);
    await fs.remove(`${old.path}.timeindex`);
    await fs.rename(swapPath, old.logPath);
    await p.writeIndexes(fresh);
  })();
  p.segments[i] = fresh;
  old.retired = true;
  p.sizeInBytes += fresh.size - old.size;
  try {
    await fresh.gate;
  } catch (e) {
    p.fail(e, "compaction swap failed");
    throw e;
  }
  fresh.gate = null;
}
