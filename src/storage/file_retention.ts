// Retention and the log start of a file-engine partition (split from file.ts): retention.ms / retention.bytes delete
// whole segments from the oldest (the plan is retention.ts's, as Kafka's UnifiedLog.deleteOldSegments), DeleteRecords
// moves the log start; a segment wholly below the log start leaves the list at once and its files go once its readers
// are done, after file.delete.delay.ms.
import type { FilePartitionLog } from "./file.ts";
import { LOG_START_FILE } from "./file_load.ts";
import { retentionPlan } from "./retention.ts";
import type { Segment } from "./segment.ts";
import { errText } from "./store.ts";

/** Moves the log start (DeleteRecords) and drops the segments wholly below it. */
export function advanceLogStart(log: FilePartitionLog, offset: number): Promise<void> {
  return log.exclusive(async () => {
    const to = Math.min(offset, log.logEndOffset);
    if (to <= log.logStartOffset) return;
    await log.core.fs.writeFileAtomic(`${log.dir}/${LOG_START_FILE}`, new TextEncoder().encode(String(to)));
    log.logStartOffset = to;
    dropSegmentsBelowStart(log);
  });
}

function dropSegmentsBelowStart(log: FilePartitionLog): void {
  while (log.segments.length > 1 && log.segments[1].base <= log.logStartOffset) {
    const s = log.segments.shift()!;
    log.sizeInBytes -= s.size;
    retire(log, s);
  }
}

/** Removes a segment no longer in the list once readers are done (after file.delete.delay.ms). */
function retire(log: FilePartitionLog, seg: Segment): void {
  seg.retired = true;
  log.core.stats.segmentsDeleted++;
  const delay = log.closed ? 0 : log.config().fileDeleteDelayMs;
  const go = async () => {
    while (seg.readers > 0) await new Promise((r) => setTimeout(r, 10));
    await log.rollFlush; // a flush that started before the retirement finishes first
    await removeSegmentFiles(log, seg).catch((e) =>
      log.core.log("warn", `could not delete ${seg.logPath}: ${errText(e)}`)
    );
  };
  if (delay <= 0) log.pendingDeletes.push(go());
  else {
    const t = setTimeout(() => {
      log.timers.delete(t);
      log.pendingDeletes.push(go());
    }, Math.min(delay, 0x7fffffff));
    log.timers.set(t, go);
  }
}

/** Deletes a segment's files (after its last durable write settled). */
export async function removeSegmentFiles(log: FilePartitionLog, seg: Segment): Promise<void> {
  // A durable append or flush.ms sync may still be queued for it: closing first would fail it.
  if (seg.handle) await log.core.commit.settled(seg.handle);
  await seg.closeHandle();
  const { fs } = log.core;
  await fs.remove(seg.logPath);
  await fs.remove(`${seg.path}.index`);
  await fs.remove(`${seg.path}.timeindex`);
}

/** retention.ms / retention.bytes: deletes whole segments from the oldest, then moves the log start. */
export function retain(log: FilePartitionLog): Promise<void> {
  return log.exclusive(async () => {
    if (log.closed || log.failed) return;
    const cfg = log.config();
    if (!cfg.deletePolicy) return;
    const now = log.core.now();
    let plan = retentionPlan(log.segments, now, cfg.retentionMs, cfg.retentionBytes, log.sizeInBytes);
    if (plan.count === 0) return;
    if (plan.count === log.segments.length) {
      // Everything expired: roll so the active segment can go too (Kafka does the same).
      if (log.active.size === 0) plan = { ...plan, count: plan.count - 1 };
      else await log.rollIfNotEmpty();
    }
    const victims = log.segments.slice(0, plan.count);
    if (victims.length === 0) return;
    const newStart = Math.max(log.logStartOffset, log.segments[plan.count].base);
    await log.core.fs.writeFileAtomic(`${log.dir}/${LOG_START_FILE}`, new TextEncoder().encode(String(newStart)));
    log.logStartOffset = newStart;
    log.core.log(
      "info",
      `${log.topic}-${log.partition}: retention (${plan.reason}) deletes ${victims.length} segment(s); log start offset ${newStart}`,
    );
    dropSegmentsBelowStart(log);
  });
}
