// Loading a file-engine partition (split from file.ts): an interrupted compaction swap is finished or dropped, the
// segments are listed, the log start and recovery point read back; after a clean stop the indexes are trusted (the
// tail past the last index entry is re-read to find the log end), after an unclean one every segment from the
// recovery point is scanned, CRCs checked, a torn or corrupt tail truncated (what follows it kept aside) and its
// indexes rebuilt.
import type { FileHandle } from "../runtime.ts";
import { batchBaseOffsetNumber, batchLastOffsetDelta } from "../protocol/record_batch.ts";
import { CLEANER_FILE } from "./file_compaction.ts";
import type { FilePartitionLog } from "./file.ts";
import { removeSegmentFiles } from "./file_retention.ts";
import { batchMaxTs, scanFile, Segment, segmentName } from "./segment.ts";

/** Partition files beside the segments: the log start (DeleteRecords, retention) and how far data is known flushed. */
export const LOG_START_FILE = "log-start-offset";
export const RECOVERY_POINT_FILE = "recovery-point";
/** Bytes read at a time by reads and tail checks, and by recovery scans. */
export const READ_CHUNK = 256 * 1024;
export const RECOVERY_CHUNK = 8 * 1024 * 1024;

/** Opens the partition's directory and brings the partition to its state before the stop. */
export async function loadPartition(log: FilePartitionLog): Promise<void> {
  const { fs } = log.core;
  await fs.mkdir(log.dir);
  let entries = await fs.list(log.dir);
  // Finish or undo a compaction swap interrupted by a crash.
  for (const e of entries) {
    if (e.name.endsWith(".cleaned") || e.name.includes(".tmp-")) await fs.remove(`${log.dir}/${e.name}`);
    else if (e.name.endsWith(".log.swap")) {
      const base = e.name.slice(0, -".log.swap".length);
      await fs.remove(`${log.dir}/${base}.index`);
      await fs.remove(`${log.dir}/${base}.timeindex`);
      await fs.rename(`${log.dir}/${e.name}`, `${log.dir}/${base}.log`);
    }
  }
  entries = await fs.list(log.dir);
  const sizes = new Map<number, number>();
  for (const e of entries) {
    const m = /^(\d{20})\.log$/.exec(e.name);
    if (m && !e.isDirectory) sizes.set(Number(m[1]), e.size);
  }
  const bases = [...sizes.keys()].sort((a, b) => a - b);
  const startText = await fs.readFile(`${log.dir}/${LOG_START_FILE}`);
  const checkpoint = startText ? Number(new TextDecoder().decode(startText)) : 0;
  const cleanerText = await fs.readFile(`${log.dir}/${CLEANER_FILE}`);
  log.cleanedUpTo = cleanerText ? Number(new TextDecoder().decode(cleanerText)) || 0 : 0;
  // Missing (a partition that never finished a roll's flush, or written before the file existed):
  // after an unclean stop every rolled segment is scanned.
  const pointText = await fs.readFile(`${log.dir}/${RECOVERY_POINT_FILE}`);
  const recoveryPoint = pointText ? Number(new TextDecoder().decode(pointText)) || 0 : 0;
  let rescanned = false;
  const now = log.core.now();
  if (bases.length === 0) {
    const seg = new Segment(log.dir, Number.isSafeInteger(checkpoint) ? checkpoint : 0, now);
    seg.handle = await fs.open(seg.logPath, { create: true });
    log.core.handles.touch(seg);
    log.segments = [seg];
    log.logStartOffset = log.logEndOffset = seg.base;
    return;
  }
  for (let i = 0; i < bases.length; i++) {
    const seg = new Segment(log.dir, bases[i], now);
    seg.size = seg.trustedFrom = sizes.get(bases[i])!;
    const last = i === bases.length - 1;
    const next = last ? null : bases[i + 1];
    const index = await fs.readFile(`${seg.path}.index`);
    const time = await fs.readFile(`${seg.path}.timeindex`);
    // An empty active segment needs no index files (a partition never written has none).
    const ok = seg.loadIndexes(index, time, seg.size, next) || (last && seg.size === 0 && index === null);
    if (!last) {
      seg.next = next!;
      if (!log.core.clean && seg.base >= recoveryPoint && seg.size > 0) {
        // Rolled, but its background flush may not have finished: its tail may be torn.
        await recoverSegment(log, seg, false, "segment not known to be flushed before an unclean shutdown");
        await log.writeIndexes(seg);
        rescanned = true;
      } else if (!ok && seg.size > 0) {
        await recoverSegment(log, seg, false, "index missing or stale");
        log.core.stats.indexRebuilds++;
        await log.writeIndexes(seg);
      }
      if (seg.maxTs >= 0) seg.created = seg.lastAppend = seg.tsN > 0 ? Math.min(now, seg.maxTs) : now;
      log.segments.push(seg);
      continue;
    }
    log.segments.push(seg);
    seg.handle = await fs.open(seg.logPath);
    seg.pins++; // recovery reads it through seg.handle
    try {
      if (log.core.clean && ok) {
        const loaded = { size: seg.size, idxN: seg.idxN, tsN: seg.tsN };
        await recoverTail(log, seg);
        // The files on disk still describe the segment exactly: a clean stop need not rewrite them.
        if (seg.size === loaded.size && seg.idxN === loaded.idxN && seg.tsN === loaded.tsN) seg.onDisk = loaded;
      } else {
        if (!ok && log.core.clean) log.core.stats.indexRebuilds++;
        seg.resetIndexes();
        await recoverSegment(log, seg, true, log.core.clean ? "index missing or stale" : "unclean shutdown");
      }
    } finally {
      log.core.handles.release(seg);
    }
  }
  for (const s of log.segments) log.sizeInBytes += s.size;
  log.logEndOffset = log.active.next;
  if (rescanned) {
    await fs.writeFileAtomic(
      `${log.dir}/${RECOVERY_POINT_FILE}`,
      new TextEncoder().encode(String(log.active.base)),
    );
  }
  log.logStartOffset = Math.max(
    log.segments[0].base,
    Number.isSafeInteger(checkpoint) ? Math.min(checkpoint, log.logEndOffset) : 0,
  );
  // Segments wholly below the log start are left over from a crash before their deletion.
  while (log.segments.length > 1 && log.segments[1].base <= log.logStartOffset) {
    const s = log.segments.shift()!;
    log.sizeInBytes -= s.size;
    await removeSegmentFiles(log, s);
  }
}

/** Clean start: the tail after the last index entry is re-read to find the log end (and verified). */
async function recoverTail(log: FilePartitionLog, seg: Segment): Promise<void> {
  const i = seg.idxN - 1;
  const from = i >= 0 ? seg.idxPos[i] : 0;
  const expect = i >= 0 ? seg.base + seg.idxOff[i] : seg.base;
  seg.truncateIndexFrom(Math.max(i, 0));
  seg.bytesSinceIndex = i >= 0 ? Infinity : 0;
  let first = true;
  let next = expect;
  const interval = log.config().indexInterval;
  const r = await scanFile(seg.handle!, from, seg.size, READ_CHUNK, true, (buf, at, pos, size) => {
    const base = batchBaseOffsetNumber(buf, at);
    if (first && base !== expect) return `index entry says offset ${expect}, log has ${base}`;
    if (base < next) return `offset ${base} goes backwards (expected >= ${next})`;
    first = false;
    seg.noteBatch(pos, size, base, batchMaxTs(buf, at), interval);
    next = base + batchLastOffsetDelta(buf, at) + 1;
  });
  if (r.error !== null) {
    // Stale index or a damaged tail despite the clean marker: scan the whole segment.
    log.core.stats.indexRebuilds++;
    seg.resetIndexes();
    await recoverSegment(log, seg, true, `clean-start check failed: ${r.error}`);
    return;
  }
  seg.next = next;
}

/** Scans a whole segment, rebuilding its indexes; truncates a bad tail (only the active segment). */
async function recoverSegment(log: FilePartitionLog, seg: Segment, active: boolean, why: string): Promise<void> {
  const { fs } = log.core;
  seg.resetIndexes();
  const h = seg.handle ?? await fs.open(seg.logPath);
  let next = seg.base;
  const interval = log.config().indexInterval;
  const r = await scanFile(h, 0, seg.size, RECOVERY_CHUNK, true, (buf, at, pos, size) => {
    const base = batchBaseOffsetNumber(buf, at);
    if (base < next) return `offset ${base} goes backwards (expected >= ${next})`;
    seg.noteBatch(pos, size, base, batchMaxTs(buf, at), interval);
    next = base + batchLastOffsetDelta(buf, at) + 1;
  });
  seg.maybeAddTime();
  if (active) {
    log.core.stats.recoveredPartitions++;
    seg.next = next;
  }
  if (r.error !== null) {
    const lost = seg.size - r.pos;
    log.core.stats.truncations++;
    log.core.stats.truncatedBytes += lost;
    log.core.log(
      "warn",
      `${log.topic}-${log.partition}: ${why}; truncating ${lost} bytes at position ${r.pos} of segment ${
        segmentName(seg.base)
      } (${r.error}); log end offset ${next}`,
    );
    if (!active) await keepAside(log, h, seg, r.pos);
    await h.truncate(r.pos);
    seg.size = r.pos;
  } else if (active && !log.core.clean) {
    log.core.log(
      "info",
      `${log.topic}-${log.partition}: recovered ${seg.size} bytes of segment ${
        segmentName(seg.base)
      } after an unclean shutdown; log end offset ${next}`,
    );
  }
  seg.verifiedTo = seg.size; // every batch left was CRC-checked by the scan
  if (!seg.handle) await h.close();
}

/**
 * Before a rolled segment is truncated at a damaged batch, the bytes cut off (the bad batch and
 * whatever followed it) are copied to `<segment>.log.damaged-<pos>`, never deleted: the broker
 * never reads that file again, an operator may.
 */
async function keepAside(log: FilePartitionLog, h: FileHandle, seg: Segment, from: number): Promise<void> {
  const path = `${seg.logPath}.damaged-${from}`;
  const out = await log.core.fs.open(path, { create: true });
  try {
    await out.truncate(0);
    for (let p = from; p < seg.size;) {
      const chunk = await h.read(p, Math.min(RECOVERY_CHUNK, seg.size - p));
      if (chunk.length === 0) break;
      await out.append(chunk);
      p += chunk.length;
    }
    await out.sync();
  } finally {
    await out.close();
  }
  log.core.log("warn", `${log.topic}-${log.partition}: the ${seg.size - from} bytes cut off are kept in ${path}`);
}
