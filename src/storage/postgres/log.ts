// LogStore on PostgreSQL: one row per record batch (bytea, as the producer sent it, base offset
// rewritten), one row per partition holding its log start, log end and size. An append is one
// statement, hence one transaction: it moves the partition's log end from the value this broker
// last saw to the new one and inserts the batches — or, when the row moved under it (another writer,
// or an earlier append whose outcome is unknown), does nothing and the append fails. Appends to one
// partition are pipelined down one connection, so they commit in call order without waiting for each
// other; a failure makes the partition re-read its row before the next append.
// Resolved means committed: PostgreSQL's synchronous_commit decides what that means on its disk.
import { setBaseOffset } from "../../protocol/record_batch.ts";
import type { LogLevel } from "../../runtime.ts";
import type { BufferPool } from "../buffer_pool.ts";
import type { AppendOptions, AppendResult, BatchMeta, LogStore, PartitionLog } from "../store.ts";
import { LogEndMovedError, MAX_OFFSET } from "../store.ts";
import { deleteRetention } from "../retention.ts";
import { AbortedTxnListeners, compactEach, type CompactionConfig, passOver, PassTracker } from "../compaction.ts";
import { compactPartition, type PassResult } from "./compaction.ts";
import type { PgPool } from "./client.ts";
import { OID } from "./wire.ts";

const { text, int4, int8, int8Array, byteaArray } = OID;

// $10/$11: the leader and epoch this broker holds; a leader of -1 (no cluster) checks neither.
// Always one row back: log_start when stored (NULL when not), and the partition's leader and epoch.
const LEADER_ROW = "SELECT leader, leader_epoch FROM chronik_partitions WHERE topic = $1 AND partition = $2";

const APPEND = `WITH cur AS (
  SELECT leader, leader_epoch FROM chronik_partitions WHERE topic = $1 AND partition = $2
), p AS (
  UPDATE chronik_partitions SET log_end = $4, size_bytes = size_bytes + $5
  WHERE topic = $1 AND partition = $2 AND log_end = $3 AND ($10 = -1 OR (leader = $10 AND leader_epoch = $11))
  RETURNING log_start
), b AS (
  INSERT INTO chronik_batches (topic, partition, base_offset, last_offset, max_timestamp, data)
  SELECT $1, $2, x.base, x.last, x.ts, x.data
  FROM p, unnest($6::int8[], $7::int8[], $8::int8[], $9::bytea[]) AS x(base, last, ts, data)
)
SELECT (SELECT log_start FROM p), leader, leader_epoch FROM cur`;

/**
 * This broker does not (or no longer) lead the partition: Kafka's NOT_LEADER_OR_FOLLOWER. Nothing
 * of the append was stored. `code` lets the produce path tell it from a storage fault.
 */
export class NotLeaderError extends Error {
  readonly code = "NOT_LEADER";
}

/** Who may append: the node id and, per partition, the leader epoch it holds (absent: not leader). */
export type Fencing = { nodeId: number; epochOf(topic: string, partition: number): number | undefined };

/** The partition's row (created when missing): log_start, log_end, size_bytes. Shared with objects.ts. */
export const OPEN_PARTITION = `WITH i AS (
  INSERT INTO chronik_partitions (topic, partition) VALUES ($1, $2) ON CONFLICT DO NOTHING
  RETURNING log_start, log_end, size_bytes
)
SELECT log_start, log_end, size_bytes FROM i
UNION ALL SELECT log_start, log_end, size_bytes FROM chronik_partitions WHERE topic = $1 AND partition = $2`;

/**
 * Runs OPEN_PARTITION: [log_start, log_end, size_bytes]. When another broker inserts the same row at the same moment,
 * the INSERT waits for it and does nothing, and the SELECT's snapshot (taken before) does not show it: no row. The
 * next statement's snapshot does, so it is asked again (seen when brokers open a topic another one is creating).
 */
export async function openPartitionRow(
  pool: PgPool,
  topic: string,
  partition: number,
  lane?: number,
): Promise<number[]> {
  for (let attempt = 0;; attempt++) {
    const r = await pool.query(OPEN_PARTITION, [topic, partition], [OID.text, OID.int4], lane);
    if (r.rows.length > 0) return r.rows[0] as number[];
    if (attempt >= 3) throw new Error(`partition ${topic}-${partition}: its row could not be created or read`);
  }
}

/** The partition's row as committed: log_start, log_end, size_bytes (no row: none). Shared with objects.ts. */
export const PARTITION_ROW =
  "SELECT log_start, log_end, size_bytes FROM chronik_partitions WHERE topic = $1 AND partition = $2";

// Whole batches from the one holding $3, while their running size stays within $4 (the first one
// always: the caller applies strictMaxBytes), at most $5 rows.
const READ = `SELECT base_offset, data FROM (
  SELECT base_offset, data, last_offset, row_number() OVER w AS n, sum(octet_length(data)) OVER w AS acc
  FROM (
    SELECT base_offset, last_offset, data FROM chronik_batches
    WHERE topic = $1 AND partition = $2 AND last_offset >= $3 ORDER BY last_offset LIMIT $5
  ) t WINDOW w AS (ORDER BY last_offset)
) u WHERE n = 1 OR acc <= $4 ORDER BY last_offset`;

const FOR_TIMESTAMP = `SELECT base_offset, data FROM chronik_batches
WHERE topic = $1 AND partition = $2 AND last_offset >= $3 AND max_timestamp >= $4 ORDER BY last_offset LIMIT 1`;

const MAX_TIMESTAMP = `SELECT base_offset, data FROM chronik_batches
WHERE topic = $1 AND partition = $2 AND last_offset >= $3 ORDER BY max_timestamp DESC, last_offset LIMIT 1`;

const ADVANCE = `WITH d AS (
  DELETE FROM chronik_batches WHERE topic = $1 AND partition = $2 AND last_offset < $3
  RETURNING octet_length(data) AS n
)
UPDATE chronik_partitions
SET log_start = GREATEST(log_start, $3), size_bytes = size_bytes - (SELECT coalesce(sum(n), 0)::int8 FROM d)
WHERE topic = $1 AND partition = $2 RETURNING log_start, size_bytes`;

const WRITE_STATE = `INSERT INTO chronik_partition_state (topic, partition, name, data) VALUES ($1, $2, $3, $4)
ON CONFLICT (topic, partition, name) DO UPDATE SET data = excluded.data`;
const READ_STATE = `SELECT data FROM chronik_partition_state WHERE topic = $1 AND partition = $2 AND name = $3`;

const REMOVE = `WITH b AS (DELETE FROM chronik_batches WHERE topic = $1 AND partition < $2),
s AS (DELETE FROM chronik_partition_state WHERE topic = $1 AND partition < $2)
DELETE FROM chronik_partitions WHERE topic = $1 AND partition < $2`;

// Retention, per batch (Kafka deletes whole segments; here a batch is the unit): the first batch to
// keep by time is the oldest whose max timestamp reaches the cutoff; by size, the newest batch from
// which the rest of the log still holds at least retention.bytes.
const KEEP_BY_TIME = `SELECT base_offset FROM chronik_batches
WHERE topic = $1 AND partition = $2 AND last_offset >= $3 AND max_timestamp >= $4 ORDER BY last_offset LIMIT 1`;
const KEEP_BY_SIZE = `SELECT base_offset FROM (
  SELECT base_offset, last_offset, sum(octet_length(data)) OVER (ORDER BY last_offset DESC) AS from_end
  FROM chronik_batches WHERE topic = $1 AND partition = $2 AND last_offset >= $3
) t WHERE from_end >= $4 ORDER BY last_offset DESC LIMIT 1`;

/** Rows a read asks for at most, whatever maxBytes allows. */
const READ_ROWS = 2000;

function lane(topic: string, partition: number): number {
  let h = partition;
  for (let i = 0; i < topic.length; i++) h = (h * 31 + topic.charCodeAt(i)) | 0;
  return h >>> 0;
}

export type PostgresLogStore = LogStore & {
  readonly pool: PgPool;
  /**
   * Applies retention.ms / retention.bytes (topics whose cleanup.policy includes delete) to the open
   * partitions this broker may write; the number of partitions whose log start moved.
   */
  applyRetention(config: (topic: string, name: string) => string | undefined, now: number): Promise<number>;
  /**
   * Compacts (cleanup.policy=compact, compaction.ts) the open partitions this broker leads; with
   * `force`, whatever their dirty ratio. The number of partitions a pass cleaned.
   */
  applyCompaction(
    config: (topic: string, name: string) => string | undefined,
    now: number,
    log: (level: LogLevel, message: string) => void,
    force?: boolean,
  ): Promise<number>;
  /** Set by the cluster service: appends then need this node to hold the partition's leader epoch. */
  fencing: Fencing | null;
};

/** A LogStore over `pool`; with `ownsPool`, close() closes the pool. */
export function postgresLogStore(pool: PgPool, ownsPool = false): PostgresLogStore {
  const logs = new Map<string, Promise<PgPartitionLog>>();
  const key = (t: string, p: number) => `${t}\u0000${p}`;
  let compacting: Promise<number> | null = null;
  const compactAll = async (
    config: (topic: string, name: string) => string | undefined,
    now: number,
    say: (level: LogLevel, message: string) => void,
    force: boolean,
  ): Promise<number> => {
    const opened = await Promise.all([...logs.values()].map((p) => p.catch(() => null)));
    return compactEach(opened.filter((l) => l !== null), config, say, async (log, cfg) => {
      const f = store.fencing;
      const epoch = f ? f.epochOf(log.topic, log.partition) : 0;
      if (epoch === undefined) return null;
      const r = await log.compact(cfg, now, force, f ? { leader: f.nodeId, epoch } : { leader: -1, epoch: 0 }, say);
      return r &&
        `compacted up to offset ${r.upTo}, ${r.cleanedBatches} batch(es) rewritten or dropped, ${r.removed} record(s) removed` +
          (r.markersRemoved > 0 ? `, ${r.markersRemoved} transaction marker(s) removed` : "");
    });
  };
  const store: PostgresLogStore = {
    pool,
    fencing: null,
    keepsAppendedBuffers: false,
    open(topic, partition) {
      const k = key(topic, partition);
      let p = logs.get(k);
      if (!p) {
        p = (async () => {
          const [start, end, size] = await openPartitionRow(pool, topic, partition, lane(topic, partition));
          return new PgPartitionLog(pool, topic, partition, start, end, size, () => store.fencing);
        })();
        logs.set(k, p);
        p.catch(() => logs.delete(k));
      }
      return p;
    },
    async applyRetention(config, now) {
      let moved = 0;
      for (const p of [...logs.values()]) {
        const log = await p.catch(() => null);
        if (!log) continue;
        const f = store.fencing;
        if (f && f.epochOf(log.topic, log.partition) === undefined) continue;
        const r = deleteRetention(config, log.topic);
        if (r && await log.retain(r.ms, r.bytes, now)) moved++;
      }
      return moved;
    },
    applyCompaction(config, now, say, force = false) {
      // One round at a time: a timer tick during a long round joins it.
      compacting ??= compactAll(config, now, say, force).finally(() => {
        compacting = null;
      });
      return compacting;
    },
    forget(topic) {
      for (const k of [...logs.keys()]) if (k.startsWith(`${topic}\u0000`)) logs.delete(k);
    },
    async remove(topic, partitions) {
      for (const [k, log] of logs) {
        const open = await log.catch(() => null);
        if (open && open.topic === topic && open.partition < partitions) logs.delete(k);
      }
      await pool.query(REMOVE, [topic, partitions], [text, int4]);
    },
    close() {
      logs.clear();
      if (ownsPool) pool.close();
      return Promise.resolve();
    },
  };
  return store;
}

class PgPartitionLog implements PartitionLog {
  readonly topic: string;
  readonly partition: number;
  logStartOffset: number;
  logEndOffset: number;
  sizeInBytes: number;
  #pool: PgPool;
  #lane: number;
  /** Log end once every append sent so far commits. */
  #pendingEnd: number;
  /** An append failed: re-read the partition row before the next one. */
  #stale = false;
  #waiting = 0;
  #tail: Promise<void> = Promise.resolve();
  #listeners = new Set<() => void>();
  #fencing: () => Fencing | null;

  constructor(
    pool: PgPool,
    topic: string,
    partition: number,
    start: number,
    end: number,
    size: number,
    fencing: () => Fencing | null,
  ) {
    this.#pool = pool;
    this.#fencing = fencing;
    this.topic = topic;
    this.partition = partition;
    this.logStartOffset = start;
    this.logEndOffset = end;
    this.#pendingEnd = end;
    this.sizeInBytes = size;
    this.#lane = lane(topic, partition);
  }

  #q(sql: string, params: (string | number | Uint8Array)[], types: number[]) {
    return this.#pool.query(sql, [this.topic, this.partition, ...params], [text, int4, ...types], this.#lane);
  }

  append(buf: Uint8Array, metas: readonly BatchMeta[], options?: AppendOptions): Promise<AppendResult> {
    let p: Promise<AppendResult>;
    const epoch = options?.leaderEpoch;
    if (this.#stale || this.#waiting > 0) {
      this.#waiting++;
      p = this.#tail.then(async () => {
        try {
          if (this.#stale) await this.#reload();
        } finally {
          this.#waiting--;
        }
        return this.#send(buf, metas, false, epoch);
      });
    } else p = this.#send(buf, metas, false, epoch);
    this.#tail = p.then(() => {}, () => {});
    return p;
  }

  /**
   * After the appends in flight, one append at `logEnd` that commits only while the partition's
   * committed log end is still `logEnd`; no leader check (the compare-and-set orders writers).
   */
  appendIf(logEnd: number, buf: Uint8Array, metas: readonly BatchMeta[], _options?: AppendOptions) {
    this.#waiting++;
    const p = this.#tail.then(() => {
      this.#waiting--;
      this.#pendingEnd = logEnd;
      return this.#send(buf, metas, true);
    });
    this.#tail = p.then(() => {}, () => {});
    return p;
  }

  async refresh(force = false): Promise<void> {
    await this.#tail;
    if (this.#stale || force) await this.#reload();
  }

  async #reload(): Promise<void> {
    const r = await this.#q(PARTITION_ROW, [], []);
    if (r.rows.length === 0) {
      throw new Error(`partition ${this.topic}-${this.partition} no longer exists in PostgreSQL`);
    }
    const [start, end, size] = r.rows[0] as number[];
    this.logStartOffset = Math.max(this.logStartOffset, start);
    this.logEndOffset = Math.max(this.logEndOffset, end);
    // Appends sent since the tail settled keep their place (a forced refresh between them).
    if (this.#stale || this.#pendingEnd <= end) this.#pendingEnd = end;
    this.sizeInBytes = size;
    this.#stale = false;
  }

  #send(buf: Uint8Array, metas: readonly BatchMeta[], conditional = false, validated?: number): Promise<AppendResult> {
    const fencing = conditional ? null : this.#fencing();
    let leader = -1, epoch = 0;
    if (fencing) {
      const e = fencing.epochOf(this.topic, this.partition);
      if (e === undefined) {
        return Promise.reject(
          new NotLeaderError(`node ${fencing.nodeId} does not lead ${this.topic}-${this.partition}`),
        );
      }
      if (validated !== undefined && validated !== e) {
        return Promise.reject(
          new NotLeaderError(
            `${this.topic}-${this.partition}: produce validated at leader epoch ${validated}, node ${fencing.nodeId} now holds ${e}; nothing stored`,
          ),
        );
      }
      leader = fencing.nodeId;
      epoch = e;
    }
    const base = this.#pendingEnd;
    let span = 0;
    let bytes = 0;
    for (const m of metas) {
      span += m.lastOffsetDelta + 1;
      bytes += m.size;
    }
    if (base > MAX_OFFSET - (span - 1)) {
      return Promise.reject(
        new RangeError(
          `offsets up to ${base} + ${span - 1} are beyond the largest offset this engine stores (2^53 - 1)`,
        ),
      );
    }
    const bases: number[] = [], lasts: number[] = [], times: number[] = [], datas: Uint8Array[] = [];
    let next = base;
    for (const m of metas) {
      setBaseOffset(buf, m.position, next);
      bases.push(next);
      lasts.push(next + m.lastOffsetDelta);
      times.push(m.maxTimestamp);
      datas.push(buf.subarray(m.position, m.position + m.size));
      next += m.lastOffsetDelta + 1;
    }
    const end = next;
    this.#pendingEnd = end;
    return this.#q(APPEND, [base, end, bytes, bases, lasts, times, datas, leader, epoch] as never, [
      int8,
      int8,
      int8,
      int8Array,
      int8Array,
      int8Array,
      byteaArray,
      int4,
      int4,
    ]).then(
      async (r) => {
        const row = r.rows[0] as [number | null, number, number] | undefined;
        if (!row) {
          this.#stale = true;
          throw new Error(`partition ${this.topic}-${this.partition} no longer exists in PostgreSQL; nothing stored`);
        }
        if (row[0] === null) {
          this.#stale = true;
          if (leader !== -1 && (row[1] !== leader || row[2] !== epoch)) {
            throw new NotLeaderError(
              `${this.topic}-${this.partition}: node ${leader} epoch ${epoch} is fenced (leader ${row[1]}, epoch ${
                row[2]
              }); nothing stored`,
            );
          }
          if (conditional) {
            throw new LogEndMovedError(
              `${this.topic}-${this.partition}: its log end in PostgreSQL is no longer ${base}`,
            );
          }
          // The leader and epoch read above are the statement's snapshot: a move that committed while the append
          // waited for the row's lock fenced it but is not in them. Asked again, so that is answered as fencing.
          if (leader !== -1) {
            const now = await this.#q(LEADER_ROW, [], []).then(
              (x) => x.rows[0] as [number, number] | undefined,
              () => null,
            );
            if (now && (now[0] !== leader || now[1] !== epoch)) {
              throw new NotLeaderError(
                `${this.topic}-${this.partition}: node ${leader} epoch ${epoch} is fenced (leader ${now[0]}, epoch ${
                  now[1]
                }); nothing stored`,
              );
            }
          }
          throw new Error(
            `partition ${this.topic}-${this.partition}: its log end in PostgreSQL is no longer ${base} (another writer, or an earlier append's outcome unknown); nothing stored`,
          );
        }
        this.logStartOffset = Math.max(this.logStartOffset, row[0]);
        if (end > this.logEndOffset) this.logEndOffset = end;
        this.sizeInBytes += bytes;
        for (const l of this.#listeners) l();
        return { baseOffset: base, lastOffset: end - 1, logStartOffset: this.logStartOffset };
      },
      (e) => {
        this.#stale = true;
        throw e;
      },
    );
  }

  async read(offset: number, maxBytes: number, strictMaxBytes = false, _pool?: BufferPool): Promise<Uint8Array[]> {
    const from = Math.max(offset, this.logStartOffset);
    const end = this.logEndOffset;
    if (from >= end) return [];
    const rows = Math.max(16, Math.min(READ_ROWS, Math.ceil(maxBytes / 128)));
    const r = await this.#q(READ, [from, maxBytes, rows], [int8, int8, int4]);
    const out: Uint8Array[] = [];
    for (const [base, data] of r.rows as [number, Uint8Array][]) {
      // Committed by an append whose reply has not arrived yet: not ours to show before it has.
      if (base >= end) break;
      if (out.length === 0 && strictMaxBytes && data.length > maxBytes) break;
      out.push(data);
    }
    return out;
  }

  async batchForTimestamp(timestamp: number) {
    const r = await this.#q(FOR_TIMESTAMP, [this.logStartOffset, timestamp], [int8, int8]);
    return this.#one(r.rows);
  }

  async maxTimestampBatch() {
    const r = await this.#q(MAX_TIMESTAMP, [this.logStartOffset], [int8]);
    return this.#one(r.rows);
  }

  #one(rows: unknown[][]): { batch: Uint8Array; baseOffset: number } | null {
    const row = rows[0] as [number, Uint8Array] | undefined;
    if (!row || row[0] >= this.logEndOffset) return null;
    return { batch: row[1], baseOffset: row[0] };
  }

  /** Retention for this partition; true when the log start moved. */
  async retain(retentionMs: number, retentionBytes: number, now: number): Promise<boolean> {
    const before = this.logStartOffset;
    let start = before;
    if (Number.isFinite(retentionMs) && retentionMs >= 0) {
      const r = await this.#q(KEEP_BY_TIME, [before, now - retentionMs], [int8, int8]);
      start = Math.max(start, r.rows.length === 0 ? this.logEndOffset : r.rows[0][0] as number);
    }
    if (Number.isFinite(retentionBytes) && retentionBytes >= 0 && this.sizeInBytes > retentionBytes) {
      const r = await this.#q(KEEP_BY_SIZE, [before, retentionBytes], [int8, int8]);
      if (r.rows.length > 0) start = Math.max(start, r.rows[0][0] as number);
    }
    if (start <= before) return false;
    await this.advanceLogStart(start);
    return this.logStartOffset > before;
  }

  /** One compaction pass (compaction.ts), after the appends in flight; null when it had nothing to do. */
  async compact(
    cfg: CompactionConfig,
    now: number,
    force: boolean,
    fence: { leader: number; epoch: number },
    say: (level: LogLevel, message: string) => void,
  ): Promise<PassResult> {
    await this.#tail;
    // Nothing appended since the last pass looked (and nothing it kept out due yet): the header scan is skipped.
    return await passOver(this, this.#passes, now, force, say, (host, onDamaged) =>
      compactPartition(
        {
          ...host,
          pool: this.#pool,
          lane: this.#lane,
          fence,
          read: (o, n) => this.read(o, n),
        },
        cfg,
        now,
        force,
        onDamaged,
      ));
  }

  #passes = new PassTracker();
  readonly abortedTxnListeners = new AbortedTxnListeners();

  onAbortedTxnRemoved(listener: (producerId: bigint, lastOffset: number) => void): () => void {
    return this.abortedTxnListeners.add(listener);
  }

  async advanceLogStart(offset: number): Promise<void> {
    const to = Math.min(offset, this.logEndOffset);
    if (to <= this.logStartOffset) return;
    const r = await this.#q(ADVANCE, [to], [int8]);
    if (r.rows.length === 0) return;
    const [start, size] = r.rows[0] as number[];
    this.logStartOffset = Math.max(this.logStartOffset, start);
    this.sizeInBytes = size;
  }

  onAppend(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async writeState(name: string, data: Uint8Array): Promise<void> {
    await this.#q(WRITE_STATE, [name, data], [text, OID.bytea]);
  }

  async readState(name: string): Promise<Uint8Array | null> {
    const r = await this.#q(READ_STATE, [name], [text]);
    return (r.rows[0]?.[0] as Uint8Array | undefined) ?? null;
  }
}
