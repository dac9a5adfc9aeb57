// Memory engine: batches kept as the views they arrived in. For tests and diskless runs.
import type { AppendOptions, AppendResult, BatchMeta, LogStore, PartitionLog } from "./store.ts";
import { LogEndMovedError, MAX_OFFSET } from "./store.ts";

const BASE_OFFSET_POS = 0;

export function memoryLogStore(): LogStore {
  const logs = new Map<string, MemoryPartitionLog>();
  return {
    keepsAppendedBuffers: true,
    open(topic, partition) {
      const key = `${topic}\u0000${partition}`;
      let log = logs.get(key);
      if (!log) {
        log = new MemoryPartitionLog(topic, partition);
        logs.set(key, log);
      }
      return Promise.resolve(log);
    },
    remove(topic, partitions) {
      for (let p = 0; p < partitions; p++) logs.delete(`${topic}\u0000${p}`);
      return Promise.resolve();
    },
    close() {
      logs.clear();
      return Promise.resolve();
    },
  };
}

class MemoryPartitionLog implements PartitionLog {
  readonly topic: string;
  readonly partition: number;
  logStartOffset = 0;
  logEndOffset = 0;
  sizeInBytes = 0;
  // Parallel arrays, one entry per stored batch, ordered by offset.
  private batches: Uint8Array[] = [];
  private baseOffsets: number[] = [];
  private lastOffsets: number[] = [];
  private maxTimestamps: number[] = [];
  /** Index of the first batch still inside the log (earlier ones are dropped lazily). */
  private first = 0;
  private listeners = new Set<() => void>();

  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }

  appendIf(
    logEnd: number,
    buf: Uint8Array,
    metas: readonly BatchMeta[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    if (logEnd !== this.logEndOffset) {
      return Promise.reject(
        new LogEndMovedError(`${this.topic}-${this.partition}: log end is ${this.logEndOffset}, not ${logEnd}`),
      );
    }
    return this.append(buf, metas, options);
  }

  append(buf: Uint8Array, metas: readonly BatchMeta[], _options?: AppendOptions): Promise<AppendResult> {
    const baseOffset = this.logEndOffset;
    let span = 0;
    for (const m of metas) span += m.lastOffsetDelta + 1;
    if (baseOffset > MAX_OFFSET - (span - 1)) {
      return Promise.reject(
        new RangeError(
          `offsets up to ${baseOffset} + ${span - 1} are beyond the largest offset this engine stores (2^53 - 1)`,
        ),
      );
    }
    let next = baseOffset;
    for (const m of metas) {
      const view = new DataView(buf.buffer, buf.byteOffset + m.position, m.size);
      view.setBigInt64(BASE_OFFSET_POS, BigInt(next));
      this.batches.push(buf.subarray(m.position, m.position + m.size));
      this.baseOffsets.push(next);
      this.lastOffsets.push(next + m.lastOffsetDelta);
      this.maxTimestamps.push(m.maxTimestamp);
      this.sizeInBytes += m.size;
      next += m.lastOffsetDelta + 1;
    }
    this.logEndOffset = next;
    for (const l of this.listeners) l();
    return Promise.resolve({ baseOffset, lastOffset: next - 1, logStartOffset: this.logStartOffset });
  }

  /** Index of the first live batch whose last offset is >= offset, or batches.length. */
  private indexOf(offset: number): number {
    let lo = this.first;
    let hi = this.batches.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.lastOffsets[mid] < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  read(offset: number, maxBytes: number, strictMaxBytes = false): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    let bytes = 0;
    for (let i = this.indexOf(Math.max(offset, this.logStartOffset)); i < this.batches.length; i++) {
      const b = this.batches[i];
      if (bytes + b.length > maxBytes && (out.length > 0 || strictMaxBytes)) break;
      out.push(b);
      bytes += b.length;
    }
    return Promise.resolve(out);
  }

  batchForTimestamp(timestamp: number) {
    for (let i = this.indexOf(this.logStartOffset); i < this.batches.length; i++) {
      if (this.maxTimestamps[i] >= timestamp) {
        return Promise.resolve({ batch: this.batches[i], baseOffset: this.baseOffsets[i] });
      }
    }
    return Promise.resolve(null);
  }

  maxTimestampBatch() {
    let best = -1;
    for (let i = this.indexOf(this.logStartOffset); i < this.batches.length; i++) {
      if (best < 0 || this.maxTimestamps[i] > this.maxTimestamps[best]) best = i;
    }
    return Promise.resolve(best < 0 ? null : { batch: this.batches[best], baseOffset: this.baseOffsets[best] });
  }

  advanceLogStart(offset: number): Promise<void> {
    if (offset <= this.logStartOffset) return Promise.resolve();
    this.logStartOffset = Math.min(offset, this.logEndOffset);
    // Drop whole batches that lie entirely below the new start.
    while (this.first < this.batches.length && this.lastOffsets[this.first] < this.logStartOffset) {
      this.sizeInBytes -= this.batches[this.first].length;
      this.first++;
    }
    if (this.first > 1024 && this.first * 2 > this.batches.length) this.compactArrays();
    return Promise.resolve();
  }

  private compactArrays() {
    const f = this.first;
    this.batches = this.batches.slice(f);
    this.baseOffsets = this.baseOffsets.slice(f);
    this.lastOffsets = this.lastOffsets.slice(f);
    this.maxTimestamps = this.maxTimestamps.slice(f);
    this.first = 0;
  }

  private states = new Map<string, Uint8Array>();

  writeState(name: string, data: Uint8Array): Promise<void> {
    this.states.set(name, data.slice());
    return Promise.resolve();
  }

  readState(name: string): Promise<Uint8Array | null> {
    return Promise.resolve(this.states.get(name)?.slice() ?? null);
  }

  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
