// The read half of the object data path. Fetch asks the index where a partition's batches are (extents),
// then reads those byte ranges through a block cache: objects are cut into fixed blocks
// (`chronik.object.cache.block.bytes`), missing blocks are fetched with one ranged GET per run of adjacent
// missing blocks, and kept in an LRU bounded by `chronik.object.cache.bytes`. Concurrent reads of the same
// block share one GET. The writer hands every committed object to cacheObject(), so consumers at the tail
// are served from memory without any GET while the object is still cached.
//
// Batches in objects carry whatever base offset the producer sent; the index knows the real ones, and the
// reader writes them into the batches it returns (the same value every time, so cached bytes may be
// patched in place).
import {
  BATCH_LENGTH_OFFSET,
  batchBaseOffsetNumber,
  batchLastOffsetDelta,
  LAST_OFFSET_DELTA_OFFSET,
  setBaseOffset,
} from "../../protocol/record_batch.ts";
import type { Extent, ObjectIndex } from "./index.ts";
import { type ObjectStore, ObjectStoreError } from "./store.ts";

export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;
export const DEFAULT_BLOCK_BYTES = 1024 * 1024;

export type ObjectReaderOptions = {
  store: ObjectStore;
  index: ObjectIndex;
  cacheBytes?: number;
  blockBytes?: number;
};

export type ReaderStats = {
  /** Block lookups answered from the cache, by a GET already under way, or by a new GET. */
  hits: number;
  shared: number;
  misses: number;
  gets: number;
  cachedBytes: number;
  evictedBytes: number;
};

export class ObjectReader {
  readonly stats: ReaderStats = { hits: 0, shared: 0, misses: 0, gets: 0, cachedBytes: 0, evictedBytes: 0 };
  readonly #store: ObjectStore;
  readonly #index: ObjectIndex;
  readonly #cacheBytes: number;
  readonly #block: number;
  /** Insertion order is recency order (a hit moves the entry to the end). */
  readonly #cache = new Map<string, Uint8Array>();
  readonly #loading = new Map<string, Promise<Uint8Array>>();

  constructor(options: ObjectReaderOptions) {
    this.#store = options.store;
    this.#index = options.index;
    this.#cacheBytes = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
    this.#block = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
    if (!(this.#block > 0)) throw new RangeError("block size must be positive");
  }

  /**
   * Whole batches of a partition from the one containing `offset`, stopping before `maxBytes` would be
   * exceeded — except that the first batch is returned whatever its size (KIP-74), unless `strictMaxBytes`.
   */
  async read(
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
    strictMaxBytes = false,
  ): Promise<Uint8Array[]> {
    let extents = await this.#index.locate(topic, partition, offset, maxBytes);
    let ranges: Uint8Array[];
    try {
      ranges = await Promise.all(extents.map((e) => this.readRange(e.objectKey, e.position, e.size)));
    } catch (e) {
      // Compaction moved the extents and the old object was deleted after we located them: locate again.
      if (!(e instanceof ObjectStoreError && e.code === "NoSuchKey")) throw e;
      extents = await this.#index.locate(topic, partition, offset, maxBytes);
      ranges = await Promise.all(extents.map((e) => this.readRange(e.objectKey, e.position, e.size)));
    }
    const out: Uint8Array[] = [];
    let bytes = 0;
    for (let i = 0; i < extents.length; i++) {
      for (const batch of batchesOf(extents[i], ranges[i])) {
        const last = batchBaseOffsetNumber(batch) + batchLastOffsetDelta(batch);
        if (last < offset) continue;
        if (bytes + batch.length > maxBytes && (out.length > 0 || strictMaxBytes)) return out;
        out.push(batch);
        bytes += batch.length;
      }
    }
    return out;
  }

  /** Every batch of one extent, with its base offset written. */
  async extentBatches(extent: Extent): Promise<Uint8Array[]> {
    return [...batchesOf(extent, await this.readRange(extent.objectKey, extent.position, extent.size))];
  }

  /** `length` bytes at `position` of an object, through the block cache. */
  async readRange(key: string, position: number, length: number): Promise<Uint8Array> {
    const B = this.#block;
    const first = Math.floor(position / B);
    const last = Math.floor((position + length - 1) / B);
    const blocks: Promise<Uint8Array>[] = [];
    let run: number[] = [];
    const flushRun = () => {
      if (run.length > 0) this.#load(key, run);
      run = [];
    };
    for (let b = first; b <= last; b++) {
      const id = blockId(key, b);
      const hit = this.#cache.get(id);
      if (hit) {
        this.stats.hits++;
        this.#cache.delete(id);
        this.#cache.set(id, hit);
        flushRun();
      } else if (this.#loading.has(id)) {
        this.stats.shared++;
        flushRun();
      } else {
        this.stats.misses++;
        run.push(b);
        continue;
      }
    }
    flushRun();
    for (let b = first; b <= last; b++) {
      const id = blockId(key, b);
      blocks.push(Promise.resolve(this.#cache.get(id) ?? this.#loading.get(id)!));
    }
    const got = await Promise.all(blocks);
    const startIn = position - first * B;
    if (got.length === 1) {
      if (startIn + length > got[0].length) throw new RangeError(`${key}: range ${position}+${length} past its end`);
      return got[0].subarray(startIn, startIn + length);
    }
    const out = new Uint8Array(length);
    let at = 0;
    for (let i = 0; i < got.length && at < length; i++) {
      const from = i === 0 ? startIn : 0;
      const part = got[i].subarray(from, Math.min(got[i].length, from + length - at));
      out.set(part, at);
      at += part.length;
    }
    if (at < length) throw new RangeError(`${key}: range ${position}+${length} past its end`);
    return out;
  }

  /** Puts a whole object into the cache (the writer's committed objects: the tail, served without a GET). */
  cacheObject(key: string, body: Uint8Array): void {
    for (let b = 0; b * this.#block < body.length; b++) {
      this.#insert(blockId(key, b), body.subarray(b * this.#block, (b + 1) * this.#block));
    }
  }

  /** Drops an object's blocks (after it was deleted). */
  forget(key: string): void {
    const prefix = blockId(key, 0).slice(0, -1);
    for (const [id, block] of this.#cache) {
      if (!id.startsWith(prefix)) continue;
      this.#cache.delete(id);
      this.stats.cachedBytes -= block.length;
    }
  }

  #load(key: string, run: number[]): void {
    const B = this.#block;
    const start = run[0] * B;
    this.stats.gets++;
    const whole = this.#store.get(key, { offset: start, length: run.length * B });
    whole.catch(() => {});
    run.forEach((b, i) => {
      const id = blockId(key, b);
      const p = whole.then((bytes) => {
        const block = bytes.subarray(i * B, (i + 1) * B);
        this.#insert(id, block);
        return block;
      }).finally(() => this.#loading.delete(id));
      p.catch(() => {});
      this.#loading.set(id, p);
    });
  }

  #insert(id: string, block: Uint8Array): void {
    const old = this.#cache.get(id);
    if (old) {
      this.#cache.delete(id);
      this.stats.cachedBytes -= old.length;
    }
    if (block.length > this.#cacheBytes) return;
    this.#cache.set(id, block);
    this.stats.cachedBytes += block.length;
    for (const [k, v] of this.#cache) {
      if (this.stats.cachedBytes <= this.#cacheBytes) break;
      this.#cache.delete(k);
      this.stats.cachedBytes -= v.length;
      this.stats.evictedBytes += v.length;
    }
  }
}

function blockId(key: string, block: number): string {
  return `${key}\u0000${block}`;
}

/** The batches of an extent, each given its base offset (the extent's base plus the records before it). */
function* batchesOf(extent: Extent, bytes: Uint8Array): Generator<Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  let offset = extent.baseOffset;
  while (at < bytes.length) {
    const size = 12 + view.getInt32(at + BATCH_LENGTH_OFFSET);
    if (size < 12 || at + size > bytes.length) {
      throw new Error(`${extent.objectKey}: malformed batch at ${extent.position + at}`);
    }
    setBaseOffset(bytes, at, offset);
    offset += view.getInt32(at + LAST_OFFSET_DELTA_OFFSET) + 1;
    yield bytes.subarray(at, at + size);
    at += size;
  }
}
