// Retention by time and size over whole segments, as Kafka's UnifiedLog.deleteOldSegments:
// from the oldest segment on, delete while the segment's largest timestamp is older than
// retention.ms, or while the log stays at least retention.bytes without it.
// log.retention.check.interval.ms sets how often the store applies it (file.ts).

export type RetentionSegment = {
  readonly size: number;
  /** Largest record timestamp in the segment, -1 when none. */
  readonly maxTs: number;
  /** Wall clock of the segment's last append; stands in for a missing timestamp. */
  readonly lastAppend: number;
};

export type RetentionPlan = { count: number; reason: string };

/**
 * A topic's retention.ms and retention.bytes (-1 when unset) when its cleanup.policy includes delete; null
 * when it does not (the engines whose retention runs per partition row: PostgreSQL and the object store).
 */
export function deleteRetention(
  config: (topic: string, name: string) => string | undefined,
  topic: string,
): { ms: number; bytes: number } | null {
  if (!String(config(topic, "cleanup.policy") ?? "delete").includes("delete")) return null;
  return { ms: Number(config(topic, "retention.ms") ?? -1), bytes: Number(config(topic, "retention.bytes") ?? -1) };
}

/** How many leading segments retention deletes (it may include the active one; the caller rolls first). */
export function retentionPlan(
  segments: readonly RetentionSegment[],
  now: number,
  retentionMs: number,
  retentionBytes: number,
  totalBytes: number,
): RetentionPlan {
  let count = 0;
  let reason = "";
  if (retentionMs >= 0) {
    while (count < segments.length) {
      const s = segments[count];
      if (s.size === 0) break;
      const newest = s.maxTs >= 0 ? s.maxTs : s.lastAppend;
      if (newest >= now - retentionMs) break;
      count++;
    }
    if (count > 0) reason = `retention.ms=${retentionMs}`;
  }
  if (retentionBytes >= 0) {
    let diff = totalBytes - retentionBytes;
    let i = 0;
    while (i < segments.length && segments[i].size > 0 && diff - segments[i].size >= 0) {
      diff -= segments[i].size;
      i++;
    }
    if (i > count) {
      count = i;
      reason = `retention.bytes=${retentionBytes}`;
    }
  }
  return { count, reason };
}
