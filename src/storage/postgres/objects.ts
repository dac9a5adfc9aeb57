// The object data path's index (src/storage/objects/index.ts) on PostgreSQL: where each committed entry of
// record batches lives (chronik_extents: one row per entry, keyed by partition and last offset) and which
// objects were committed (chronik_objects). Offsets come from the same chronik_partitions row the PostgreSQL
// engine uses (log_start, log_end, size_bytes, leader, leader_epoch), so leadership and fencing are shared:
// a flush's entries commit in ONE statement (one transaction) that moves each partition's log end, inserts
// the extents and records the object, and only for partitions whose row still names this broker at the
// epoch it holds and whose log end is still the one the broker assigned the entries' offsets from (as log.ts's
// appends). An entry whose partition fails the leader check takes no offsets and is answered
// ErrorCode.NOT_LEADER_OR_FOLLOWER, one whose log end moved KAFKA_STORAGE_ERROR (retriable: the broker re-reads
// it); the others commit. A lost reply rejects the whole commit (the writer reports it); should PostgreSQL still
// run it later (a hung server that wakes), the log end check refuses it if the producer's retry landed first, or
// the retry if it landed first (the broker's resync then finds the batch: a duplicate, answered, not stored).
import type {
  CleanableIndex,
  CommitEntry,
  CommitOutcome,
  CompactableIndex,
  Extent,
  ObjectRef,
  PartitionOffsets,
} from "../objects/index.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { PgPool } from "./client.ts";
import type { Fencing } from "./log.ts";
import { openPartitionRow, PARTITION_ROW } from "./log.ts";
import { OID } from "./wire.ts";

const { text, int4, int8, textArray, int4Array, int8Array } = OID;

// Partition rows for a commit without fencing (one broker, no cluster service): created when missing.
const ENSURE = `INSERT INTO chronik_partitions (topic, partition)
SELECT DISTINCT t, p FROM unnest($1::text[], $2::int4[]) AS x(t, p) ON CONFLICT DO NOTHING`;

// $1 object key, $2 its size, $3..$9 the entries (arrays, in order), $10 this node (-1: no fencing).
// UPDATE re-reads a row another commit changed while this one waited for its lock, so log_end + total
// always starts from the latest committed end.
// $11: each entry's expected log end (logEnd or ifLogEnd; -1: none), less the offsets of the partition's entries
// before it in this commit, must equal the committed log end; $12 (1: ifLogEnd) a partition whose entries are all
// conditional needs no leader. Rows back: each committed entry's ord and base offset; for each entry refused, its
// ord, NULL and its partition's leader and epoch (to tell fencing from a moved log end).
const COMMIT = `WITH e AS (
  SELECT *, cond - coalesce(sum(records) OVER (
    PARTITION BY topic, partition ORDER BY ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
  ), 0)::int8 AS cond_at FROM unnest(
    $3::text[], $4::int4[], $5::int8[], $6::int8[], $7::int8[], $8::int8[], $9::int4[], $11::int8[], $12::int4[]
  ) WITH ORDINALITY AS x(topic, partition, position, size, records, max_ts, epoch, cond, free, ord)
), t AS (
  SELECT topic, partition, sum(records)::int8 AS total, sum(size)::int8 AS bytes, max(epoch) AS epoch,
    bool_and(free = 1) AS conditional, min(cond_at) FILTER (WHERE cond >= 0) AS lo,
    max(cond_at) FILTER (WHERE cond >= 0) AS hi
  FROM e GROUP BY topic, partition
), p AS (
  UPDATE chronik_partitions c SET log_end = c.log_end + t.total, size_bytes = c.size_bytes + t.bytes
  FROM t WHERE c.topic = t.topic AND c.partition = t.partition
    AND (t.lo IS NULL OR (c.log_end = t.lo AND t.lo = t.hi))
    AND ($10 = -1 OR t.conditional OR (c.leader = $10 AND c.leader_epoch = t.epoch))
  RETURNING c.topic, c.partition, c.log_end - t.total AS base
), o AS (
  INSERT INTO chronik_objects (key, size) VALUES ($1, $2) ON CONFLICT DO NOTHING
), x AS (
  SELECT e.*, p.base + coalesce(sum(e.records) OVER (
    PARTITION BY e.topic, e.partition ORDER BY e.ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
  ), 0)::int8 AS base_offset
  FROM e JOIN p ON p.topic = e.topic AND p.partition = e.partition
), i AS (
  INSERT INTO chronik_extents (topic, partition, base_offset, last_offset, object_key, position, size, max_timestamp)
  SELECT topic, partition, base_offset, base_offset + records - 1, $1, position, size, max_ts FROM x
)
SELECT ord, base_offset, NULL::int4, NULL::int4 FROM x
UNION ALL SELECT e.ord, NULL::int8, c.leader, c.leader_epoch FROM e
  JOIN chronik_partitions c ON c.topic = e.topic AND c.partition = e.partition
  WHERE NOT EXISTS (SELECT 1 FROM p WHERE p.topic = e.topic AND p.partition = e.partition)`;

const LEADER_ROW = "SELECT leader, leader_epoch FROM chronik_partitions WHERE topic = $1 AND partition = $2";

const COLUMNS = "topic, partition, object_key, position, size, base_offset, last_offset, max_timestamp";

// Extents from the one holding $3, while their running size stays within $4 (the first always), at most $5.
const LOCATE = `SELECT ${COLUMNS} FROM (
  SELECT ${COLUMNS}, row_number() OVER w AS n, sum(size) OVER w AS acc FROM (
    SELECT ${COLUMNS} FROM chronik_extents WHERE topic = $1 AND partition = $2 AND last_offset >= $3
    ORDER BY last_offset LIMIT $5
  ) a WINDOW w AS (ORDER BY last_offset)
) b WHERE n = 1 OR acc <= $4 ORDER BY last_offset`;

// FOR UPDATE: the row as last committed (a concurrent commit may move log_end); one UPDATE of it.
const ADVANCE = `WITH s AS (
  SELECT GREATEST(log_start, LEAST($3, log_end)) AS start FROM chronik_partitions
  WHERE topic = $1 AND partition = $2 FOR UPDATE
), d AS (
  DELETE FROM chronik_extents e USING s WHERE e.topic = $1 AND e.partition = $2 AND e.last_offset < s.start
  RETURNING e.size
)
UPDATE chronik_partitions SET log_start = (SELECT start FROM s),
  size_bytes = size_bytes - (SELECT coalesce(sum(size), 0)::int8 FROM d)
WHERE topic = $1 AND partition = $2`;

const REMOVE = `WITH d AS (DELETE FROM chronik_extents WHERE topic = $1 AND partition = $2)
DELETE FROM chronik_partitions WHERE topic = $1 AND partition = $2`;

const SMALL = `WITH s AS (
  SELECT o.key FROM chronik_objects o JOIN chronik_extents e ON e.object_key = o.key
  GROUP BY o.key HAVING sum(e.size) < $1 ORDER BY o.key LIMIT $2
)
SELECT ${COLUMNS} FROM chronik_extents e JOIN s ON e.object_key = s.key
ORDER BY e.object_key, e.topic, e.partition, e.last_offset`;

// $1 the new object; the moves as arrays: topic, partition, last offset, base offset, old key, old
// position, new position. Only extents still present and unchanged move.
const MOVE = `WITH o AS (
  INSERT INTO chronik_objects (key, size) VALUES ($1, 0) ON CONFLICT DO NOTHING
), m AS (
  SELECT * FROM unnest($2::text[], $3::int4[], $4::int8[], $5::int8[], $6::text[], $7::int8[], $8::int8[])
    AS x(topic, partition, last_offset, base_offset, old_key, old_position, new_position)
), u AS (
  UPDATE chronik_extents e SET object_key = $1, position = m.new_position FROM m
  WHERE e.topic = m.topic AND e.partition = m.partition AND e.last_offset = m.last_offset
    AND e.base_offset = m.base_offset AND e.object_key = m.old_key AND e.position = m.old_position
  RETURNING 1
)
SELECT count(*)::int8 FROM u`;

const UNREFERENCED = `SELECT key FROM chronik_objects o
WHERE NOT EXISTS (SELECT 1 FROM chronik_extents e WHERE e.object_key = o.key) ORDER BY key LIMIT $1`;

const FORGET = `DELETE FROM chronik_objects o WHERE key = ANY($1::text[])
AND NOT EXISTS (SELECT 1 FROM chronik_extents e WHERE e.object_key = o.key)`;

// Log compaction's switch (objects/cleaner.ts): $3 leader (-1: no fencing) at epoch $4; $5 the new object (null:
// none) of size $6; the extents read ($7-$11), locked and kept only while unchanged; their runs ($12 the extent's
// last offset, then base, last, position, size, max timestamp). The run ending at its extent's last offset takes
// that row over (same key); the other runs are new rows inside the old extent's range; an extent without one goes.
const REWRITE = `WITH f AS (
  SELECT 1 FROM chronik_partitions WHERE topic = $1 AND partition = $2
  AND ($3 = -1 OR (leader = $3 AND leader_epoch = $4)) FOR UPDATE
), o AS (
  INSERT INTO chronik_objects (key, size) SELECT $5, $6 WHERE $5::text IS NOT NULL AND EXISTS (SELECT 1 FROM f)
  ON CONFLICT DO NOTHING
), g AS (
  SELECT e.last_offset, e.size FROM chronik_extents e,
    unnest($7::int8[], $8::int8[], $9::text[], $10::int8[], $11::int8[]) AS x(last, base, key, pos, size)
  WHERE EXISTS (SELECT 1 FROM f) AND e.topic = $1 AND e.partition = $2 AND e.last_offset = x.last
    AND e.base_offset = x.base AND e.object_key = x.key AND e.position = x.pos AND e.size = x.size
  FOR UPDATE OF e
), r AS (
  SELECT * FROM unnest($12::int8[], $13::int8[], $14::int8[], $15::int8[], $16::int8[], $17::int8[])
    AS y(old_last, base, last, pos, size, max_ts)
  WHERE old_last IN (SELECT last_offset FROM g)
), u AS (
  UPDATE chronik_extents e SET base_offset = r.base, object_key = $5, position = r.pos, size = r.size,
    max_timestamp = r.max_ts
  FROM r WHERE e.topic = $1 AND e.partition = $2 AND e.last_offset = r.old_last AND r.last = r.old_last
), d AS (
  DELETE FROM chronik_extents e USING g WHERE e.topic = $1 AND e.partition = $2 AND e.last_offset = g.last_offset
    AND NOT EXISTS (SELECT 1 FROM r WHERE r.old_last = g.last_offset AND r.last = r.old_last)
), i AS (
  INSERT INTO chronik_extents (topic, partition, last_offset, base_offset, object_key, position, size, max_timestamp)
  SELECT $1, $2, r.last, r.base, $5, r.pos, r.size, r.max_ts FROM r WHERE r.last <> r.old_last
)
UPDATE chronik_partitions SET size_bytes = size_bytes - (SELECT coalesce(sum(size), 0) FROM g)::int8
  + (SELECT coalesce(sum(size), 0) FROM r)::int8
WHERE topic = $1 AND partition = $2 AND EXISTS (SELECT 1 FROM f)
RETURNING size_bytes, (SELECT count(*)::int8 FROM g)`;

/** Rows one locate asks for at most, whatever maxBytes allows. */
const LOCATE_ROWS = 1000;

export type PostgresObjectIndex = CompactableIndex & CleanableIndex & {
  /** Set by the cluster service: commits then need this node to hold each partition's leader epoch. */
  fencing: Fencing | null;
};

function extentOf(row: unknown[]): Extent {
  const [topic, partition, objectKey, position, size, baseOffset, lastOffset, maxTimestamp] = row as [
    string,
    number,
    string,
    number,
    number,
    number,
    number,
    number,
  ];
  return { topic, partition, objectKey, position, size, baseOffset, lastOffset, maxTimestamp };
}

export function postgresObjectIndex(pool: PgPool): PostgresObjectIndex {
  // Commits go down one connection: a writer commits one object at a time, and ENSURE must precede COMMIT.
  const COMMIT_LANE = 0;
  const index: PostgresObjectIndex = {
    fencing: null,
    async commit(object: ObjectRef, entries: readonly CommitEntry[]): Promise<CommitOutcome[]> {
      const fencing = index.fencing;
      const out: (CommitOutcome | null)[] = entries.map(() => null);
      const sent: { i: number; entry: CommitEntry; epoch: number }[] = [];
      entries.forEach((entry, i) => {
        // A conditional entry needs no leadership (its compare-and-set orders writers).
        const epoch = !fencing || entry.ifLogEnd !== undefined ? 0 : fencing.epochOf(entry.topic, entry.partition);
        if (epoch === undefined) {
          out[i] = {
            errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
            message: `node ${fencing!.nodeId} does not lead ${entry.topic}-${entry.partition}`,
          };
        } else if (
          fencing && entry.ifLogEnd === undefined && entry.leaderEpoch !== undefined && entry.leaderEpoch !== epoch
        ) {
          // Validated under an earlier epoch of this broker (it lost and regained the partition since).
          out[i] = {
            errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
            message:
              `${entry.topic}-${entry.partition}: produce validated at leader epoch ${entry.leaderEpoch}, node ${fencing.nodeId} now holds ${epoch}; nothing stored`,
          };
        } else sent.push({ i, entry, epoch });
      });
      const topics = sent.map((s) => s.entry.topic), partitions = sent.map((s) => s.entry.partition);
      const ensure = fencing || sent.length === 0
        ? null
        : pool.query(ENSURE, [topics, partitions], [textArray, int4Array], COMMIT_LANE);
      const committed = pool.query(
        COMMIT,
        [
          object.key,
          object.size,
          topics,
          partitions,
          sent.map((s) => s.entry.position),
          sent.map((s) => s.entry.size),
          sent.map((s) => s.entry.records),
          sent.map((s) => s.entry.maxTimestamp),
          sent.map((s) => s.epoch),
          fencing ? fencing.nodeId : -1,
          sent.map((s) => s.entry.ifLogEnd ?? s.entry.logEnd ?? -1),
          sent.map((s) => s.entry.ifLogEnd !== undefined ? 1 : 0),
        ] as never,
        [
          text,
          int8,
          textArray,
          int4Array,
          int8Array,
          int8Array,
          int8Array,
          int8Array,
          int4Array,
          int4,
          int8Array,
          int4Array,
        ],
        COMMIT_LANE,
      );
      if (ensure) await ensure.catch(() => {});
      const r = await committed;
      const rows = r.rows as [number, number | null, number | null, number | null][];
      // The leader and epoch of refused entries are the statement's snapshot: a move that committed while the commit
      // waited for a partition row's lock fenced it but is not in them. Those are asked again (a refusal is rare).
      const current = new Map<string, [number, number]>();
      if (fencing) {
        for (const [ord, base, leader, epoch] of rows) {
          const { entry } = sent[ord - 1];
          const k = `${entry.topic}\u0000${entry.partition}`;
          if (base !== null || entry.ifLogEnd !== undefined || current.has(k)) continue;
          current.set(k, [leader ?? -1, epoch ?? -1]);
          if (leader !== fencing.nodeId || epoch !== sent[ord - 1].epoch) continue;
          const now = await pool.query(LEADER_ROW, [entry.topic, entry.partition], [text, int4], COMMIT_LANE)
            .then((x) => x.rows[0] as [number, number] | undefined, () => undefined);
          if (now) current.set(k, now);
        }
      }
      for (const [ord, base] of rows) {
        const { i, entry } = sent[ord - 1];
        const [leader, epoch] = current.get(`${entry.topic}\u0000${entry.partition}`) ?? [-1, -1];
        if (base !== null) out[i] = { baseOffset: base };
        else if (
          entry.ifLogEnd === undefined && !(fencing && (leader !== fencing.nodeId || epoch !== sent[ord - 1].epoch))
        ) {
          // Not fenced: the log end is no longer the one the broker assigned offsets from (an earlier commit of
          // unknown outcome landed, or another writer); the broker re-reads it.
          out[i] = {
            errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
            message: `${entry.topic}-${entry.partition}: its log end in PostgreSQL is no longer ${
              entry.logEnd ?? "the one expected"
            } (an earlier commit's outcome unknown, or another writer); nothing stored`,
          };
        }
      }
      return out.map((o, i) =>
        o ?? (entries[i].ifLogEnd !== undefined
          ? {
            errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
            message: `${entries[i].topic}-${entries[i].partition}: its log end is no longer ${entries[i].ifLogEnd}`,
            logEndMoved: true,
          }
          : {
            errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
            message: fencing
              ? `${entries[i].topic}-${
                entries[i].partition
              }: node ${fencing.nodeId} is fenced (another leader or epoch); nothing stored`
              : `partition ${entries[i].topic}-${entries[i].partition} does not exist in PostgreSQL; nothing stored`,
          })
      );
    },
    async locate(topic, partition, offset, maxBytes) {
      const r = await pool.query(LOCATE, [topic, partition, offset, maxBytes, LOCATE_ROWS], [
        text,
        int4,
        int8,
        int8,
        int4,
      ]);
      return r.rows.map(extentOf);
    },
    async offsets(topic, partition): Promise<PartitionOffsets> {
      const r = await pool.query(PARTITION_ROW, [topic, partition], [text, int4]);
      const row = r.rows[0] as number[] | undefined;
      return row
        ? { logStartOffset: row[0], logEndOffset: row[1], sizeInBytes: row[2] }
        : { logStartOffset: 0, logEndOffset: 0, sizeInBytes: 0 };
    },
    async openPartition(topic, partition): Promise<PartitionOffsets> {
      // The row the cluster service places leadership in (as log.ts's open).
      const row = await openPartitionRow(pool, topic, partition);
      return { logStartOffset: row[0], logEndOffset: row[1], sizeInBytes: row[2] };
    },
    async locateTimestamp(topic, partition, timestamp) {
      const r = await pool.query(
        `SELECT ${COLUMNS} FROM chronik_extents WHERE topic = $1 AND partition = $2 AND max_timestamp >= $3
         ORDER BY last_offset LIMIT 1`,
        [topic, partition, timestamp],
        [text, int4, int8],
      );
      return r.rows.length > 0 ? extentOf(r.rows[0]) : null;
    },
    async locateMaxTimestamp(topic, partition) {
      const r = await pool.query(
        `SELECT ${COLUMNS} FROM chronik_extents WHERE topic = $1 AND partition = $2
         ORDER BY max_timestamp DESC, last_offset LIMIT 1`,
        [topic, partition],
        [text, int4],
      );
      return r.rows.length > 0 ? extentOf(r.rows[0]) : null;
    },
    async advanceLogStart(topic, partition, offset) {
      await pool.query(ADVANCE, [topic, partition, offset], [text, int4, int8]);
    },
    async removePartition(topic, partition) {
      await pool.query(REMOVE, [topic, partition], [text, int4]);
    },
    async unreferencedObjects(limit) {
      const r = await pool.query(UNREFERENCED, [limit], [int4]);
      return r.rows.map((row) => row[0] as string);
    },
    async knownObjects(keys) {
      if (keys.length === 0) return new Set();
      const r = await pool.query("SELECT key FROM chronik_objects WHERE key = ANY($1::text[])", [keys as string[]], [
        textArray,
      ]);
      return new Set(r.rows.map((row) => row[0] as string));
    },
    async forgetObjects(keys) {
      if (keys.length === 0) return;
      await pool.query(FORGET, [keys as string[]], [textArray]);
    },
    async smallObjects(maxLiveBytes, limit) {
      const r = await pool.query(SMALL, [maxLiveBytes, limit], [int8, int4]);
      const out: { key: string; extents: Extent[] }[] = [];
      for (const row of r.rows) {
        const e = extentOf(row);
        if (out.length === 0 || out[out.length - 1].key !== e.objectKey) out.push({ key: e.objectKey, extents: [] });
        out[out.length - 1].extents.push(e);
      }
      return out;
    },
    async rewriteExtents(topic, partition, object, rewrites) {
      const fencing = index.fencing;
      const epoch = fencing ? fencing.epochOf(topic, partition) : 0;
      if (epoch === undefined) return null;
      const f = rewrites.map((r) => r.from);
      const runs = rewrites.flatMap((r) => r.runs.map((run) => ({ old: r.from.lastOffset, ...run })));
      const r = await pool.query(
        REWRITE,
        [
          topic,
          partition,
          fencing ? fencing.nodeId : -1,
          epoch,
          object?.key ?? null,
          object?.size ?? 0,
          f.map((e) => e.lastOffset),
          f.map((e) => e.baseOffset),
          f.map((e) => e.objectKey),
          f.map((e) => e.position),
          f.map((e) => e.size),
          runs.map((x) => x.old),
          runs.map((x) => x.baseOffset),
          runs.map((x) => x.lastOffset),
          runs.map((x) => x.position),
          runs.map((x) => x.size),
          runs.map((x) => x.maxTimestamp),
        ] as never,
        [
          text,
          int4,
          int4,
          int4,
          text,
          int8,
          int8Array,
          int8Array,
          textArray,
          int8Array,
          int8Array,
          int8Array,
          int8Array,
          int8Array,
          int8Array,
          int8Array,
          int8Array,
        ],
      );
      const row = r.rows[0] as [number, number] | undefined;
      return row ? { sizeInBytes: Number(row[0]), applied: Number(row[1]) } : null;
    },
    async moveExtents(newKey, moves) {
      const f = moves.map((m) => m.from);
      const r = await pool.query(
        MOVE,
        [
          newKey,
          f.map((e) => e.topic),
          f.map((e) => e.partition),
          f.map((e) => e.lastOffset),
          f.map((e) => e.baseOffset),
          f.map((e) => e.objectKey),
          f.map((e) => e.position),
          moves.map((m) => m.position),
        ] as never,
        [text, textArray, int4Array, int8Array, int8Array, textArray, int8Array, int8Array],
      );
      return Number(r.rows[0][0]);
    },
  };
  return index;
}
