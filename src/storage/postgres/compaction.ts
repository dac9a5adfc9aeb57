// Log compaction (cleanup.policy=compact) on the PostgreSQL engine, with the file engine's rules
// (../compaction.ts: latest record per key kept, offsets preserved, tombstones dropped after
// delete.retention.ms, aborted transactional data dropped, markers kept). The unit is a batch row:
// - Cleanable: the batches below the first still-open transaction (Kafka: the last stable offset),
//   older than min.compaction.lag.ms, and never the partition's last batch (it stands for Kafka's
//   active segment, which is never cleaned). min.cleanable.dirty.ratio is measured over those bytes,
//   with what a previous pass cleaned up to kept as partition state ("cleaner-offset").
// - A pass reads the headers of the log (only markers whole) for transaction outcomes, builds the
//   key map over the cleanable batches, then rewrites each batch that loses records in place (same
//   last_offset, so the same row) or deletes its row when nothing of it stays. Each statement is
//   guarded: it applies only while this broker holds the partition's leader epoch and the row still
//   holds the batch the pass read (its CRC), so a broker that lost leadership, or a second pass,
//   never overwrites newer work.
// - Batches are processed in offset order and each statement is atomic: a pass stopped anywhere
//   (crash, lost connection) leaves every row either as it was or cleaned, and a record is only
//   dropped when a later record of its key, which this pass keeps, exists. Readers see each batch
//   whole, old or new; a consumer never loses the latest value of a key.
import { batchBaseOffsetNumber, batchLastOffsetDelta } from "../../protocol/record_batch.ts";
import { prepareCompression } from "../../protocol/compression/index.ts";
import {
  cleanableRange,
  cleanedUpTo,
  CLEANER_STATE,
  cleanSegmentBatches,
  type CleanStats,
  type CleanUnit,
  type CompactionConfig,
  KeyMap,
  type PassHost,
  TxnIndex,
} from "../compaction.ts";
import type { PgPool } from "./client.ts";
import { OID } from "./wire.ts";
import { turn } from "../../runtime/turn.ts";

const { text, int4, int8, int8Array, byteaArray } = OID;

/** What a pass needs of a partition (PgPartitionLog gives it). */
export type CompactionTarget = PassHost & {
  pool: PgPool;
  lane: number;
  /** The leader and epoch to fence statements with; leader -1: no cluster (no check). */
  fence: { leader: number; epoch: number };
  read(offset: number, maxBytes: number): Promise<Uint8Array[]>;
};

// Per batch from $3 up to $4: offsets, max timestamp, size, and its first 61 bytes (the header),
// the whole batch for markers (control flag, bit 5 of the attributes' low byte at 22).
const HEADERS = `SELECT base_offset, last_offset, max_timestamp, octet_length(data),
  CASE WHEN (get_byte(data, 22) & 32) <> 0 THEN data ELSE substring(data from 1 for 61) END
FROM chronik_batches WHERE topic = $1 AND partition = $2 AND last_offset >= $3 AND base_offset < $4
ORDER BY last_offset LIMIT $5`;

// Rewrites ($5: last offsets, $6: CRCs read, $7: new batches, $8: old sizes) and deletions ($9, $10, $11)
// of one round, applied only while the partition's leader is $3 at epoch $4 (-1: no cluster) and each
// row still holds the batch read (CRC at bytes 17-20). The partition's size and what was applied come back.
const APPLY = `WITH f AS (
  SELECT 1 FROM chronik_partitions WHERE topic = $1 AND partition = $2
  AND ($3 = -1 OR (leader = $3 AND leader_epoch = $4)) FOR UPDATE
), u AS (
  UPDATE chronik_batches b SET data = x.data
  FROM unnest($5::int8[], $6::bytea[], $7::bytea[], $8::int8[]) AS x(last, crc, data, old), f
  WHERE b.topic = $1 AND b.partition = $2 AND b.last_offset = x.last AND substring(b.data from 18 for 4) = x.crc
  RETURNING x.old - octet_length(x.data) AS freed
), d AS (
  DELETE FROM chronik_batches b
  USING unnest($9::int8[], $10::bytea[], $11::int8[]) AS x(last, crc, old), f
  WHERE b.topic = $1 AND b.partition = $2 AND b.last_offset = x.last AND substring(b.data from 18 for 4) = x.crc
  RETURNING x.old AS freed
), s AS (SELECT freed FROM u UNION ALL SELECT freed FROM d)
UPDATE chronik_partitions SET size_bytes = size_bytes - (SELECT coalesce(sum(freed), 0)::int8 FROM s)
WHERE topic = $1 AND partition = $2 AND EXISTS (SELECT 1 FROM f)
RETURNING size_bytes, (SELECT count(*)::int8 FROM s)`;

/** Changed rows sent per statement (and bytes, roughly). */
const ROUND_ROWS = 500;
const ROUND_BYTES = 4 << 20;
const HEADER_ROWS = 5000;

function crcBytes(batch: Uint8Array): Uint8Array {
  return batch.slice(17, 21);
}

export type PassResult = { cleanedBatches: number; removed: number; markersRemoved: number; upTo: number } | null;

/**
 * One compaction pass over `t`; null when there was nothing to clean (or not enough, unless `force`).
 * Throws when a statement fails (the pass stops; what it applied stays applied and consistent).
 */
export async function compactPartition(
  t: CompactionTarget,
  cfg: CompactionConfig,
  now: number,
  force: boolean,
  onDamaged: (offset: number, why: string) => void,
): Promise<PassResult> {
  const q = (sql: string, params: unknown[], types: number[]) =>
    t.pool.query(sql, [t.topic, t.partition, ...params] as never, [text, int4, ...types], t.lane);
  const start = t.logStartOffset;
  const end = t.logEndOffset;
  if (end - start < 2) return null;
  // Pass 1: headers (markers whole) from the log start: transaction outcomes, sizes, timestamps.
  const txns = new TxnIndex(t.forgetAborted);
  const heads: CleanUnit[] = [];
  for (let from = start;;) {
    const r = await q(HEADERS, [from, end, HEADER_ROWS], [int8, int8, int4]);
    for (const [base, last, ts, size, head] of r.rows as [number, number, number, number, Uint8Array][]) {
      txns.note(head);
      heads.push({ baseOffset: base, lastOffset: last, maxTimestamp: ts, size });
      from = last + 1;
    }
    if (r.rows.length < HEADER_ROWS) break;
  }
  if (heads.length < 2) return null;
  const upTo = await cleanedUpTo((n) => t.readState(n));
  const { cleanEnd, enough } = cleanableRange(
    heads,
    cfg,
    now,
    txns.firstOpenOffset(),
    upTo,
    force,
    t.young,
    txns.horizons(now),
  );
  if (!enough) return null;

  // Pass 2: the latest offset of each key in the cleanable batches.
  const map = new KeyMap();
  const damaged = (b: Uint8Array, why: string) => onDamaged(batchBaseOffsetNumber(b), why);
  await eachBatch(t, start, cleanEnd, (b) => map.add(b, txns, damaged));

  // Pass 3: filter each cleanable batch; rewrite or delete the rows that change, a round at a time.
  await prepareCompression();
  const stats: CleanStats = { removed: 0 };
  let upd = { lasts: [] as number[], crcs: [] as Uint8Array[], datas: [] as Uint8Array[], olds: [] as number[] };
  let del = { lasts: [] as number[], crcs: [] as Uint8Array[], olds: [] as number[] };
  let bytes = 0;
  let cleanedBatches = 0;
  const flush = async () => {
    if (upd.lasts.length + del.lasts.length === 0) return;
    const r = await q(APPLY, [
      t.fence.leader,
      t.fence.epoch,
      upd.lasts,
      upd.crcs,
      upd.datas,
      upd.olds,
      del.lasts,
      del.crcs,
      del.olds,
    ], [int4, int4, int8Array, byteaArray, byteaArray, int8Array, int8Array, byteaArray, int8Array]);
    const row = r.rows[0] as [number, number] | undefined;
    if (!row) throw new Error(`${t.topic}-${t.partition}: compaction stopped: this broker no longer leads it`);
    t.sized(row[0]);
    cleanedBatches += row[1];
    upd = { lasts: [], crcs: [], datas: [], olds: [] };
    del = { lasts: [], crcs: [], olds: [] };
    bytes = 0;
  };
  const pending: Uint8Array[] = [];
  await eachBatch(t, start, cleanEnd, (b) => void pending.push(b), async () => {
    for (const b of pending.splice(0)) {
      const cleaned = await cleanSegmentBatches(
        [b],
        map,
        now,
        cfg.deleteRetentionMs,
        stats,
        turn,
        txns,
        damaged,
      );
      if (cleaned === null) continue;
      const last = batchBaseOffsetNumber(b) + batchLastOffsetDelta(b);
      if (cleaned.length === 0) {
        del.lasts.push(last);
        del.crcs.push(crcBytes(b));
        del.olds.push(b.length);
      } else {
        upd.lasts.push(last);
        upd.crcs.push(crcBytes(b));
        upd.datas.push(cleaned[0]);
        upd.olds.push(b.length);
        bytes += cleaned[0].length;
      }
      if (upd.lasts.length + del.lasts.length >= ROUND_ROWS || bytes >= ROUND_BYTES) await flush();
    }
  });
  await flush();
  if (stats.horizon !== undefined) t.young?.(stats.horizon);
  await t.writeState(CLEANER_STATE, new TextEncoder().encode(String(Math.max(cleanEnd, upTo))));
  return { cleanedBatches, removed: stats.removed, markersRemoved: stats.markersRemoved ?? 0, upTo: cleanEnd };
}

/** Calls `fn` on every batch from `from` with its last offset below `end`; `chunk` after each read. */
async function eachBatch(
  t: CompactionTarget,
  from: number,
  end: number,
  fn: (b: Uint8Array) => void,
  chunk?: () => Promise<void>,
): Promise<void> {
  let next = from;
  while (next < end) {
    const batches = await t.read(next, 4 << 20);
    if (batches.length === 0) break;
    let done = false;
    for (const b of batches) {
      const base = batchBaseOffsetNumber(b);
      const last = base + batchLastOffsetDelta(b);
      if (last >= end) {
        done = true;
        break;
      }
      fn(b);
      next = last + 1;
    }
    await chunk?.();
    await turn();
    if (done) break;
  }
}
