// The storage contract. Every engine (memory.ts, file.ts) passes tests/storage/contract.ts.
//
// Offsets inside the engine are numbers (exact to 2^53); the protocol edge converts to bigint.
// Batches are stored as the producer sent them (RecordBatch v2 bytes); the engine only writes
// the base offset (outside the CRC) when it assigns offsets.
import type { BufferPool } from "./buffer_pool.ts";

/** What the engine needs to know of each batch of an append; scanBatches' BatchInfo fits. */
export type BatchMeta = {
  /** Byte position of the batch in the appended buffer. */
  position: number;
  /** Total bytes of the batch (12 + batchLength). */
  size: number;
  lastOffsetDelta: number;
  /** Largest record timestamp (ms), or the log append time once set. */
  maxTimestamp: number;
};

export type AppendResult = {
  /** Offset given to the first record of the append. */
  baseOffset: number;
  /** Offset of the last record of the append. */
  lastOffset: number;
  logStartOffset: number;
};

export type TimestampLookup = { offset: number; timestamp: number };

export type AppendOptions = {
  /**
   * Resolve only once the batches are on stable storage (fsync; shared by every append waiting in
   * the same group-commit window). The produce path sets it for acks=all when the broker runs with
   * chronik.fsync.acks.all. Engines without a disk ignore it.
   */
  durable?: boolean;
  /**
   * Cluster: the leader epoch the produce was validated under (leadership, producer sequence). The append stores
   * nothing unless this broker still leads at exactly this epoch when the engine commits it (NOT_LEADER otherwise),
   * so a produce checked before the broker lost and regained the partition cannot land at the new epoch.
   */
  leaderEpoch?: number;
};

/** Largest offset an engine stores: offsets are numbers, exact to 2^53. */
export const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

/** An error the produce/fetch paths answer with KAFKA_STORAGE_ERROR (by its `code`). */
export function storageError(message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code: "KAFKA_STORAGE_ERROR" });
}

export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * A conditional append (PartitionLog.appendIf) found the log end moved: someone else appended first.
 * Nothing of the append was stored.
 */
export class LogEndMovedError extends Error {
  readonly code = "LOG_END_MOVED";
}

export function isLogEndMoved(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === "LOG_END_MOVED";
}

/** Out of space (or quota): the one write failure that leaves the disk healthy and is worth retrying. */
export function isNoSpace(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

export interface PartitionLog {
  readonly topic: string;
  readonly partition: number;
  /** First offset still stored. */
  readonly logStartOffset: number;
  /** Next offset to be assigned (log end offset; equals the high watermark on one node). */
  readonly logEndOffset: number;
  /** Bytes stored (for DescribeLogDirs and retention). */
  readonly sizeInBytes: number;
  /**
   * Appends validated batches. `buf` holds them back to back at `batches[i].position`;
   * the engine writes each batch's base offset into `buf` in place. An engine that keeps the bytes
   * (LogStore.keepsAppendedBuffers) owns `buf` from then on; one that does not has no use for it
   * once the append has settled, and the caller may reuse it. Appends to one partition complete in
   * call order.
   * A failed append (I/O error, disk full) rejects and leaves nothing of its batches readable.
   * An append that would take offsets past MAX_OFFSET rejects with a RangeError.
   */
  append(buf: Uint8Array, batches: readonly BatchMeta[], options?: AppendOptions): Promise<AppendResult>;
  /**
   * append(), only while the log end is still `logEnd` (a compare-and-set on the log end): otherwise
   * rejects with LogEndMovedError and stores nothing. On a shared engine (PostgreSQL) any broker may
   * call it, leader or not: the log end it checks is the one committed, so writers on several brokers
   * (the schema registry's `_schemas`) agree on one order. Engines without it leave it out.
   */
  appendIf?(
    logEnd: number,
    buf: Uint8Array,
    batches: readonly BatchMeta[],
    options?: AppendOptions,
  ): Promise<AppendResult>;
  /**
   * Whole batches from the one containing `offset`, stopping before `maxBytes` would be
   * exceeded — except that the first batch is returned whatever its size (KIP-74), unless
   * `strictMaxBytes`. Batches are views of stored bytes: callers must not modify them.
   * With `pool`, an engine that reads from files reads into buffers leased from it; the caller
   * then drops every batch once sent and releases them (see buffer_pool.ts), or just drops them.
   */
  read(offset: number, maxBytes: number, strictMaxBytes?: boolean, pool?: BufferPool): Promise<Uint8Array[]>;
  /** First batch whose max timestamp is >= `timestamp`: its base offset and max timestamp. */
  batchForTimestamp(timestamp: number): Promise<{ batch: Uint8Array; baseOffset: number } | null>;
  /** The batch holding the largest timestamp (earliest such batch), or null when empty. */
  maxTimestampBatch(): Promise<{ batch: Uint8Array; baseOffset: number } | null>;
  /**
   * Moves the log start offset forward (DeleteRecords, retention); never backwards, never past the
   * log end. Whole batches (file engine: whole segments) below it are dropped.
   */
  advanceLogStart(offset: number): Promise<void>;
  /** Calls `listener` after every append until the returned function is called. */
  onAppend(listener: () => void): () => void;
  /**
   * Calls `listener` when compaction is about to remove the marker of an aborted transaction (none of its data is
   * left): the aborted-transaction index Fetch answers from must drop it first, as Kafka's cleaner rewrites the
   * transaction index, or a read_committed client would skip the producer's later records looking for that marker.
   */
  onAbortedTxnRemoved?(listener: (producerId: bigint, lastOffset: number) => void): () => void;
  /**
   * Small named state kept beside the partition (producer-state snapshots): written atomically,
   * read back whole, null when never written. Removed with the partition.
   */
  writeState(name: string, data: Uint8Array): Promise<void>;
  readState(name: string): Promise<Uint8Array | null>;
  /**
   * Engines whose append can fail with an unknown outcome (a server that may have committed it
   * before the connection broke: PostgreSQL) re-read the log end here, after the appends in flight
   * have settled; batches such a failed append did store are then readable below logEndOffset.
   * Engines without that case leave it out. `force`: re-read even after no failure (another broker
   * may have appended: a cluster member that comes to lead the partition).
   */
  refresh?(force?: boolean): Promise<void>;
}

export interface LogStore {
  /**
   * Whether appended buffers stay referenced after their append settles (the memory engine keeps
   * them as its data); false for an engine that copies them out (the file engine writes them).
   */
  readonly keepsAppendedBuffers: boolean;
  /** Opens (creating if needed) the log of a partition. */
  open(topic: string, partition: number): Promise<PartitionLog>;
  /** Deletes the stored data of a topic's partitions. */
  remove(topic: string, partitions: number): Promise<void>;
  /**
   * Shared engines (PostgreSQL): forgets what it holds in memory of a topic another broker deleted,
   * without touching stored data, so a topic re-created under that name opens afresh.
   */
  forget?(topic: string): void;
  close(): Promise<void>;
}
