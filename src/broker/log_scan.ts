// Reading a partition from an offset to its end, batch by batch: internal topics are replayed this
// way at start (__consumer_offsets, __transaction_state), and producer state after its snapshot.
import type { DecodedRecord } from "../protocol/record_batch.ts";
import { batchBaseOffsetNumber, batchLastOffsetDelta, decodeRecords } from "../protocol/record_batch.ts";
import type { PartitionLog } from "../storage/store.ts";

/** Calls `fn` with each stored batch that starts at or after `from`, in offset order. */
export async function forEachBatch(log: PartitionLog, from: number, fn: (batch: Uint8Array) => void): Promise<void> {
  let next = Math.max(from, log.logStartOffset);
  while (next < log.logEndOffset) {
    const batches = await log.read(next, 4 << 20);
    if (batches.length === 0) break;
    for (const b of batches) {
      if (batchBaseOffsetNumber(b) >= from) fn(b);
      next = batchBaseOffsetNumber(b) + batchLastOffsetDelta(b) + 1;
    }
  }
}

/** Calls `fn` with each record of the partition; an undecodable batch is reported and skipped. */
export async function forEachRecord(
  log: PartitionLog,
  fn: (r: DecodedRecord) => void,
  onBadBatch: (error: unknown) => void,
): Promise<number> {
  let count = 0;
  await forEachBatch(log, log.logStartOffset, (b) => {
    try {
      for (const r of decodeRecords(b).records) {
        if (r.offset < BigInt(log.logStartOffset)) continue;
        fn(r);
        count++;
      }
    } catch (e) {
      onBadBatch(e);
    }
  });
  return count;
}

/**
 * ListOffsets' answer for a timestamp: the first record at or after the log start whose timestamp is
 * >= `ts` (found by batch max timestamp, then by decoding that batch), or null when there is none.
 */
export async function offsetForTimestamp(
  log: PartitionLog,
  ts: number,
): Promise<{ offset: bigint; timestamp: bigint } | null> {
  const found = await log.batchForTimestamp(ts);
  if (!found) return null;
  const start = BigInt(log.logStartOffset);
  for (const r of decodeRecords(found.batch).records) {
    if (r.offset >= start && r.timestamp >= BigInt(ts)) return { offset: r.offset, timestamp: r.timestamp };
  }
  return null;
}
