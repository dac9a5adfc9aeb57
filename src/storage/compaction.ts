// Log compaction (cleanup.policy=compact): the latest record per key is kept, older ones dropped,
// offsets preserved (a rebuilt batch keeps its base offset and lastOffsetDelta, so gaps appear
// inside and between batches, as in Kafka). Tombstones (null value) are dropped once their
// timestamp is older than delete.retention.ms (Kafka counts from the first cleaning, KIP-534; we
// count from the record's timestamp, which is never later). Control batches are kept as they are;
// dropping aborted transactional data waits for transactions (issue 5). Batches are decompressed
// to be filtered and recompressed with their own codec; untouched batches stay byte for byte.
import { buildRecordBatch, decodeRecords } from "../protocol/record_batch.ts";
import { batchIsControl } from "../protocol/record_batch.ts";

function keyString(key: Uint8Array): string {
  let s = "";
  for (let i = 0; i < key.length; i += 4096) {
    s += String.fromCharCode.apply(null, key.subarray(i, i + 4096) as unknown as number[]);
  }
  return s;
}

/** Latest offset of each key seen. */
export class KeyMap {
  private map = new Map<string, number>();

  get size(): number {
    return this.map.size;
  }

  add(batch: Uint8Array): void {
    if (batchIsControl(batch, 0)) return;
    for (const r of decodeRecords(batch).records) {
      if (r.key !== null) this.map.set(keyString(r.key), Number(r.offset));
    }
  }

  latest(key: Uint8Array): number | undefined {
    return this.map.get(keyString(key));
  }
}

export type CleanStats = { removed: number };

/**
 * Filters one segment's batches. Returns the batches to keep (rebuilt where records went), or null
 * when nothing changes. `pause` is awaited now and then, so a big segment does not stall produce.
 */
export async function cleanSegmentBatches(batches: readonly Uint8Array[], map: KeyMap, now: number, deleteRetentionMs: number, stats: CleanStats, pause: () => Promise<void>): Promise<Uint8Array[] | null> {
  const out: Uint8Array[] = [];
  let changed = false;
  let work = 0;
  for (const batch of batches) {
    if (batchIsControl(batch, 0)) {
      out.push(batch);
      continue;
    }
    const d = decodeRecords(batch);
    const kept = d.records.filter((r) => {
      if (r.key !== null && map.latest(r.key) !== Number(r.offset)) return false;
      if (r.value === null && Number(r.timestamp) < now - deleteRetentionMs) return false;
      return true;
    });
    work += d.records.length;
    if (kept.length === d.records.length) {
      out.push(batch);
    } else {
      changed = true;
      stats.removed += d.records.length - kept.length;
      if (kept.length > 0) {
        out.push(buildRecordBatch({
          baseOffset: d.baseOffset,
          records: kept.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp, offsetDelta: Number(r.offset - d.baseOffset) })),
          codec: d.codec,
          producerId: d.producerId,
          producerEpoch: d.producerEpoch,
          baseSequence: d.baseSequence,
          transactional: d.isTransactional,
          timestampType: d.timestampType,
          partitionLeaderEpoch: d.partitionLeaderEpoch,
          lastOffsetDelta: d.lastOffsetDelta,
          maxTimestamp: d.maxTimestamp,
        }));
      }
    }
    if (work > 5000) {
      work = 0;
      await pause();
    }
  }
  return changed ? out : null;
}
