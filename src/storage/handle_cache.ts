// Open segment files, bounded (issue #14.3): a partition holds no descriptor while it is idle. A
// segment's log file is opened when it is written or read and stays open, least recently used
// first, while at most `max` are open store-wide; beyond that the least recently used idle one is
// closed (and opened again when next needed). A segment being written, synced, read or recovered is
// pinned and never closed under its user. Kafka keeps every segment open (and asks for a large
// ulimit); thousands of partitions here cost no descriptors until used.
import type { FileHandle, FileSystem } from "../runtime.ts";

/** What the cache needs of a segment (storage/segment.ts). */
export interface CachedFile {
  handle: FileHandle | null;
  /** Users that must not see the handle closed: writers, syncs, recoveries. */
  pins: number;
  /** Readers (Fetch, ListOffsets, compaction) walking the file. */
  readers: number;
  open(fs: FileSystem): Promise<FileHandle>;
  closeHandle(): Promise<void>;
}

export class HandleCache {
  readonly max: number;
  /** Segments that may hold an open handle, least recently used first (a Set keeps insertion order). */
  private readonly lru = new Set<CachedFile>();
  /** Handles closed to stay under `max` (for stats and tests). */
  evictions = 0;

  constructor(max: number) {
    this.max = Math.max(1, max);
  }

  /** Opens (or reuses) the segment's file and pins it until `release`. */
  async acquire(seg: CachedFile, fs: FileSystem): Promise<FileHandle> {
    seg.pins++;
    try {
      const h = await seg.open(fs);
      this.touch(seg);
      return h;
    } catch (e) {
      seg.pins--;
      throw e;
    }
  }

  release(seg: CachedFile): void {
    seg.pins--;
    this.touch(seg);
  }

  /** Marks the segment most recently used, then closes idle handles over `max`. */
  touch(seg: CachedFile): void {
    this.lru.delete(seg);
    this.lru.add(seg);
    this.evict();
  }

  /** Open handles the cache knows of (segments closed elsewhere are dropped as they are met). */
  get size(): number {
    return this.lru.size;
  }

  private evict(): void {
    if (this.lru.size <= this.max) return;
    for (const s of this.lru) {
      if (this.lru.size <= this.max) return;
      if (s.handle === null && s.pins === 0 && s.readers === 0) {
        this.lru.delete(s); // closed already (retired, compacted away, partition closed)
        continue;
      }
      if (s.pins > 0 || s.readers > 0 || s.handle === null) continue;
      this.lru.delete(s);
      this.evictions++;
      s.closeHandle().catch(() => {});
    }
  }
}

/** At most `n` of the functions given to `run` at once (partition loads at start-up). */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly n: number;

  constructor(n: number) {
    this.n = n;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.n) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}
