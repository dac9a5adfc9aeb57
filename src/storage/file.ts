// File engine, the embedded default. Layout under the data directory:
//
//   meta.properties                    marks a directory Chronik initialised (data_dir.ts)
//   .lock                              the holder's lease (src/runtime/lock_file.ts)
//   chronik.state                      {"clean":true} after a clean shutdown, false while running
//   __chronik_metadata/                topics and cluster id (metadata.ts)
//   <topic>-<partition>/
//     00000000000000000000.log         raw batches as producers sent them (base offset written in)
//     00000000000000000000.index       sparse offset index, written when the segment rolls
//     00000000000000000000.timeindex   time index, idem
//     log-start-offset                 checkpoint, when DeleteRecords or retention moved it
//     recovery-point                   base offset of the first segment not known to be on disk
//     <name>.state                     small state kept for the broker (producer-state snapshot)
//     cleaner-offset                   how far compaction has cleaned
//
// Appends: one write per append into the active segment; offsets are assigned in the partition's
// write queue, so appends land and complete in call order. A failed write is truncated away before
// anything can read it (reads stop at the last whole batch written).
// I/O failures (docs/storage.md, "Failures"): a write refused for want of space (ENOSPC, EDQUOT) is
// undone and answered KAFKA_STORAGE_ERROR; the store logs "disk full" once, reads go on, and writes
// succeed again by themselves once space is freed. Any other failure, and any failed fsync, takes the
// whole log dir offline, as Kafka does on an IOException: a failed fsync is never retried as if the
// data were safe (Linux reports it once and may have dropped the dirty pages: PostgreSQL's
// "fsyncgate"). Offline, every partition answers appends and reads with KAFKA_STORAGE_ERROR until
// the broker restarts; one log line says so and how to recover.
// Durability: see GroupCommit and AppendOptions.durable; flush.messages / flush.ms per topic.
// Rolls: the rolled segment is fsynced, its indexes written and the recovery point moved past it in
// the background, one segment at a time store-wide, in roll order (Kafka flushes a rolled segment
// asynchronously too): appends go on into the new segment meanwhile. A durable append waits for
// those flushes as well, so what it acknowledges is on disk together with everything before it.
// Recovery: after an unclean stop the active segment of each partition, and every rolled segment
// from the recovery point on, is scanned from its start, CRCs checked, a torn or corrupt tail
// truncated (logged, counted in stats) and its indexes rebuilt; the index files of other rolled
// segments are checked and rebuilt when missing or stale. All I/O goes through the FileSystem port.
// Files: this one holds the store, appends, rolls, flushes, reads and shutdown; a partition's loading and
// recovery are in file_load.ts, retention and the log start in file_retention.ts, compaction in
// file_compaction.ts (functions of the partition, which they reach through its non-private members).
import { HandleCache, Limiter } from "./handle_cache.ts";
import type { FileHandle, FileSystem, LogLevel } from "../runtime.ts";
import type { BufferPool } from "./buffer_pool.ts";
import {
  batchBaseOffsetNumber,
  batchCrcValid,
  batchLastOffsetDelta,
  CURRENT_MAGIC,
  MAGIC_OFFSET,
  setBaseOffset,
} from "../protocol/record_batch.ts";
import { AbortedTxnListeners } from "./compaction.ts";
import { GroupCommit } from "./group_commit.ts";
import { batchMaxTs, scanFile, type ScanResult, Segment, segmentName } from "./segment.ts";
import type { AppendOptions, AppendResult, BatchMeta, LogStore, PartitionLog } from "./store.ts";
import { errText, isNoSpace, LogEndMovedError, MAX_OFFSET, storageError } from "./store.ts";
import { compactFilePartition } from "./file_compaction.ts";
import { loadPartition, READ_CHUNK, RECOVERY_POINT_FILE } from "./file_load.ts";
import { advanceLogStart, retain } from "./file_retention.ts";

export const STATE_FILE = "chronik.state";
const PARTITION_DIR = /^(.+)-(\d+)$/;
/** A deleted partition's directory renamed aside before its removal (`<topic>-<p>.<32 hex>-delete`). */
const DELETED_DIR = /^.+-\d+\.[0-9a-f]{32}-delete$/;

/** Topic-level settings the engine reads (Kafka names; effective values as strings). */
const TOPIC_DEFAULTS: Record<string, string> = {
  "segment.bytes": "1073741824",
  "segment.ms": "604800000",
  "segment.index.bytes": "10485760",
  "index.interval.bytes": "4096",
  "flush.messages": "9223372036854775807",
  "flush.ms": "9223372036854775807",
  "retention.ms": "604800000",
  "retention.bytes": "-1",
  "cleanup.policy": "delete",
  "delete.retention.ms": "86400000",
  "min.compaction.lag.ms": "0",
  "min.cleanable.dirty.ratio": "0.5",
  "max.compaction.lag.ms": "9223372036854775807",
  "file.delete.delay.ms": "60000",
};

export type FileLogStoreOptions = {
  now?: () => number;
  log?: (level: LogLevel, message: string) => void;
  /** Effective value of a topic config (the topic's, else the broker's, else Kafka's default). */
  topicConfig?: (topic: string, name: string) => string;
  /** Group-commit window, ms (chronik.fsync.group.commit.ms); 0 = sync as soon as the previous round ends. */
  groupCommitMs?: number;
  /** log.retention.check.interval.ms (Kafka: 300000). */
  retentionCheckIntervalMs?: number;
  /** log.cleaner.backoff.ms (Kafka: 15000); compaction checks run this often. */
  cleanerBackoffMs?: number;
  /** log.cleaner.enable (default true). */
  cleanerEnabled?: boolean;
  /** Segment files open at once, store-wide (chronik.log.open.files.max); idle ones beyond are closed. */
  maxOpenFiles?: number;
};

export type StorageStats = {
  /** Whether the last stop was clean (read at open). */
  cleanStart: boolean;
  /** Partitions whose tail was scanned at start (unclean stop or stale index). */
  recoveredPartitions: number;
  /** Torn or corrupt tails truncated at start, and their bytes. */
  truncations: number;
  truncatedBytes: number;
  /** Index files rebuilt from the log. */
  indexRebuilds: number;
  segmentsDeleted: number;
  compactions: number;
  recordsCompactedAway: number;
};

export interface FileLogStore extends LogStore {
  readonly stats: StorageStats;
  /** Why the log dir went offline (a failed fsync, an I/O error), or null while it is online. */
  readonly offline: Error | null;
  readonly commit: GroupCommit;
  /**
   * Like close(), but writes the clean-shutdown mark only if the last stop was clean too: for a start
   * that failed before every partition was opened (and so recovered) after an unclean stop.
   */
  closeKeepingRecovery(): Promise<void>;
  /** Applies retention to every open partition now (the timer does it every check interval). */
  runRetention(): Promise<void>;
  /** Compacts every open partition of a compacted topic now, whatever its dirty ratio when `force`. */
  runCompaction(force?: boolean): Promise<void>;
}

/** segment.ms, or max.compaction.lag.ms when shorter on a compacted topic (KIP-354: the active segment is never cleaned). */
function rollMs(cfg: Config): number {
  return cfg.compactPolicy && cfg.maxCompactionLagMs > 0
    ? Math.min(cfg.segmentMs, cfg.maxCompactionLagMs)
    : cfg.segmentMs;
}

type Config = {
  segmentBytes: number;
  segmentMs: number;
  segmentIndexBytes: number;
  indexInterval: number;
  flushMessages: number;
  flushMs: number;
  retentionMs: number;
  retentionBytes: number;
  deletePolicy: boolean;
  compactPolicy: boolean;
  deleteRetentionMs: number;
  minCompactionLagMs: number;
  minCleanableRatio: number;
  maxCompactionLagMs: number;
  fileDeleteDelayMs: number;
};

class Core {
  readonly fs: FileSystem;
  readonly root: string;
  readonly now: () => number;
  readonly log: (level: LogLevel, message: string) => void;
  readonly topicConfig: (topic: string, name: string) => string;
  readonly commit: GroupCommit;
  readonly stats: StorageStats;
  readonly clean: boolean;
  /**
   * Rolled segments' background flushes, store-wide, one at a time: partitions under the same load
   * roll together, and their syncs at once would take every thread of the adapter's file pool.
   */
  flushQueue: Promise<void> = Promise.resolve();
  /** Open segment files, bounded (handle_cache.ts). */
  readonly handles: HandleCache;
  /** Partition loads at once (start-up opens every partition): each holds a few descriptors while it runs. */
  readonly loads = new Limiter(32);
  /** Set once the log dir went offline (a failed fsync, or a failure that could not be undone). */
  offline: Error | null = null;
  /** While writes fail for want of space (logged when it starts and when it ends). */
  diskFull = false;
  constructor(fs: FileSystem, root: string, o: FileLogStoreOptions, clean: boolean) {
    this.fs = fs;
    this.handles = new HandleCache(o.maxOpenFiles ?? 1000);
    this.root = root;
    this.now = o.now ?? (() => Date.now());
    this.log = o.log ?? (() => {});
    const tc = o.topicConfig;
    this.topicConfig = (t, n) => tc?.(t, n) ?? TOPIC_DEFAULTS[n] ?? "";
    this.commit = new GroupCommit(o.groupCommitMs ?? 0);
    this.clean = clean;
    this.stats = {
      cleanStart: clean,
      recoveredPartitions: 0,
      truncations: 0,
      truncatedBytes: 0,
      indexRebuilds: 0,
      segmentsDeleted: 0,
      compactions: 0,
      recordsCompactedAway: 0,
    };
  }

  /** Takes the log dir offline (once): appends and reads of every partition fail from here on. */
  takeOffline(e: unknown, what: string): void {
    if (this.offline) return;
    this.offline = e instanceof Error ? e : new Error(String(e));
    this.log(
      "error",
      `log dir ${this.root} is offline: ${what} (${
        errText(e)
      }). Nothing after the last successful fsync was acknowledged; produce and fetch of its partitions answer KAFKA_STORAGE_ERROR until restart. Fix the disk, then restart the broker: it recovers from the last durable point (unflushed segment tails are scanned, a torn tail truncated).`,
    );
  }

  /** Notes a write refused for want of space; logs once per episode. */
  noSpace(e: unknown, what: string): void {
    if (this.diskFull) return;
    this.diskFull = true;
    this.log(
      "error",
      `disk full under ${this.root}: ${what} (${
        errText(e)
      }). Produce answers KAFKA_STORAGE_ERROR and nothing of a refused batch is kept; reads go on; writes resume once space is freed.`,
    );
  }

  /** A write succeeded: ends a disk-full episode. */
  wrote(): void {
    if (!this.diskFull) return;
    this.diskFull = false;
    this.log("info", `disk under ${this.root} accepts writes again`);
  }

  offlineError(what: string): Error {
    return Object.assign(storageError(`${what}: log dir ${this.root} is offline (${this.offline?.message})`), {
      reported: true,
    });
  }
}

export class FilePartitionLog implements PartitionLog {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  logStartOffset = 0;
  logEndOffset = 0;
  sizeInBytes = 0;
  segments: Segment[] = [];
  /** Damaged batches the cleaner has reported (segment base and place). */
  cleanerReported = new Set<string>();
  core: Core;
  private writeQueue: Promise<unknown> = Promise.resolve();
  private completion: Promise<unknown> = Promise.resolve();
  private maintenance: Promise<unknown> = Promise.resolve();
  /** Set when the log dir is offline: nothing of it can be appended or read safely. */
  get failed(): Error | null {
    return this.core.offline;
  }
  private unflushed = 0;
  lastFlush: number;
  dirty = false;
  cleanedUpTo = 0;
  private listeners = new Set<() => void>();
  private cfg: Config | null = null;
  private cfgAt = 0;
  closed = false;

  constructor(core: Core, topic: string, partition: number) {
    this.core = core;
    this.topic = topic;
    this.partition = partition;
    this.dir = `${core.root}/${topic}-${partition}`;
    this.lastFlush = core.now();
  }

  get active(): Segment {
    return this.segments[this.segments.length - 1];
  }

  config(): Config {
    const now = this.core.now();
    if (this.cfg && now - this.cfgAt < 1000) return this.cfg;
    const get = (n: string) => this.core.topicConfig(this.topic, n);
    const num = (n: string) => {
      const v = Number(get(n));
      return Number.isFinite(v) ? v : Number(TOPIC_DEFAULTS[n]);
    };
    const policy = get("cleanup.policy").split(",").map((s) => s.trim());
    this.cfg = {
      // Kafka 4.0's internal.segment.bytes, when set, overrides segment.bytes (tests use small segments).
      segmentBytes: Number(get("internal.segment.bytes")) > 0
        ? Number(get("internal.segment.bytes"))
        : num("segment.bytes"),
      segmentMs: num("segment.ms"),
      segmentIndexBytes: num("segment.index.bytes"),
      indexInterval: num("index.interval.bytes"),
      flushMessages: num("flush.messages"),
      flushMs: num("flush.ms"),
      retentionMs: num("retention.ms"),
      retentionBytes: num("retention.bytes"),
      deletePolicy: policy.includes("delete"),
      compactPolicy: policy.includes("compact"),
      deleteRetentionMs: num("delete.retention.ms"),
      minCompactionLagMs: num("min.compaction.lag.ms"),
      minCleanableRatio: num("min.cleanable.dirty.ratio"),
      maxCompactionLagMs: num("max.compaction.lag.ms"),
      fileDeleteDelayMs: num("file.delete.delay.ms"),
    };
    this.cfgAt = now;
    return this.cfg;
  }

  // ---- loading and recovery (file_load.ts)

  /** Opens the partition's directory: finishes an interrupted swap, lists the segments, recovers what needs it. */
  load(): Promise<void> {
    return loadPartition(this);
  }

  async writeIndexes(seg: Segment): Promise<void> {
    const state = { size: seg.size, idxN: seg.idxN, tsN: seg.tsN };
    await this.core.fs.writeFileAtomic(`${seg.path}.index`, seg.encodeIndex());
    await this.core.fs.writeFileAtomic(`${seg.path}.timeindex`, seg.encodeTimeIndex());
    seg.onDisk = state;
  }

  // ---- appends

  appendIf(
    logEnd: number,
    buf: Uint8Array,
    metas: readonly BatchMeta[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    return this.append(buf, metas, options, logEnd);
  }

  append(
    buf: Uint8Array,
    metas: readonly BatchMeta[],
    options?: AppendOptions,
    ifLogEnd?: number,
  ): Promise<AppendResult> {
    const written = this.writeQueue.then(() => {
      // Checked in the write queue: the log end every earlier append has moved it to.
      if (ifLogEnd !== undefined && ifLogEnd !== this.logEndOffset) {
        throw new LogEndMovedError(`${this.topic}-${this.partition}: log end is ${this.logEndOffset}, not ${ifLogEnd}`);
      }
      return this.write(buf, metas, options?.durable === true);
    });
    this.writeQueue = written.catch(() => {});
    const finished = written.then(async (w) => {
      try {
        if (w.sync) {
          try {
            await this.rollFlush;
            if (this.failed) throw this.core.offlineError(`${this.topic}-${this.partition}`);
            await this.core.commit.sync(w.handle!);
          } catch (e) {
            this.fail(e, "fsync failed");
            throw this.core.offlineError(`${this.topic}-${this.partition}`);
          }
          // Another file's failure (a rolled segment's flush) while this one synced: what came before
          // this append may not be on disk, so it is not acknowledged either.
          if (this.failed) throw this.core.offlineError(`${this.topic}-${this.partition}`);
        }
      } finally {
        // write() pinned the segment's handle until its sync is done.
        if (w.seg !== null) this.core.handles.release(w.seg);
      }
      return w.result;
    });
    const prev = this.completion;
    const ordered = finished.then((r) => prev.then(() => r), (e) => prev.then(() => Promise.reject(e)));
    this.completion = ordered.catch(() => {});
    return ordered;
  }

  fail(e: unknown, what: string): void {
    this.core.takeOffline(e, `${this.topic}-${this.partition}: ${what}`);
  }

  private async write(
    buf: Uint8Array,
    metas: readonly BatchMeta[],
    durable: boolean,
  ): Promise<{ result: AppendResult; handle: FileHandle | null; seg: Segment | null; sync: boolean }> {
    if (this.closed) throw storageError(`${this.topic}-${this.partition} is closed`);
    if (this.failed) throw this.core.offlineError(`${this.topic}-${this.partition}`);
    const cfg = this.config();
    let total = 0;
    let span = 0;
    let contiguous = true;
    let expectPos = metas.length > 0 ? metas[0].position : 0;
    for (const m of metas) {
      if (m.position !== expectPos) contiguous = false;
      expectPos = m.position + m.size;
      total += m.size;
      span += m.lastOffsetDelta + 1;
    }
    const base = this.logEndOffset;
    if (metas.length === 0) {
      return {
        result: { baseOffset: base, lastOffset: base - 1, logStartOffset: this.logStartOffset },
        handle: null,
        seg: null,
        sync: false,
      };
    }
    if (base > MAX_OFFSET - (span - 1)) {
      throw new RangeError(
        `offsets up to ${base} + ${span - 1} are beyond the largest offset this engine stores (2^53 - 1)`,
      );
    }
    let seg = this.active;
    const now = this.core.now();
    if (
      seg.size > 0 &&
      (seg.size + total > cfg.segmentBytes || now - seg.created >= rollMs(cfg) ||
        seg.indexFull(cfg.segmentIndexBytes) ||
        base + span - 1 - seg.base > 0x7fffffff)
    ) {
      try {
        seg = await this.roll();
      } catch (e) {
        throw this.writeFailed(e, "could not start a new segment", true);
      }
    }
    let next = base;
    for (const m of metas) {
      setBaseOffset(buf, m.position, next);
      next += m.lastOffsetDelta + 1;
    }
    let data: Uint8Array;
    if (contiguous) data = buf.subarray(metas[0].position, expectPos);
    else {
      data = new Uint8Array(total);
      let p = 0;
      for (const m of metas) {
        data.set(buf.subarray(m.position, m.position + m.size), p);
        p += m.size;
      }
    }
    // Pinned open until append() has synced it (released there).
    const h = await this.core.handles.acquire(seg, this.core.fs);
    const pos = seg.size;
    try {
      await h.append(data);
    } catch (e) {
      let undone = true;
      try {
        await h.truncate(pos);
      } catch (e2) {
        undone = false;
        this.fail(e2, `could not truncate a failed append (${errText(e)})`);
      }
      this.core.handles.release(seg);
      throw this.writeFailed(e, `appending to segment ${segmentName(seg.base)} failed`, undone);
    }
    this.core.wrote();
    if (seg.size === 0) seg.created = now;
    let p = pos;
    let o = base;
    for (const m of metas) {
      seg.noteBatch(p, m.size, o, m.maxTimestamp, cfg.indexInterval);
      p += m.size;
      o += m.lastOffsetDelta + 1;
    }
    seg.size = pos + data.length;
    seg.next = next;
    seg.lastAppend = now;
    this.logEndOffset = next;
    this.sizeInBytes += data.length;
    this.dirty = true;
    this.unflushed += span;
    let sync = durable;
    if (this.unflushed >= cfg.flushMessages) sync = true;
    if (sync) {
      this.unflushed = 0;
      this.dirty = false;
      this.lastFlush = now;
    }
    for (const l of this.listeners) l();
    return {
      result: { baseOffset: base, lastOffset: next - 1, logStartOffset: this.logStartOffset },
      handle: h,
      seg,
      sync,
    };
  }

  /** Classifies a failed write: out of space (undone) is retried by the client; anything else takes the dir offline. */
  private writeFailed(e: unknown, what: string, undone: boolean): Error {
    const where = `${this.topic}-${this.partition}`;
    if (undone && isNoSpace(e) && !this.failed) {
      this.core.noSpace(e, `${where}: ${what}`);
      return Object.assign(storageError(`${where}: ${what}: ${errText(e)}`), { reported: true });
    }
    this.fail(e, what);
    return this.core.offlineError(where);
  }

  /**
   * Starts a new active segment at the log end; the old one is flushed in the background. Waiting for
   * its fsync here stalled every partition rolling at once for seconds (1 GiB segments, 4
   * partitions at 800 MB/s: 0 MB/s for 2 s while the disk took the dirty pages).
   */
  private async roll(): Promise<Segment> {
    const old = this.active;
    const seg = new Segment(this.dir, this.logEndOffset, this.core.now());
    old.maybeAddTime();
    const h = await this.core.fs.open(seg.logPath, { create: true });
    if ((await h.size()) > 0) await h.truncate(0);
    seg.handle = h;
    this.core.handles.touch(seg);
    this.segments.push(seg);
    this.flushRolled(old, seg.base);
    return seg;
  }

  /**
   * The last of this partition's rolled-segment flushes: the store-wide queue runs them in call
   * order, so when it settles every earlier one has too. Never rejects (a failure takes the
   * partition offline).
   */
  rollFlush: Promise<void> = Promise.resolve();

  /**
   * fsyncs a rolled segment, writes its indexes and moves the recovery point to `upTo` (the new
   * segment's base). writeFileAtomic also syncs the directory, making the new segment's name durable.
   */
  private flushRolled(old: Segment, upTo: number): void {
    const flush = this.core.flushQueue.then(async () => {
      // Retired (deleted or replaced by compaction): nothing of it is kept.
      if (this.failed || old.retired) return;
      try {
        // Its handle may have been closed to stay under the open-files bound: fsync through a new one.
        const h = await this.core.handles.acquire(old, this.core.fs);
        try {
          await h.sync();
        } finally {
          this.core.handles.release(old);
        }
      } catch (e) {
        if (!this.closed) this.fail(e, `fsync of rolled segment ${segmentName(old.base)} failed`);
        return;
      }
      try {
        await this.writeIndexes(old);
        await this.core.fs.writeFileAtomic(
          `${this.dir}/${RECOVERY_POINT_FILE}`,
          new TextEncoder().encode(String(upTo)),
        );
      } catch (e) {
        // The data is on disk: missing indexes are rebuilt, and an old recovery point only means a
        // longer scan after an unclean stop. Out of space is thus no reason to go offline.
        if (isNoSpace(e)) {
          this.core.noSpace(e, `${this.topic}-${this.partition}: writing the indexes of a rolled segment`);
        } else if (!this.closed) this.fail(e, `could not write the indexes of rolled segment ${segmentName(old.base)}`);
      }
    });
    this.core.flushQueue = flush;
    this.rollFlush = flush;
  }

  /** Rolls the active segment when it holds data (retention of the whole log). Runs in the write queue. */
  rollIfNotEmpty(): Promise<void> {
    const p = this.writeQueue.then(async () => {
      if (this.active.size > 0 && !this.failed && !this.closed) await this.roll();
    });
    this.writeQueue = p.catch(() => {});
    return p;
  }

  /** fsyncs the active segment through the group commit (flush.ms, flush.messages). */
  async flush(): Promise<void> {
    if (!this.dirty || this.failed) return;
    this.dirty = false;
    this.unflushed = 0;
    this.lastFlush = this.core.now();
    const seg = this.active;
    try {
      await this.rollFlush;
      const h = await this.core.handles.acquire(seg, this.core.fs);
      try {
        await this.core.commit.sync(h);
      } finally {
        this.core.handles.release(seg);
      }
    } catch (e) {
      this.fail(e, "fsync failed");
    }
  }

  // ---- reads

  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid].base <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  async read(offset: number, maxBytes: number, strictMaxBytes = false, pool?: BufferPool): Promise<Uint8Array[]> {
    // Offline: what lies past the last good fsync may vanish at restart, and must not be served.
    if (this.failed) throw this.core.offlineError(`${this.topic}-${this.partition}`);
    offset = Math.max(offset, this.logStartOffset);
    if (offset >= this.logEndOffset) return [];
    const segs = this.segments;
    for (let i = this.segmentIndexFor(offset); i < segs.length; i++) {
      const out = await this.readSegment(segs[i], offset, maxBytes, strictMaxBytes, pool);
      if (out.length > 0) return out;
    }
    return [];
  }

  private async readSegment(
    seg: Segment,
    offset: number,
    maxBytes: number,
    strict: boolean,
    pool: BufferPool | undefined,
  ): Promise<Uint8Array[]> {
    seg.readers++;
    const out: Uint8Array[] = [];
    // The buffer being walked, and whether `out` holds views of it (else it goes back to the pool).
    let buf: Uint8Array | null = null;
    let used = false;
    const fill = async (h: FileHandle, p: number, n: number): Promise<Uint8Array> => {
      if (pool === undefined) return h.read(p, n);
      if (buf !== null && !used) pool.release(buf);
      used = false;
      const b = pool.acquire(n);
      buf = b; // released in `finally` if the read fails
      return b.subarray(0, await h.readInto(p, b));
    };
    try {
      const end = seg.size;
      let pos = seg.lookup(offset);
      if (pos >= end) return [];
      const h = await seg.open(this.core.fs);
      this.core.handles.touch(seg);
      let bytes = 0;
      const want = (p: number) =>
        Math.min(end - p, Math.max(maxBytes - bytes, 0) + this.config().indexInterval + 16 * 1024);
      buf = await fill(h, pos, want(pos));
      let bufStart = pos;
      while (pos < end) {
        let at = pos - bufStart;
        if (buf.length - at < 61) {
          buf = await fill(h, pos, Math.max(61, want(pos)));
          bufStart = pos;
          at = 0;
          if (buf.length < 61) throw storageError(`${seg.logPath}: short read at ${pos}`);
        }
        if (seg.damage !== null && pos >= seg.damage.pos) {
          if (out.length > 0) break;
          throw this.damaged(seg, seg.damage.pos, seg.damage.reason);
        }
        const size = (buf[at + 8] << 24 | buf[at + 9] << 16 | buf[at + 10] << 8 | buf[at + 11]) + 12;
        const base = batchBaseOffsetNumber(buf, at);
        const last = base + batchLastOffsetDelta(buf, at);
        // Header sanity on every batch (cheap): what a client would choke on is never sent.
        const insane = size < 61 || size > end - pos
          ? `batch length ${size - 12} does not fit the ${end - pos} bytes left`
          : buf[at + MAGIC_OFFSET] !== CURRENT_MAGIC
          ? `magic ${buf[at + MAGIC_OFFSET]}`
          : !(base >= seg.base && last >= base && last < seg.next)
          ? `offsets ${base}..${last} outside the segment's ${seg.base}..${seg.next - 1}`
          : null;
        if (insane !== null) {
          if (out.length > 0) break;
          throw this.damaged(seg, pos, insane);
        }
        if (last < offset) {
          pos += size;
          continue;
        }
        if (bytes + size > maxBytes && (out.length > 0 || strict)) break;
        if (buf.length - at < size) {
          buf = await fill(h, pos, Math.max(size, want(pos)));
          bufStart = pos;
          at = 0;
          if (buf.length < size) throw storageError(`${seg.logPath}: short read at ${pos}`);
        }
        // CRC once per batch per process for data this process did not append itself.
        if (pos >= seg.verifiedTo && pos < seg.trustedFrom) {
          if (!batchCrcValid(buf, at)) {
            if (out.length > 0) break;
            throw this.damaged(seg, pos, "CRC32C mismatch");
          }
          if (pos === seg.verifiedTo) seg.verifiedTo = pos + size;
        }
        out.push(buf.subarray(at, at + size));
        used = true;
        bytes += size;
        pos += size;
        if (bytes >= maxBytes) break;
      }
      return out;
    } finally {
      seg.readers--;
      if (pool !== undefined && buf !== null && !used) pool.release(buf);
    }
  }

  /**
   * A damaged batch found by a read: remembered on the segment (reads stop there) and logged once,
   * with the way past it. The error reaches Fetch as KAFKA_STORAGE_ERROR, already reported.
   */
  private damaged(seg: Segment, pos: number, reason: string): Error {
    if (seg.damage === null) {
      seg.damage = { pos, reason };
      this.core.log(
        "error",
        `${this.topic}-${this.partition}: damaged record batch at byte ${pos} of ${seg.logPath} (${reason}); ` +
          `fetches reaching it get KAFKA_STORAGE_ERROR. To recover as Kafka's log recovery does, stop the broker, ` +
          `delete ${seg.path}.index and start it: the segment is then scanned and truncated at the bad batch ` +
          `(the bytes cut off are kept in ${seg.logPath}.damaged-${pos}), and fetches continue after it.`,
      );
    }
    return Object.assign(storageError(`${seg.logPath}: damaged record batch at byte ${pos} (${reason})`), {
      reported: true,
    });
  }

  /** Visits whole batches of a segment from the index position of `fromOffset`. */
  async visit(
    seg: Segment,
    fromOffset: number,
    fn: (batch: Uint8Array, base: number) => boolean | void,
  ): Promise<ScanResult> {
    seg.readers++;
    try {
      const h = await seg.open(this.core.fs);
      this.core.handles.touch(seg);
      return await scanFile(h, seg.lookup(fromOffset), seg.size, READ_CHUNK, false, (buf, at, _pos, size) => {
        if (fn(buf.subarray(at, at + size), batchBaseOffsetNumber(buf, at)) === false) return false;
      });
    } finally {
      seg.readers--;
    }
  }

  async batchForTimestamp(timestamp: number): Promise<{ batch: Uint8Array; baseOffset: number } | null> {
    const start = this.logStartOffset;
    for (const seg of [...this.segments]) {
      if (seg.next <= start || seg.maxTs < timestamp) continue;
      let found: { batch: Uint8Array; baseOffset: number } | null = null;
      await this.visit(seg, Math.max(seg.lookupTime(timestamp), start), (batch, base) => {
        if (base + batchLastOffsetDelta(batch, 0) < start) return;
        if (batchMaxTs(batch, 0) >= timestamp) {
          found = { batch, baseOffset: base };
          return false;
        }
      });
      if (found) return found;
    }
    return null;
  }

  async maxTimestampBatch(): Promise<{ batch: Uint8Array; baseOffset: number } | null> {
    const start = this.logStartOffset;
    if (start >= this.logEndOffset) return null;
    let best: { ts: number; offset: number; seg: Segment } | null = null;
    for (const seg of [...this.segments]) {
      if (seg.next <= start || seg.size === 0) continue;
      let ts = seg.maxTs;
      let offset = seg.offMaxTs;
      if (offset < start) {
        // The segment's max lies below the log start: find the max among what is left.
        ts = -Infinity;
        await this.visit(seg, start, (batch, base) => {
          if (base + batchLastOffsetDelta(batch, 0) < start) return;
          const t = batchMaxTs(batch, 0);
          if (t > ts) {
            ts = t;
            offset = base;
          }
        });
      }
      if (!best || ts > best.ts) best = { ts, offset, seg };
    }
    if (!best) return null;
    let found: { batch: Uint8Array; baseOffset: number } | null = null;
    const target = best.offset;
    await this.visit(best.seg, target, (batch, base) => {
      if (base + batchLastOffsetDelta(batch, 0) >= target) {
        found = { batch, baseOffset: base };
        return false;
      }
    });
    return found;
  }

  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  abortedTxnListeners = new AbortedTxnListeners();

  onAbortedTxnRemoved(listener: (producerId: bigint, lastOffset: number) => void): () => void {
    return this.abortedTxnListeners.add(listener);
  }

  writeState(name: string, data: Uint8Array): Promise<void> {
    return this.core.fs.writeFileAtomic(`${this.dir}/${name}.state`, data);
  }

  readState(name: string): Promise<Uint8Array | null> {
    return this.core.fs.readFile(`${this.dir}/${name}.state`);
  }

  // ---- log start, retention, compaction

  /** Runs `fn` exclusively with other segment-list changes (retention, compaction, DeleteRecords). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.maintenance.then(fn);
    this.maintenance = p.catch(() => {});
    return p;
  }

  /** Moves the log start (DeleteRecords) and drops the segments wholly below it (file_retention.ts). */
  advanceLogStart(offset: number): Promise<void> {
    return advanceLogStart(this, offset);
  }

  /** retention.ms / retention.bytes (file_retention.ts). */
  retain(): Promise<void> {
    return retain(this);
  }

  /** Segments deleted once their readers are done: those waiting for file.delete.delay.ms, those under way. */
  timers = new Map<ReturnType<typeof setTimeout>, () => Promise<void>>();
  pendingDeletes: Promise<void>[] = [];

  /** Compaction of the rolled segments old enough for min.compaction.lag.ms; keeps offsets (file_compaction.ts). */
  compact(force: boolean): Promise<void> {
    return compactFilePartition(this, force);
  }

  // ---- shutdown

  async close(): Promise<boolean> {
    await this.maintenance;
    this.closed = true;
    await this.writeQueue;
    await this.completion;
    await this.rollFlush;
    let ok = this.failed === null;
    for (const [t, go] of this.timers) {
      clearTimeout(t);
      this.pendingDeletes.push(go());
    }
    this.timers.clear();
    await Promise.all(this.pendingDeletes);
    const seg = this.active;
    if (ok) {
      try {
        seg.maybeAddTime();
        // Appends not yet synced (flush.messages/flush.ms, acks below all); everything else was synced.
        if (this.dirty) {
          const h = await this.core.handles.acquire(seg, this.core.fs);
          try {
            await h.sync();
          } finally {
            this.core.handles.release(seg);
          }
        }
        // Thousands of idle partitions stop without two fsynced file writes each: an empty segment needs
        // no index files, and files that still describe the segment are left as they are.
        const d = seg.onDisk;
        const current = d !== null && d.size === seg.size && d.idxN === seg.idxN && d.tsN === seg.tsN;
        if (!current && !(seg.size === 0 && seg.idxN === 0 && seg.tsN === 0)) await this.writeIndexes(seg);
      } catch (e) {
        this.core.log(
          "error",
          `${this.topic}-${this.partition}: could not finish the active segment at shutdown: ${errText(e)}`,
        );
        ok = false;
      }
    }
    for (const s of this.segments) await s.closeHandle();
    return ok;
  }

  /** Closes without the clean-shutdown work (DeleteTopics). */
  async discard(): Promise<void> {
    this.closed = true;
    await this.writeQueue;
    await this.completion.catch(() => {});
    await this.rollFlush;
    for (const t of this.timers.keys()) clearTimeout(t);
    this.timers.clear();
    for (const s of this.segments) {
      if (s.handle) await this.core.commit.settled(s.handle);
      await s.closeHandle();
    }
  }
}

/** Opens (creating) the file engine over `dir`. Partitions are loaded when first opened. */
export async function openFileLogStore(
  fs: FileSystem,
  dir: string,
  options: FileLogStoreOptions = {},
): Promise<FileLogStore> {
  const root = dir.replace(/\/+$/, "") || "/";
  await fs.mkdir(root);
  const stateText = await fs.readFile(`${root}/${STATE_FILE}`);
  let clean = false;
  let fresh = stateText === null;
  if (stateText) {
    try {
      clean = JSON.parse(new TextDecoder().decode(stateText)).clean === true;
    } catch {
      clean = false;
    }
  }
  if (fresh) {
    // A new directory: nothing to recover.
    const entries = await fs.list(root);
    fresh = !entries.some((e) => e.isDirectory && PARTITION_DIR.test(e.name));
    clean = fresh;
  }
  await fs.writeFileAtomic(`${root}/${STATE_FILE}`, new TextEncoder().encode(JSON.stringify({ clean: false })));
  const core = new Core(fs, root, options, clean);
  if (!clean) core.log("warn", `${root}: the last shutdown was not clean; partitions are recovered as they open`);
  // A deleted partition's directory that a crash left renamed aside (removePartitionDir below): its
  // removal is finished now, as Kafka's LogManager does at start. Only names this engine makes.
  for (const e of await fs.list(root)) {
    if (!e.isDirectory || !DELETED_DIR.test(e.name)) continue;
    try {
      await fs.remove(`${root}/${e.name}`, { recursive: true });
      core.log("info", `${root}: removed ${e.name}, a deleted partition's directory left by an interrupted deletion`);
    } catch (err) {
      core.log("warn", `could not remove ${root}/${e.name} of a deleted topic (${errText(err)}); nothing reads it`);
    }
  }
  const logs = new Map<string, Promise<FilePartitionLog>>();
  const opened = new Set<FilePartitionLog>();
  const key = (t: string, p: number) => `${t}-${p}`;
  let closing = false;

  const retentionEvery = options.retentionCheckIntervalMs ?? 300000;
  const cleanerEvery = options.cleanerBackoffMs ?? 15000;
  const cleanerOn = options.cleanerEnabled ?? true;
  let lastRetention = core.now();
  let lastCleaner = core.now();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let ticking: Promise<void> = Promise.resolve();
  const tickMs = Math.max(10, Math.min(1000, retentionEvery, cleanerEvery));

  async function tick(): Promise<void> {
    const now = core.now();
    for (const p of opened) {
      const f = p.config().flushMs;
      if (p.dirty && f < 1e15 && now - p.lastFlush >= f) await p.flush();
    }
    if (now - lastRetention >= retentionEvery) {
      lastRetention = now;
      await store.runRetention();
    }
    if (cleanerOn && now - lastCleaner >= cleanerEvery) {
      lastCleaner = now;
      await store.runCompaction(false);
    }
  }
  function arm(): void {
    if (closing) return;
    timer = setTimeout(() => {
      timer = null;
      ticking = tick().catch((e) => core.log("error", `storage maintenance failed: ${errText(e)}`)).then(arm);
    }, tickMs);
  }

  /** Partition directories of deleted topics that could not be moved aside: a topic of that name waits for them. */
  const leftovers = new Set<string>();
  /** Removals of deleted partitions in progress, by `<topic>-<p>`: an open of the same name waits for them. */
  const removing = new Map<string, Promise<void>>();
  /** Removals of directories moved aside, still running. */
  const removals = new Set<Promise<void>>();
  /**
   * A deleted partition's directory: renamed aside (`<topic>-<p>.<hex>-delete`, Kafka's naming), so a
   * topic created again under the name starts empty whatever happens next, then removed in the background.
   * Never throws (the deletion is already recorded): a failure is one log line. False when the directory
   * is still in place.
   */
  async function removePartitionDir(k: string): Promise<boolean> {
    const path = `${root}/${k}`;
    const aside = `${path}.${crypto.randomUUID().replace(/-/g, "")}-delete`;
    try {
      if ((await fs.stat(path)) === null) {
        leftovers.delete(k);
        return true;
      }
      await fs.rename(path, aside);
      leftovers.delete(k);
    } catch (e) {
      // Gone meanwhile (another removal of the same partition got there first): nothing left to move.
      if ((e as { code?: string }).code === "ENOENT" && (await fs.stat(path).catch(() => null)) === null) {
        leftovers.delete(k);
        return true;
      }
      if (!leftovers.has(k)) {
        core.log(
          "error",
          `could not move away ${path} of a deleted topic (${
            errText(e)
          }); a topic created under that name is refused until it is gone (or after a restart, which sets it aside)`,
        );
      }
      leftovers.add(k);
      return false;
    }
    // Out of the way: the files go in the background (Kafka answers DeleteTopics before its files are gone,
    // file.delete.delay.ms later); closing the store waits for them, a restart removes what a crash left.
    const removal: Promise<void> = fs.remove(aside, { recursive: true }).catch((e) => {
      core.log(
        "warn",
        `could not remove ${aside} of a deleted topic (${
          errText(e)
        }); nothing reads it: remove it yourself (the next start tries again)`,
      );
    }).finally(() => removals.delete(removal));
    removals.add(removal);
    return true;
  }

  const store: FileLogStore = {
    keepsAppendedBuffers: false,
    stats: core.stats,
    get offline() {
      return core.offline;
    },
    commit: core.commit,
    async open(topic, partition) {
      if (closing) throw storageError("store is closed");
      if (core.offline) throw core.offlineError(`${topic}-${partition}`);
      const k = key(topic, partition);
      // A topic of this name is being deleted: its directory goes first (a new one must not open the old files,
      // nor see its own moved away).
      await removing.get(k)?.catch(() => {});
      // The files of a deleted topic-partition of this name are still there: a new topic must not read them.
      if (leftovers.has(k) && !(await removePartitionDir(k))) {
        throw storageError(`the files of deleted partition ${k} could not be moved away (see the log); not reused`);
      }
      let p = logs.get(k);
      if (!p) {
        const log = new FilePartitionLog(core, topic, partition);
        p = core.loads.run(() => log.load()).then(() => {
          opened.add(log);
          return log;
        });
        logs.set(k, p);
        p.catch(() => logs.delete(k));
      }
      return p;
    },
    async remove(topic, partitions) {
      // Every partition is taken out of `logs` and marked as being removed before the first await: a topic
      // created again under the name meanwhile waits for each one, never opening a partition still to go.
      // They are removed one after another.
      let prev: Promise<void> = Promise.resolve();
      const all: Promise<void>[] = [];
      for (let i = 0; i < partitions; i++) {
        const k = key(topic, i);
        const p = logs.get(k);
        logs.delete(k);
        const done = prev.then(async () => {
          if (p) {
            const log = await p.catch(() => null);
            if (log) {
              opened.delete(log);
              await log.discard();
            }
          }
          await removePartitionDir(k);
        }).finally(() => {
          if (removing.get(k) === done) removing.delete(k);
        });
        removing.set(k, done);
        all.push(done);
        prev = done.catch(() => {});
      }
      await Promise.all(all);
    },
    async runRetention() {
      for (const p of [...opened]) {
        try {
          await p.retain();
        } catch (e) {
          core.log("error", `retention of ${p.topic}-${p.partition} failed: ${errText(e)}`);
        }
      }
    },
    async runCompaction(force = false) {
      for (const p of [...opened]) {
        try {
          await p.compact(force);
        } catch (e) {
          core.log("error", `compaction of ${p.topic}-${p.partition} failed: ${errText(e)}`);
        }
      }
    },
    closeKeepingRecovery() {
      return closeStore(clean);
    },
    close() {
      return closeStore(true);
    },
  };
  async function closeStore(markClean: boolean): Promise<void> {
    if (closing) return;
    closing = true;
    if (timer) clearTimeout(timer);
    await ticking;
    let ok = true;
    for (const p of logs.values()) {
      const log = await p.catch(() => null);
      if (log && !(await log.close())) ok = false;
    }
    await core.commit.drain();
    while (removals.size > 0) await Promise.all([...removals]);
    logs.clear();
    opened.clear();
    if (ok && markClean) {
      await fs.writeFileAtomic(`${root}/${STATE_FILE}`, new TextEncoder().encode(JSON.stringify({ clean: true })));
    }
  }
  arm();
  return store;
}
