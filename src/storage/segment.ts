// One log segment: `<base>.log` holding raw batches back to back, with Kafka's sparse offset index
// (`<base>.index`: int32 relative offset, int32 position) and time index (`<base>.timeindex`: int64
// timestamp, int32 relative offset), both big-endian. Index entries are kept in memory for the
// lookups (binary search); the files are written whole when the segment rolls and at a clean
// shutdown, and rebuilt from the log when missing or stale.
import type { FileHandle, FileSystem } from "../runtime.ts";
import {
  BATCH_HEADER_SIZE,
  batchBaseOffsetNumber,
  batchCrcValid,
  batchLastOffsetDelta,
  batchSize,
  CURRENT_MAGIC,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
} from "../protocol/record_batch.ts";

export const INDEX_ENTRY = 8;
export const TIME_ENTRY = 12;

export function segmentName(base: number): string {
  return String(base).padStart(20, "0");
}

function grow<T extends Int32Array | Float64Array>(a: T, n: number, make: (n: number) => T): T {
  if (n < a.length) return a;
  const b = make(Math.max(16, a.length * 2));
  b.set(a);
  return b;
}

/** maxTimestamp of a batch as a number (exact for any realistic clock). */
export function batchMaxTs(buf: Uint8Array, at: number): number {
  const hi = (buf[at + MAX_TIMESTAMP_OFFSET] << 24) | (buf[at + MAX_TIMESTAMP_OFFSET + 1] << 16) |
    (buf[at + MAX_TIMESTAMP_OFFSET + 2] << 8) | buf[at + MAX_TIMESTAMP_OFFSET + 3];
  const lo = ((buf[at + MAX_TIMESTAMP_OFFSET + 4] << 24) | (buf[at + MAX_TIMESTAMP_OFFSET + 5] << 16) |
    (buf[at + MAX_TIMESTAMP_OFFSET + 6] << 8) | buf[at + MAX_TIMESTAMP_OFFSET + 7]) >>> 0;
  return hi * 4294967296 + lo;
}

export class Segment {
  readonly base: number;
  /** Path without extension: `<dir>/<20-digit base>`. */
  readonly path: string;
  /** Offset after the last batch (the base while empty). */
  next: number;
  /** Bytes of whole, written batches: reads never go past it. */
  size = 0;
  // Offset index, relative to base.
  idxN = 0;
  idxOff = new Int32Array(16);
  idxPos = new Int32Array(16);
  // Time index: running max timestamp, relative offset of the batch that first reached it.
  tsN = 0;
  tsVal = new Float64Array(16);
  tsOff = new Int32Array(16);
  /** Largest batch maxTimestamp so far (-1: none) and the base offset of the first batch holding it. */
  maxTs = -1;
  offMaxTs: number;
  bytesSinceIndex = 0;
  /** Wall-clock ms of the segment's first append (segment.ms), or of loading it. */
  created: number;
  /** Wall-clock ms of the last append, for retention of batches without timestamps. */
  lastAppend: number;
  handle: FileHandle | null = null;
  /** Users the handle must stay open for (storage/handle_cache.ts). */
  pins = 0;
  /** What the index files on disk describe (log size, entries), or null when unknown: unchanged, they are not rewritten. */
  onDisk: { size: number; idxN: number; tsN: number } | null = null;
  private opening: Promise<FileHandle> | null = null;
  /** Resolves when the segment's file may be opened (after a compaction swap). */
  gate: Promise<void> | null = null;
  readers = 0;
  retired = false;
  /**
   * Reads check each batch's CRC once: bytes below verifiedTo have been checked, bytes from
   * trustedFrom on were appended (and validated) by this process. A loaded segment starts with
   * nothing trusted; a new one (roll, compaction) with everything.
   */
  verifiedTo = 0;
  trustedFrom = 0;
  /** The first damaged batch a read found (position, why): reads stop there, logged once. */
  damage: { pos: number; reason: string } | null = null;

  constructor(dir: string, base: number, now: number) {
    this.base = base;
    this.path = `${dir}/${segmentName(base)}`;
    this.next = base;
    this.offMaxTs = base;
    this.created = now;
    this.lastAppend = now;
  }

  get logPath(): string {
    return `${this.path}.log`;
  }

  open(fs: FileSystem): Promise<FileHandle> {
    if (this.handle) return Promise.resolve(this.handle);
    this.opening ??= (async () => {
      if (this.gate) await this.gate;
      const h = await fs.open(this.logPath);
      this.handle = h;
      return h;
    })();
    const p = this.opening;
    p.catch(() => {
      if (this.opening === p) this.opening = null;
    });
    return p;
  }

  async closeHandle(): Promise<void> {
    const h = this.handle ?? (this.opening ? await this.opening.catch(() => null) : null);
    this.handle = null;
    this.opening = null;
    if (h) await h.close().catch(() => {});
  }

  /** Records a batch written at `pos` in the in-memory indexes (Kafka's index.interval.bytes rule). */
  noteBatch(pos: number, size: number, base: number, maxTs: number, interval: number): void {
    if (maxTs > this.maxTs) {
      this.maxTs = maxTs;
      this.offMaxTs = base;
    }
    if (this.bytesSinceIndex > interval) {
      this.addIndex(base - this.base, pos);
      this.maybeAddTime();
      this.bytesSinceIndex = 0;
    }
    this.bytesSinceIndex += size;
  }

  addIndex(rel: number, pos: number): void {
    this.idxOff = grow(this.idxOff, this.idxN, (n) => new Int32Array(n));
    this.idxPos = grow(this.idxPos, this.idxN, (n) => new Int32Array(n));
    this.idxOff[this.idxN] = rel;
    this.idxPos[this.idxN] = pos;
    this.idxN++;
  }

  /** Appends (maxTs, offMaxTs) to the time index when the max grew since the last entry. */
  maybeAddTime(): void {
    if (this.maxTs < 0 || (this.tsN > 0 && this.tsVal[this.tsN - 1] >= this.maxTs)) return;
    this.tsVal = grow(this.tsVal, this.tsN, (n) => new Float64Array(n));
    this.tsOff = grow(this.tsOff, this.tsN, (n) => new Int32Array(n));
    this.tsVal[this.tsN] = this.maxTs;
    this.tsOff[this.tsN] = this.offMaxTs - this.base;
    this.tsN++;
  }

  /** Position to start scanning for `offset`: the last index entry at or before it. O(log n). */
  lookup(offset: number): number {
    const rel = offset - this.base;
    let lo = 0;
    let hi = this.idxN - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.idxOff[mid] <= rel) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? 0 : this.idxPos[found];
  }

  /** Offset from which a scan finds the first batch with maxTimestamp >= ts. O(log n). */
  lookupTime(ts: number): number {
    let lo = 0;
    let hi = this.tsN - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.tsVal[mid] <= ts) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? this.base : this.base + this.tsOff[found];
  }

  /** Index entry count that fits segment.index.bytes (roll when full). */
  indexFull(maxIndexBytes: number): boolean {
    return (this.idxN + 1) * INDEX_ENTRY > maxIndexBytes || (this.tsN + 1) * TIME_ENTRY > maxIndexBytes;
  }

  encodeIndex(): Uint8Array {
    const b = new Uint8Array(this.idxN * INDEX_ENTRY);
    const v = new DataView(b.buffer);
    for (let i = 0; i < this.idxN; i++) {
      v.setInt32(i * 8, this.idxOff[i]);
      v.setInt32(i * 8 + 4, this.idxPos[i]);
    }
    return b;
  }

  encodeTimeIndex(): Uint8Array {
    const b = new Uint8Array(this.tsN * TIME_ENTRY);
    const v = new DataView(b.buffer);
    for (let i = 0; i < this.tsN; i++) {
      v.setBigInt64(i * 12, BigInt(this.tsVal[i]));
      v.setInt32(i * 12 + 8, this.tsOff[i]);
    }
    return b;
  }

  /**
   * Loads index files written at roll or clean shutdown. Returns false (indexes left empty) when
   * they are missing, torn, or point outside the log: the caller then rebuilds them by scanning.
   */
  loadIndexes(index: Uint8Array | null, time: Uint8Array | null, logSize: number, nextHint: number | null): boolean {
    this.idxN = 0;
    this.tsN = 0;
    if (index === null || time === null || index.length % INDEX_ENTRY !== 0 || time.length % TIME_ENTRY !== 0) {
      return false;
    }
    const iv = new DataView(index.buffer, index.byteOffset, index.length);
    let lastOff = -1;
    let lastPos = -1;
    for (let p = 0; p < index.length; p += INDEX_ENTRY) {
      const off = iv.getInt32(p);
      const pos = iv.getInt32(p + 4);
      if (off <= lastOff || pos <= lastPos || pos >= logSize) return this.resetIndexes();
      if (nextHint !== null && this.base + off >= nextHint) return this.resetIndexes();
      this.addIndex(off, pos);
      lastOff = off;
      lastPos = pos;
    }
    const tv = new DataView(time.buffer, time.byteOffset, time.length);
    let lastTs = -Infinity;
    for (let p = 0; p < time.length; p += TIME_ENTRY) {
      const ts = Number(tv.getBigInt64(p));
      const off = tv.getInt32(p + 8);
      if (ts <= lastTs || off < 0 || (nextHint !== null && this.base + off >= nextHint)) return this.resetIndexes();
      this.tsVal = grow(this.tsVal, this.tsN, (n) => new Float64Array(n));
      this.tsOff = grow(this.tsOff, this.tsN, (n) => new Int32Array(n));
      this.tsVal[this.tsN] = ts;
      this.tsOff[this.tsN] = off;
      this.tsN++;
      lastTs = ts;
    }
    if (this.tsN > 0) {
      this.maxTs = this.tsVal[this.tsN - 1];
      this.offMaxTs = this.base + this.tsOff[this.tsN - 1];
    }
    return true;
  }

  resetIndexes(): false {
    this.idxN = 0;
    this.tsN = 0;
    this.maxTs = -1;
    this.offMaxTs = this.base;
    this.bytesSinceIndex = 0;
    return false;
  }

  /** Drops offset-index entries at or after entry `i` (before re-scanning from its position). */
  truncateIndexFrom(i: number): void {
    this.idxN = Math.min(this.idxN, i);
  }
}

export type ScanVisit = (buf: Uint8Array, at: number, pos: number, size: number) => string | false | void;
export type ScanResult = { pos: number; error: string | null };

/**
 * Walks whole batches of a segment file from `from` to `end`, reading `chunk` bytes at a time.
 * Checks framing (size, magic) and, with `verify`, the CRC. Stops at the first bad batch (error
 * says why; `pos` is where the valid prefix ends), or when `visit` returns false or an error string.
 */
export async function scanFile(
  h: FileHandle,
  from: number,
  end: number,
  chunk: number,
  verify: boolean,
  visit: ScanVisit,
): Promise<ScanResult> {
  let pos = from;
  let buf: Uint8Array = new Uint8Array(0);
  let bufStart = from;
  while (pos < end) {
    let at = pos - bufStart;
    if (buf.length - at < BATCH_HEADER_SIZE) {
      if (end - pos < BATCH_HEADER_SIZE) {
        return { pos, error: `${end - pos} trailing bytes, fewer than a batch header` };
      }
      buf = await h.read(pos, Math.min(end - pos, chunk));
      bufStart = pos;
      at = 0;
      if (buf.length < BATCH_HEADER_SIZE) return { pos, error: "file shorter than expected" };
    }
    if (buf[at + MAGIC_OFFSET] !== CURRENT_MAGIC) return { pos, error: `bad magic ${buf[at + MAGIC_OFFSET]}` };
    const size = batchSize(buf, at);
    if (size < BATCH_HEADER_SIZE || size > end - pos) {
      return { pos, error: `batch of ${size} bytes does not fit the ${end - pos} bytes left` };
    }
    if (batchLastOffsetDelta(buf, at) < 0 || Number.isNaN(batchBaseOffsetNumber(buf, at))) {
      return { pos, error: "bad offsets in batch header" };
    }
    if (buf.length - at < size) {
      buf = await h.read(pos, Math.max(size, Math.min(end - pos, chunk)));
      bufStart = pos;
      at = 0;
      if (buf.length < size) return { pos, error: "file shorter than expected" };
    }
    if (verify && !batchCrcValid(buf, at)) return { pos, error: "CRC32C mismatch" };
    const r = visit(buf, at, pos, size);
    if (r === false) return { pos, error: null };
    if (typeof r === "string") return { pos, error: r };
    pos += size;
  }
  return { pos, error: null };
}
