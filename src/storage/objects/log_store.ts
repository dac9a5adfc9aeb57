// A LogStore (src/storage/store.ts) over the object data path: appends go through the ObjectWriter (acked
// after the index commit), reads through the ObjectReader, offsets and timestamps from the ObjectIndex. It
// passes the same contract suite as the memory and file engines (tests/storage/contract.ts), so a broker can
// run with its record data in object storage. With memoryObjectIndex() that is one process; the PostgreSQL
// index makes it shared.
//
// The synchronous getters (logStartOffset, logEndOffset, sizeInBytes) are this broker's view, loaded from the
// index when the partition is opened and kept up to date by its own appends: right for the partition's one
// leader, which is the only writer. Each append carries the log end its offsets start from (this view plus the
// appends in flight) and the index commits it only while that is still the partition's end; after a failed append
// (its outcome perhaps unknown: a commit PostgreSQL runs after the broker gave up on it) the next one first waits
// for those in flight and re-reads the end, as the PostgreSQL engine's log.ts does. Partition state (producer-state
// snapshots) is stored as objects next to the data, under <prefix>/chronik-state/v1/, and deleted with the partition.
import { batchBaseOffsetNumber, batchLastOffsetDelta, batchMaxTimestamp } from "../../protocol/record_batch.ts";
import type { AppendOptions, AppendResult, BatchMeta, LogStore, PartitionLog } from "../store.ts";
import { MAX_OFFSET } from "../store.ts";
import { deleteRetention } from "../retention.ts";
import type { ObjectDataPath } from "./data_path.ts";
import type { CleanableIndex, Extent, ObjectIndex } from "./index.ts";
import { uriEncode } from "./sigv4.ts";
import type { LogLevel } from "../../runtime.ts";
import { AbortedTxnListeners, compactEach, type CompactionConfig, passOver, PassTracker } from "../compaction.ts";
import { cleanPartition, type CleanResult, type KeptIndex } from "./cleaner.ts";

export type ObjectLogStore = LogStore & {
  /**
   * Applies retention.ms / retention.bytes (topics whose cleanup.policy includes delete) to the open partitions
   * `mayWrite` allows (the ones this broker leads), a whole extent at a time: the log start moves past extents
   * whose records are all older than retention.ms, or while the rest still holds retention.bytes. Objects no
   * extent refers to any more are deleted by the next garbage collection round. Returns how many log starts moved.
   */
  applyRetention(
    config: (topic: string, name: string) => string | undefined,
    now: number,
    mayWrite?: (topic: string, partition: number) => boolean,
  ): Promise<number>;
  /**
   * Compacts (cleaner.ts) the open partitions of cleanup.policy=compact topics that `mayWrite` allows (the ones
   * this broker leads; the index checks the leader epoch again when switching), one pass each, one partition at a
   * time. Returns how many partitions a pass cleaned. Nothing when the index cannot rewrite extents.
   */
  applyCompaction(
    config: (topic: string, name: string) => string | undefined,
    now: number,
    log: (level: LogLevel, message: string) => void,
    mayWrite?: (topic: string, partition: number) => boolean,
    force?: boolean,
  ): Promise<number>;
};

export function objectLogStore(
  options: { path: ObjectDataPath; index: ObjectIndex; prefix: string; nodeId?: number; clock?: () => number },
): ObjectLogStore {
  const logs = new Map<string, ObjectPartitionLog>();
  const statePrefix = (topic: string, partition: number) =>
    `${options.prefix === "" ? "" : options.prefix.replace(/\/+$/, "") + "/"}chronik-state/v1/${
      uriEncode(topic, false)
    }-${partition}/`;
  let compacting = false;
  const compactAll = (
    index: CleanableIndex,
    config: (topic: string, name: string) => string | undefined,
    now: number,
    say: (level: LogLevel, message: string) => void,
    mayWrite: (topic: string, partition: number) => boolean,
    force: boolean,
  ): Promise<number> =>
    compactEach([...logs.values()], config, say, async (log, cfg) => {
      if (!mayWrite(log.topic, log.partition)) return null;
      const r = await log.clean(index, options.nodeId ?? 0, options.clock ?? Date.now, cfg, now, force, say);
      return r &&
        `compacted up to offset ${r.upTo}, ${r.cleanedExtents} extent(s) rewritten or dropped into ${r.objects} object(s), ${r.removed} record(s) removed` +
          (r.markersRemoved > 0 ? `, ${r.markersRemoved} transaction marker(s) removed` : "") +
          `; ${r.read.extents} extent(s) (${r.read.bytes} bytes) read for transaction outcomes`;
    });
  return {
    keepsAppendedBuffers: false,
    async open(topic, partition) {
      const id = `${topic}\u0000${partition}`;
      let log = logs.get(id);
      if (!log) {
        const o = await (options.index.openPartition ?? options.index.offsets).call(options.index, topic, partition);
        log = logs.get(id) ?? new ObjectPartitionLog(topic, partition, options, statePrefix(topic, partition), o);
        logs.set(id, log);
      }
      return log;
    },
    async applyRetention(config, now, mayWrite = () => true) {
      let moved = 0;
      for (const log of [...logs.values()]) {
        if (!mayWrite(log.topic, log.partition)) continue;
        const r = deleteRetention(config, log.topic);
        if (r && await log.retain(r.ms, r.bytes, now)) moved++;
      }
      return moved;
    },
    async applyCompaction(config, now, say, mayWrite = () => true, force = false) {
      if (!isCleanable(options.index)) return 0;
      if (compacting) return 0; // a pass is still under way: this round is skipped
      compacting = true;
      try {
        return await compactAll(options.index, config, now, say, mayWrite, force);
      } finally {
        compacting = false;
      }
    },
    forget(topic) {
      // Another broker deleted the topic (shared index): drop this broker's view of its partitions.
      for (const id of [...logs.keys()]) if (id.startsWith(`${topic}\u0000`)) logs.delete(id);
    },
    async remove(topic, partitions) {
      for (let p = 0; p < partitions; p++) {
        logs.delete(`${topic}\u0000${p}`);
        await options.index.removePartition(topic, p);
        const keys = (await options.path.store.list(statePrefix(topic, p))).objects.map((o) => o.key);
        if (keys.length > 0) await options.path.store.deleteMany(keys);
      }
    },
    async close() {
      await options.path.close();
      logs.clear();
    },
  };
}

class ObjectPartitionLog implements PartitionLog {
  logStartOffset: number;
  logEndOffset: number;
  sizeInBytes: number;
  #listeners = new Set<() => void>();
  /** The log end after this broker's appends in flight: where the next append's offsets start. */
  #pendingEnd: number;
  /** An append failed (perhaps committed after all): the next one first re-reads the log end from the index. */
  #stale = false;
  /** Settles when the latest append has. */
  #tail: Promise<void> = Promise.resolve();
  #waiting = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly o: { path: ObjectDataPath; index: ObjectIndex; prefix: string },
    private readonly statePrefix: string,
    offsets: { logStartOffset: number; logEndOffset: number; sizeInBytes: number },
  ) {
    this.logStartOffset = offsets.logStartOffset;
    this.logEndOffset = offsets.logEndOffset;
    this.#pendingEnd = offsets.logEndOffset;
    this.sizeInBytes = offsets.sizeInBytes;
  }

  append(buf: Uint8Array, batches: readonly BatchMeta[], options?: AppendOptions): Promise<AppendResult> {
    return this.#enqueue(buf, batches, undefined, options?.leaderEpoch);
  }

  /**
   * append(), committed only while the partition's log end in the index is still `logEnd` (checked in the
   * index commit that assigns the offsets, so brokers agree on one order); needs no leadership. Else
   * LogEndMovedError, nothing stored.
   */
  appendIf(logEnd: number, buf: Uint8Array, batches: readonly BatchMeta[], _options?: AppendOptions) {
    return this.#enqueue(buf, batches, logEnd);
  }

  /** Appends go to the writer at once, in call order; after a failure (or for appendIf) once those before settled. */
  #enqueue(buf: Uint8Array, batches: readonly BatchMeta[], ifLogEnd?: number, epoch?: number): Promise<AppendResult> {
    let p: Promise<AppendResult>;
    if (this.#stale || this.#waiting > 0 || ifLogEnd !== undefined) {
      this.#waiting++;
      p = this.#tail.then(async () => {
        try {
          if (this.#stale && ifLogEnd === undefined) await this.#reload();
        } finally {
          this.#waiting--;
        }
        return this.#append(buf, batches, ifLogEnd, epoch);
      });
    } else p = this.#append(buf, batches, undefined, epoch);
    this.#tail = p.then(() => {}, () => {});
    return p;
  }

  async #reload(): Promise<void> {
    const o = await this.o.index.offsets(this.topic, this.partition);
    this.logStartOffset = Math.max(this.logStartOffset, o.logStartOffset);
    this.logEndOffset = Math.max(this.logEndOffset, o.logEndOffset);
    // Appends sent since the tail settled keep their place (a refresh between them).
    if (this.#stale || this.#pendingEnd <= o.logEndOffset) this.#pendingEnd = o.logEndOffset;
    this.sizeInBytes = o.sizeInBytes;
    this.#stale = false;
  }

  async #append(
    buf: Uint8Array,
    batches: readonly BatchMeta[],
    ifLogEnd?: number,
    leaderEpoch?: number,
  ): Promise<AppendResult> {
    let span = 0;
    for (const b of batches) span += b.lastOffsetDelta + 1;
    const logEnd = ifLogEnd ?? this.#pendingEnd;
    if (logEnd > MAX_OFFSET - (span - 1)) {
      throw new RangeError(`offsets up to ${logEnd} + ${span - 1} are beyond 2^53 - 1`);
    }
    this.#pendingEnd = logEnd + span;
    let r: AppendResult;
    try {
      r = await this.o.path.writer.append(this.topic, this.partition, buf, batches, {
        logEnd,
        conditional: ifLogEnd !== undefined,
        leaderEpoch,
      });
    } catch (e) {
      this.#stale = true;
      throw e;
    }
    this.logEndOffset = Math.max(this.logEndOffset, r.lastOffset + 1);
    for (const b of batches) this.sizeInBytes += b.size;
    for (const l of this.#listeners) l();
    return { ...r, logStartOffset: this.logStartOffset };
  }

  read(offset: number, maxBytes: number, strictMaxBytes?: boolean): Promise<Uint8Array[]> {
    return this.o.path.reader.read(
      this.topic,
      this.partition,
      Math.max(offset, this.logStartOffset),
      maxBytes,
      strictMaxBytes,
    );
  }

  async batchForTimestamp(timestamp: number) {
    // The first extent reaching the timestamp may start with batches below the log start or the timestamp.
    let extent = await this.o.index.locateTimestamp(this.topic, this.partition, timestamp);
    while (extent) {
      for (const batch of await this.o.path.reader.extentBatches(extent)) {
        const baseOffset = batchBaseOffsetNumber(batch);
        if (baseOffset + batchLastOffsetDelta(batch) < this.logStartOffset) continue;
        if (Number(batchMaxTimestamp(batch)) >= timestamp) return { batch, baseOffset };
      }
      extent = await this.#next(extent);
    }
    return null;
  }

  async maxTimestampBatch() {
    const extent = await this.o.index.locateMaxTimestamp(this.topic, this.partition);
    if (!extent) return null;
    let best: { batch: Uint8Array; baseOffset: number; ts: number } | null = null;
    for (const batch of await this.o.path.reader.extentBatches(extent)) {
      const baseOffset = batchBaseOffsetNumber(batch);
      if (baseOffset + batchLastOffsetDelta(batch) < this.logStartOffset) continue;
      const ts = Number(batchMaxTimestamp(batch));
      if (!best || ts > best.ts) best = { batch, baseOffset, ts };
    }
    return best && { batch: best.batch, baseOffset: best.baseOffset };
  }

  async #next(extent: Extent): Promise<Extent | null> {
    const after = await this.o.index.locate(this.topic, this.partition, extent.lastOffset + 1, 1);
    return after[0] ?? null;
  }

  #passes = new PassTracker();
  readonly abortedTxnListeners = new AbortedTxnListeners();

  onAbortedTxnRemoved(listener: (producerId: bigint, lastOffset: number) => void): () => void {
    return this.abortedTxnListeners.add(listener);
  }
  /** The transaction index the last pass left (cleaner.ts reads only the extents appended since). */
  #kept: { value: KeptIndex | null } = { value: null };

  /** One compaction pass (cleaner.ts); null when it had nothing to do. */
  clean(
    index: CleanableIndex,
    nodeId: number,
    clock: () => number,
    cfg: CompactionConfig,
    now: number,
    force: boolean,
    say: (level: LogLevel, message: string) => void,
  ): Promise<CleanResult> {
    return passOver(this, this.#passes, now, force, say, (host, onDamaged) =>
      cleanPartition(
        {
          ...host,
          index,
          reader: this.o.path.reader,
          store: this.o.path.store,
          prefix: this.o.prefix,
          nodeId,
          clock,
          orphanGraceMs: this.o.path.orphanGraceMs,
          kept: this.#kept,
        },
        cfg,
        now,
        force,
        onDamaged,
      ));
  }

  /** Retention for this partition (see applyRetention); true when the log start moved. */
  async retain(retentionMs: number, retentionBytes: number, now: number): Promise<boolean> {
    const before = this.logStartOffset;
    let start = before;
    if (Number.isFinite(retentionMs) && retentionMs >= 0) {
      // The first extent holding a record within retention; every extent before it is wholly older.
      const keep = await this.o.index.locateTimestamp(this.topic, this.partition, now - retentionMs);
      start = Math.max(start, keep ? keep.baseOffset : this.logEndOffset);
    }
    if (Number.isFinite(retentionBytes) && retentionBytes >= 0 && this.sizeInBytes > retentionBytes) {
      let remaining = this.sizeInBytes;
      let offset = this.logStartOffset;
      walk: while (remaining > retentionBytes) {
        const page = await this.o.index.locate(this.topic, this.partition, offset, 1 << 24);
        if (page.length === 0) break;
        for (const e of page) {
          if (remaining - e.size < retentionBytes) break walk;
          remaining -= e.size;
          start = Math.max(start, e.lastOffset + 1);
          offset = e.lastOffset + 1;
        }
      }
    }
    if (start <= before) return false;
    await this.advanceLogStart(start);
    return this.logStartOffset > before;
  }

  async advanceLogStart(offset: number): Promise<void> {
    if (offset <= this.logStartOffset) return;
    const target = Math.min(offset, this.logEndOffset);
    await this.o.index.advanceLogStart(this.topic, this.partition, target);
    const o = await this.o.index.offsets(this.topic, this.partition);
    this.logStartOffset = Math.max(this.logStartOffset, o.logStartOffset);
    this.sizeInBytes = o.sizeInBytes;
  }

  /**
   * After this broker's appends in flight, re-reads the log start, end and size from the index (a broker taking
   * over the partition: another one wrote it meanwhile; the produce path after an append of unknown outcome).
   */
  async refresh(_force?: boolean): Promise<void> {
    await this.#tail;
    await this.#reload();
  }

  onAppend(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async writeState(name: string, data: Uint8Array): Promise<void> {
    await this.o.path.store.put(this.statePrefix + uriEncode(name, false), data);
  }

  async readState(name: string): Promise<Uint8Array | null> {
    try {
      return await this.o.path.store.get(this.statePrefix + uriEncode(name, false));
    } catch (e) {
      if ((e as { code?: string }).code === "NoSuchKey") return null;
      throw e;
    }
  }
}

function isCleanable(index: ObjectIndex): index is CleanableIndex {
  return typeof (index as Partial<CleanableIndex>).rewriteExtents === "function";
}
