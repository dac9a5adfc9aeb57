// The contract between the object data path and its index (the sequencer): the PostgreSQL engine implements
// ObjectIndex; memoryObjectIndex() implements it for tests and single-process runs.
//
// Commit hook contract (writer.ts calls it):
// - commit(object, entries) is called once per data object, after the object is durably stored, and for
//   one writer never concurrently: objects are committed in the order they were cut, so a partition's
//   entries are sequenced in the order their appends were made.
// - Entries of one partition appear in append order; the index assigns their offsets in that order, dense
//   after the partition's current end, and records each entry's location (an Extent).
// - All accepted entries commit atomically (one transaction): after commit resolves they are readable and
//   durable; if it rejects, none of them may become visible later — except where the outcome was unknown
//   to the index itself (a lost COMMIT answer), which it must report as a rejection; producers then retry and
//   idempotence drops the duplicates.
// - An entry may be refused on its own (stale leader epoch, sequence error, unknown partition): its outcome
//   carries a Kafka error code and it takes no offsets. The other entries still commit.
// - An entry's expected log end (logEnd: the end its offsets were assigned from, after the partition's entries
//   before it) is checked against the partition's committed log end inside the same transaction that assigns
//   its offsets; a partition whose entries do not match takes no offsets (its entries are refused, the others
//   commit). So a commit whose outcome the broker never learnt (a hung PostgreSQL that runs it when it wakes)
//   cannot land after the broker resynced and committed the producer's retry: one of the two is refused.
// - A conditional entry (ifLogEnd, appendIf) is checked the same way but needs no leadership, so brokers
//   appending conditionally to one partition agree on one order. The writer commits it alone for its partition.
// - A commit must not take effect later than ORPHAN_GRACE_MS / 2 after the object's name was made (set a
//   statement time-out): the orphan sweep deletes unknown objects older than the grace period.

/** The batches of one append: one partition, contiguous bytes in one object. */
export type CommitEntry = {
  topic: string;
  partition: number;
  /** Byte offset of the entry in the object, and its length. */
  position: number;
  size: number;
  /** Offsets the entry takes (sum over its batches of lastOffsetDelta + 1). */
  records: number;
  /** Largest record timestamp in the entry (ms). */
  maxTimestamp: number;
  /**
   * The partition's committed log end the entry's offsets were assigned from (the end after this broker's
   * earlier appends to it): the entry commits only while that is still the log end before it; otherwise it is
   * refused with KAFKA_STORAGE_ERROR (retriable; the broker resyncs its view). Absent: not checked.
   */
  logEnd?: number;
  /**
   * A conditional append (PartitionLog.appendIf): the entry commits only while the partition's committed log
   * end (before it) is this offset, without any leader check; otherwise it is refused with `logEndMoved`.
   */
  ifLogEnd?: number;
  /**
   * Cluster: the leader epoch the produce was validated under (AppendOptions.leaderEpoch): committed only while this
   * broker leads at exactly that epoch. Absent: the epoch it holds when the commit is sent.
   */
  leaderEpoch?: number;
};

export type ObjectRef = { key: string; size: number };

export type CommitOutcome = { baseOffset: number } | {
  errorCode: number;
  message: string;
  /** A conditional entry (ifLogEnd) refused because the log end had moved. */
  logEndMoved?: boolean;
};

/** Where a committed entry lives. */
export type Extent = {
  topic: string;
  partition: number;
  objectKey: string;
  position: number;
  size: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
};

export type PartitionOffsets = { logStartOffset: number; logEndOffset: number; sizeInBytes: number };

export interface CommitHook {
  commit(object: ObjectRef, entries: readonly CommitEntry[]): Promise<CommitOutcome[]>;
}

export interface ObjectIndex extends CommitHook {
  /**
   * Extents of a partition in offset order: from the one holding `offset` (or the first after it), adding
   * extents while their total stays within `maxBytes` (the first one always).
   */
  locate(topic: string, partition: number, offset: number, maxBytes: number): Promise<Extent[]>;
  /** The partition's log start and end, and the bytes of its extents (0, 0, 0 for a partition never written). */
  offsets(topic: string, partition: number): Promise<PartitionOffsets>;
  /**
   * Opening a partition (the log store's open): as offsets(), and an index that keeps a row per partition
   * (PostgreSQL: leadership lives there) creates it. Absent: offsets() is used.
   */
  openPartition?(topic: string, partition: number): Promise<PartitionOffsets>;
  /** The first extent (from the log start) whose max timestamp is >= `timestamp`, or null. */
  locateTimestamp(topic: string, partition: number, timestamp: number): Promise<Extent | null>;
  /** The earliest extent holding the partition's largest max timestamp, or null when empty. */
  locateMaxTimestamp(topic: string, partition: number): Promise<Extent | null>;
  /** Retention and DeleteRecords: extents wholly below `offset` stop being referenced. */
  advanceLogStart(topic: string, partition: number, offset: number): Promise<void>;
  /** Deleting a topic: all its extents stop being referenced. */
  removePartition(topic: string, partition: number): Promise<void>;
  /** Committed objects that no extent refers to any more, oldest first, at most `limit`. */
  unreferencedObjects(limit: number): Promise<string[]>;
  /** Which of `keys` the index has ever committed and not yet forgotten. */
  knownObjects(keys: readonly string[]): Promise<Set<string>>;
  /** The objects were deleted from the store: forget them. */
  forgetObjects(keys: readonly string[]): Promise<void>;
}

/** What small-object compaction (compact.ts) needs besides ObjectIndex. */
export interface CompactableIndex extends ObjectIndex {
  /**
   * Committed objects whose referenced bytes total less than `maxLiveBytes`, oldest first, at most `limit`,
   * each with the extents that refer to it.
   */
  smallObjects(maxLiveBytes: number, limit: number): Promise<{ key: string; extents: Extent[] }[]>;
  /**
   * Atomically (one transaction) records `newKey` as a committed object and re-points each extent in `moves`
   * that is still referenced, unchanged, to `newKey` at `position`. Extents dropped meanwhile (retention,
   * DeleteRecords) are skipped. Returns how many moved. The same lateness rule as commit applies.
   */
  moveExtents(newKey: string, moves: readonly { from: Extent; position: number }[]): Promise<number>;
}

/** An extent log compaction (cleaner.ts) rewrote: the runs of offset-contiguous batches it keeps, in order. */
export type ExtentRewrite = {
  from: Extent;
  /** Each run becomes an extent in the new object (none: the extent is dropped). */
  runs: { baseOffset: number; lastOffset: number; position: number; size: number; maxTimestamp: number }[];
};

/** What log compaction of cleanup.policy=compact partitions (cleaner.ts) needs besides ObjectIndex. */
export interface CleanableIndex extends ObjectIndex {
  /**
   * In one transaction: records `object` (when given) as committed, and replaces each `rewrites[i].from` that is
   * still present and unchanged by its runs in `object`; only while this node may write the partition (its leader
   * epoch, as commit checks). Null when it may not (nothing changed); else the partition's size after it and how
   * many extents were replaced.
   */
  rewriteExtents(
    topic: string,
    partition: number,
    object: ObjectRef | null,
    rewrites: readonly ExtentRewrite[],
  ): Promise<{ sizeInBytes: number; applied: number } | null>;
}

type PartitionState = { extents: Extent[]; logStartOffset: number; logEndOffset: number };

export type MemoryObjectIndex = CompactableIndex & {
  /** Makes the next commit reject with this error (tests of the failure path). */
  failNextCommit: Error | null;
  /** Refuses entries of these partitions ("topic-partition") with NOT_LEADER_OR_FOLLOWER (6). */
  refuse: Set<string>;
  readonly objects: Map<string, number>;
};

export function memoryObjectIndex(): MemoryObjectIndex {
  const partitions = new Map<string, PartitionState>();
  /** Committed object → number of extents referring to it. */
  const objects = new Map<string, number>();
  const part = (topic: string, partition: number) => {
    const id = `${topic}-${partition}`;
    let p = partitions.get(id);
    if (!p) partitions.set(id, p = { extents: [], logStartOffset: 0, logEndOffset: 0 });
    return p;
  };
  const unref = (e: Extent) => objects.set(e.objectKey, objects.get(e.objectKey)! - 1);
  const index: MemoryObjectIndex = {
    failNextCommit: null,
    refuse: new Set(),
    objects,
    async commit(object, entries) {
      if (index.failNextCommit) {
        const e = index.failNextCommit;
        index.failNextCommit = null;
        throw e;
      }
      objects.set(object.key, objects.get(object.key) ?? 0);
      return entries.map((entry): CommitOutcome => {
        const p = part(entry.topic, entry.partition);
        if (entry.ifLogEnd !== undefined && entry.ifLogEnd !== p.logEndOffset) {
          return { errorCode: 6, message: `log end is ${p.logEndOffset}, not ${entry.ifLogEnd}`, logEndMoved: true };
        }
        if (entry.ifLogEnd === undefined && index.refuse.has(`${entry.topic}-${entry.partition}`)) {
          return { errorCode: 6, message: "not the leader" };
        }
        if (entry.logEnd !== undefined && entry.logEnd !== p.logEndOffset) {
          return { errorCode: 56, message: `log end is ${p.logEndOffset}, not ${entry.logEnd}; nothing stored` };
        }
        const baseOffset = p.logEndOffset;
        p.logEndOffset += entry.records;
        p.extents.push({
          topic: entry.topic,
          partition: entry.partition,
          objectKey: object.key,
          position: entry.position,
          size: entry.size,
          baseOffset,
          lastOffset: p.logEndOffset - 1,
          maxTimestamp: entry.maxTimestamp,
        });
        objects.set(object.key, objects.get(object.key)! + 1);
        return { baseOffset };
      });
    },
    async locate(topic, partition, offset, maxBytes) {
      const p = part(topic, partition);
      let lo = 0, hi = p.extents.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (p.extents[mid].lastOffset < offset) lo = mid + 1;
        else hi = mid;
      }
      const out: Extent[] = [];
      let bytes = 0;
      for (let i = lo; i < p.extents.length; i++) {
        const e = p.extents[i];
        if (out.length > 0 && bytes + e.size > maxBytes) break;
        out.push(e);
        bytes += e.size;
      }
      return out;
    },
    async offsets(topic, partition) {
      const p = part(topic, partition);
      const sizeInBytes = p.extents.reduce((n, e) => n + e.size, 0);
      return { logStartOffset: p.logStartOffset, logEndOffset: p.logEndOffset, sizeInBytes };
    },
    async locateTimestamp(topic, partition, timestamp) {
      return part(topic, partition).extents.find((e) => e.maxTimestamp >= timestamp) ?? null;
    },
    async locateMaxTimestamp(topic, partition) {
      let best: Extent | null = null;
      for (const e of part(topic, partition).extents) if (!best || e.maxTimestamp > best.maxTimestamp) best = e;
      return best;
    },
    async advanceLogStart(topic, partition, offset) {
      const p = part(topic, partition);
      if (offset <= p.logStartOffset) return;
      p.logStartOffset = Math.min(offset, p.logEndOffset);
      while (p.extents.length > 0 && p.extents[0].lastOffset < p.logStartOffset) unref(p.extents.shift()!);
    },
    async removePartition(topic, partition) {
      const p = part(topic, partition);
      for (const e of p.extents) unref(e);
      partitions.delete(`${topic}-${partition}`);
    },
    async unreferencedObjects(limit) {
      const out: string[] = [];
      for (const [key, refs] of objects) if (refs === 0 && out.length < limit) out.push(key);
      return out.sort();
    },
    async smallObjects(maxLiveBytes, limit) {
      const live = new Map<string, Extent[]>();
      for (const key of objects.keys()) live.set(key, []);
      for (const p of partitions.values()) for (const e of p.extents) live.get(e.objectKey)!.push(e);
      return [...live].filter(([, es]) => es.length > 0 && es.reduce((n, e) => n + e.size, 0) < maxLiveBytes)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .slice(0, limit)
        .map(([key, extents]) => ({ key, extents }));
    },
    async moveExtents(newKey, moves) {
      objects.set(newKey, objects.get(newKey) ?? 0);
      let moved = 0;
      for (const { from, position } of moves) {
        const p = partitions.get(`${from.topic}-${from.partition}`);
        const i = p?.extents.findIndex((e) =>
          e.objectKey === from.objectKey && e.position === from.position && e.baseOffset === from.baseOffset
        ) ?? -1;
        if (i < 0) {
          continue;
        }
        unref(p!.extents[i]);
        p!.extents[i] = { ...p!.extents[i], objectKey: newKey, position };
        objects.set(newKey, objects.get(newKey)! + 1);
        moved++;
      }
      return moved;
    },
    async knownObjects(keys) {
      return new Set(keys.filter((k) => objects.has(k)));
    },
    async forgetObjects(keys) {
      for (const k of keys) if (objects.get(k) === 0) objects.delete(k);
    },
  };
  return index;
}
