// compression.type on a topic (or the broker): "producer" keeps batches as sent; a codec name makes
// the broker rewrite batches in another codec ("uncompressed" = none), as Kafka's LogValidator does.
// Only batches whose codec differs are touched; records, offsets deltas, timestamps, producer id,
// epoch and sequence are kept.
import { buildRecordBatch, type DecodedBatch, decodeRecords, scanBatches } from "../protocol/record_batch.ts";
import { concatChunks } from "../protocol/writer.ts";

const CODECS: Record<string, number> = { uncompressed: 0, none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

/** The codec a compression.type asks for, or null for "producer" (and unknown names). */
export function targetCodec(compressionType: string): number | null {
  const c = CODECS[compressionType.trim().toLowerCase()];
  return c === undefined ? null : c;
}

/** Rebuilds one batch in `codec`. Throws RecordBatchError (CORRUPT_MESSAGE …) on a bad batch. */
export function recompressBatch(batch: Uint8Array, codec: number): Uint8Array {
  const d = decodeRecords(batch);
  return rebuildBatch(d, d.records, codec);
}

/**
 * `d` rebuilt with `records` in `codec`: its base offset, the records' offsets and timestamps, producer id, epoch,
 * sequence, flags, leader epoch, last offset delta and max timestamp kept; `deleteHorizonMs` set when given.
 */
export function rebuildBatch(
  d: DecodedBatch,
  records: DecodedBatch["records"],
  codec: number,
  deleteHorizonMs?: number,
): Uint8Array {
  return buildRecordBatch({
    baseOffset: d.baseOffset,
    records: records.map((r) => ({
      key: r.key,
      value: r.value,
      headers: r.headers,
      timestamp: r.timestamp,
      offsetDelta: Number(r.offset - d.baseOffset),
    })),
    codec,
    producerId: d.producerId,
    producerEpoch: d.producerEpoch,
    baseSequence: d.baseSequence,
    transactional: d.isTransactional,
    control: d.isControl,
    timestampType: d.timestampType,
    partitionLeaderEpoch: d.partitionLeaderEpoch,
    lastOffsetDelta: d.lastOffsetDelta,
    maxTimestamp: d.maxTimestamp,
    deleteHorizonMs,
  });
}

/**
 * Rewrites the batches of a Produce `records` blob whose codec is not `codec` (control batches
 * excepted). Returns the input itself when nothing changes or when it does not scan or decode
 * (the produce path then reports the problem as usual).
 */
export function recompressRecords(records: Uint8Array, codec: number): Uint8Array {
  const scanned = scanBatches(records);
  if (!Array.isArray(scanned) || scanned.every((b) => b.codec === codec || b.isControl)) return records;
  const parts: Uint8Array[] = [];
  try {
    for (const b of scanned) {
      const batch = records.subarray(b.position, b.position + b.size);
      parts.push(b.codec === codec || b.isControl ? batch : recompressBatch(batch, codec));
    }
  } catch {
    return records;
  }
  return concatChunks(parts);
}
