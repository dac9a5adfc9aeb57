// Log compaction (cleanup.policy=compact): the latest record per key is kept, older ones dropped,
// offsets preserved (a rebuilt batch keeps its base offset and lastOffsetDelta, so gaps appear
// inside and between batches, as in Kafka). Tombstones (null value) are dropped once their
// timestamp is older than delete.retention.ms (Kafka counts from the first cleaning, KIP-534; we
// count from the record's timestamp, which is never later). Transactions: batches of aborted
// transactions are dropped and never shadow a key; cleaning stops before the first offset of a
// transaction still open (Kafka cleans only below the last stable offset). Control batches
// (markers) are kept. Batches are decompressed to be filtered and recompressed with their own
// codec; untouched batches stay byte for byte. A batch that cannot be decoded (damaged on disk) is
// never dropped nor rewritten: it stays as it is, its keys shadow nothing, and the caller is told
// (onDamaged) so that it can report it once; a damaged transaction marker leaves its transaction
// open, so nothing past it is cleaned. The last batch of each producer id is never dropped whole
// (Kafka's cleaner keeps it, as an empty batch): the producer state rebuilt from the log after a
// snapshot (a restart, a new leader) then still holds that producer's last sequence, and its next
// batch is not refused as out of order. Here it stays as it was when every record of it would go
// (aborted data excepted, as in Kafka: its marker is the producer's last batch).
import {
  batchBaseOffsetNumber,
  batchIsControl,
  batchIsTransactional,
  batchProducerId,
  batchRecordCount,
  buildRecordBatch,
  decodeRecords,
  parseControlRecord,
  RecordBatchError,
} from "../protocol/record_batch.ts";
import type { LogLevel } from "../runtime.ts";

/** Topic settings of a pass (Kafka's names; effective values). */
export type CompactionConfig = {
  deleteRetentionMs: number;
  minCompactionLagMs: number;
  minCleanableRatio: number;
};

/** A topic's compaction settings when its cleanup.policy includes compact; null when it does not. */
export function compactionConfig(
  config: (topic: string, name: string) => string | undefined,
  topic: string,
): CompactionConfig | null {
  if (!String(config(topic, "cleanup.policy") ?? "delete").includes("compact")) return null;
  const num = (name: string, dflt: number) => {
    const v = Number(config(topic, name) ?? dflt);
    return Number.isFinite(v) ? v : dflt;
  };
  return {
    deleteRetentionMs: num("delete.retention.ms", 86400000),
    minCompactionLagMs: num("min.compaction.lag.ms", 0),
    minCleanableRatio: num("min.cleanable.dirty.ratio", 0.5),
  };
}

/** Partition state where a pass records the offset it cleaned up to (min.cleanable.dirty.ratio's "dirty"). */
export const CLEANER_STATE = "cleaner-offset";

/** The offset a previous pass cleaned up to (0: none), from the partition's CLEANER_STATE. */
export async function cleanedUpTo(readState: (name: string) => Promise<Uint8Array | null>): Promise<number> {
  const state = await readState(CLEANER_STATE);
  return state === null ? 0 : Number(new TextDecoder().decode(state)) || 0;
}

/** A unit an in-place pass cleans whole or not at all (a PostgreSQL batch row, an object extent). */
export type CleanUnit = { baseOffset: number; lastOffset: number; maxTimestamp: number; size: number };

/**
 * Which of a partition's `units` (in offset order, from the log start) a pass cleans: those below the last
 * one (Kafka's active segment), below the first one too young for min.compaction.lag.ms (`young` is told
 * when it is old enough) and below `firstOpen` (the first offset of an open transaction). `enough` when
 * there are some and, unless `force`, their dirty share (bytes at or after `upTo`, what a previous pass
 * cleaned up to) reaches min.cleanable.dirty.ratio.
 */
export function cleanableRange<T extends CleanUnit>(
  units: readonly T[],
  cfg: CompactionConfig,
  now: number,
  firstOpen: number,
  upTo: number,
  force: boolean,
  young?: (until: number) => void,
): { cleanEnd: number; cleanable: T[]; enough: boolean } {
  let cleanEnd = units[units.length - 1].baseOffset;
  for (const u of units) {
    if (u.lastOffset >= cleanEnd) break;
    if (u.maxTimestamp > now - cfg.minCompactionLagMs || u.lastOffset >= firstOpen) {
      if (u.lastOffset < firstOpen) young?.(u.maxTimestamp + cfg.minCompactionLagMs);
      cleanEnd = u.baseOffset;
      break;
    }
  }
  const cleanable = units.filter((u) => u.lastOffset < cleanEnd);
  let total = 0, dirty = 0;
  for (const u of cleanable) {
    total += u.size;
    if (u.baseOffset >= upTo) dirty += u.size;
  }
  const enough = cleanable.length > 0 && (force || (dirty > 0 && dirty / Math.max(total, 1) >= cfg.minCleanableRatio));
  return { cleanEnd, cleanable, enough };
}

/**
 * One compaction round over an engine's open partitions (PostgreSQL, object storage), one partition at a
 * time: `pass` runs for each partition of a cleanup.policy=compact topic and answers what it did (logged)
 * or null when it did nothing. A pass that fails is logged and the round goes on: what it applied stays,
 * each of its statements leaving a readable log. Returns how many partitions a pass cleaned.
 */
export async function compactEach<L extends { topic: string; partition: number }>(
  logs: Iterable<L>,
  config: (topic: string, name: string) => string | undefined,
  say: (level: LogLevel, message: string) => void,
  pass: (log: L, cfg: CompactionConfig) => Promise<string | null>,
): Promise<number> {
  let cleaned = 0;
  for (const log of logs) {
    const cfg = compactionConfig(config, log.topic);
    if (!cfg) continue;
    let done: string | null;
    try {
      done = await pass(log, cfg);
    } catch (e) {
      say("warn", `${log.topic}-${log.partition}: compaction stopped: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    if (done === null) continue;
    cleaned++;
    say("info", `${log.topic}-${log.partition}: ${done}`);
  }
  return cleaned;
}

/**
 * What a partition compacted pass by pass in place (PostgreSQL rows, object extents) keeps between passes:
 * where the last pass looked, so that a pass with nothing appended since is skipped unless batches it kept
 * out for min.compaction.lag.ms are old enough by then, and the damaged batches already reported.
 */
export class PassTracker {
  #checkedAtEnd = -1;
  #recheckAt = Infinity;
  #young = Infinity;
  #reported = new Set<number>();

  /** Whether a pass over a log ending at `logEnd` may find anything new at `now` (always with `force`). */
  due(logEnd: number, now: number, force: boolean): boolean {
    this.#young = Infinity;
    return force || this.#checkedAtEnd !== logEnd || now >= this.#recheckAt;
  }

  /** The pass's young(): batches kept out for min.compaction.lag.ms, the first old enough at `until`. */
  readonly young = (until: number): void => {
    this.#young = Math.min(this.#young, until);
  };

  /** The pass's onDamaged for partition `name`: each damaged batch is reported once per process. */
  damaged(name: string, say: (level: LogLevel, message: string) => void): (offset: number, why: string) => void {
    return (offset, why) => {
      if (this.#reported.has(offset)) return;
      this.#reported.add(offset);
      say("warn", `${name}: compaction keeps a damaged record batch at offset ${offset} as it is (${why})`);
    };
  }

  /** After a pass (not one that failed) that looked at the log up to `end`. */
  looked(end: number): void {
    this.#checkedAtEnd = end;
    this.#recheckAt = this.#young;
  }
}

/** Decodes a batch; null (and `onDamaged` told) when it is damaged. */
function decodeOrNull(batch: Uint8Array, onDamaged?: (batch: Uint8Array, why: string) => void) {
  try {
    return decodeRecords(batch);
  } catch (e) {
    if (!(e instanceof RecordBatchError)) throw e;
    onDamaged?.(batch, e.message);
    return null;
  }
}

/** Transaction outcomes (and each producer id's last batch) seen in a pass over the log, in offset order. */
export class TxnIndex {
  private open = new Map<bigint, number>();
  private aborted: { producerId: bigint; first: number; last: number }[] = [];
  private lastOfProducer = new Map<bigint, number>();

  note(batch: Uint8Array): void {
    const pid = batchProducerId(batch, 0);
    const base = batchBaseOffsetNumber(batch, 0);
    if (pid >= 0n) this.lastOfProducer.set(pid, base);
    if (!batchIsTransactional(batch, 0)) return;
    if (!batchIsControl(batch, 0)) {
      if (!this.open.has(pid)) this.open.set(pid, base);
      return;
    }
    const d = decodeOrNull(batch);
    if (d === null) {
      if (!this.open.has(pid)) this.open.set(pid, base); // outcome unknown: stays open
      return;
    }
    const r = d.records[0];
    const marker = r ? parseControlRecord(r.key, r.value) : null;
    if (marker && !marker.commit) this.aborted.push({ producerId: pid, first: this.open.get(pid) ?? base, last: base });
    this.open.delete(pid);
  }

  /** A data batch of a transaction that was aborted. */
  isAborted(batch: Uint8Array): boolean {
    if (!batchIsTransactional(batch, 0) || batchIsControl(batch, 0)) return false;
    const pid = batchProducerId(batch, 0);
    const base = batchBaseOffsetNumber(batch, 0);
    return this.aborted.some((a) => a.producerId === pid && base >= a.first && base < a.last);
  }

  /** The last batch (data or marker) the pass saw of its producer id: never dropped whole. */
  isLastOfProducer(batch: Uint8Array): boolean {
    const pid = batchProducerId(batch, 0);
    return pid >= 0n && this.lastOfProducer.get(pid) === batchBaseOffsetNumber(batch, 0);
  }

  /** First offset of a transaction with no marker yet (Infinity when none). */
  firstOpenOffset(): number {
    let first = Infinity;
    for (const o of this.open.values()) first = Math.min(first, o);
    return first;
  }
}

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

  add(batch: Uint8Array, txns?: TxnIndex, onDamaged?: (batch: Uint8Array, why: string) => void): void {
    if (batchIsControl(batch, 0) || txns?.isAborted(batch)) return;
    const d = decodeOrNull(batch, onDamaged);
    if (d === null) return;
    for (const r of d.records) {
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
export async function cleanSegmentBatches(
  batches: readonly Uint8Array[],
  map: KeyMap,
  now: number,
  deleteRetentionMs: number,
  stats: CleanStats,
  pause: () => Promise<void>,
  txns?: TxnIndex,
  onDamaged?: (batch: Uint8Array, why: string) => void,
): Promise<Uint8Array[] | null> {
  const out: Uint8Array[] = [];
  let changed = false;
  let work = 0;
  for (const batch of batches) {
    if (batchIsControl(batch, 0)) {
      out.push(batch);
      continue;
    }
    if (txns?.isAborted(batch)) {
      changed = true;
      stats.removed += batchRecordCount(batch, 0);
      continue;
    }
    const d = decodeOrNull(batch, onDamaged);
    if (d === null) {
      out.push(batch); // damaged: kept byte for byte
      continue;
    }
    const kept = d.records.filter((r) => {
      if (r.key !== null && map.latest(r.key) !== Number(r.offset)) return false;
      if (r.value === null && Number(r.timestamp) < now - deleteRetentionMs) return false;
      return true;
    });
    work += d.records.length;
    if (kept.length === d.records.length || (kept.length === 0 && txns?.isLastOfProducer(batch))) {
      out.push(batch);
    } else {
      changed = true;
      stats.removed += d.records.length - kept.length;
      if (kept.length > 0) {
        out.push(buildRecordBatch({
          baseOffset: d.baseOffset,
          records: kept.map((r) => ({
            key: r.key,
            value: r.value,
            headers: r.headers,
            timestamp: r.timestamp,
            offsetDelta: Number(r.offset - d.baseOffset),
          })),
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
