// Log compaction (cleanup.policy=compact), Apache Kafka's LogCleaner rules shared by every engine: the latest
// record per key is kept, older ones dropped, offsets preserved (a rebuilt batch keeps its base offset and
// lastOffsetDelta, so gaps appear inside and between batches, as in Kafka).
// - Tombstones (KIP-534): a pass that keeps a tombstone sets the batch's delete horizon (now + delete.retention.ms,
//   stored as its base timestamp with attribute bit 6; record timestamps unchanged); a later pass past the horizon
//   drops it. A tombstone is thus kept delete.retention.ms after the cleaner first saw it, whatever its timestamp.
// - Transactions: batches of aborted transactions are dropped and never shadow a key; cleaning stops before the
//   first offset of a transaction still open (Kafka cleans only below the last stable offset). A marker (control
//   batch) whose transaction has no data left in the log at the start of a pass gets a delete horizon the same
//   way, and a pass past that horizon drops it (Kafka's onControlBatchRead + KIP-534): a consumer that read the
//   data before it went still meets the marker for delete.retention.ms.
// - Scheduling: a partition is cleaned when its dirty share reaches min.cleanable.dirty.ratio, when its oldest
//   dirty batch is older than max.compaction.lag.ms (KIP-354), or when a delete horizon it holds has passed.
// Batches are decompressed to be filtered and recompressed with their own codec; untouched batches stay byte for
// byte. A batch that cannot be decoded (damaged on disk) is never dropped nor rewritten: it stays as it is, its
// keys shadow nothing, and the caller is told (onDamaged) so that it can report it once; a damaged transaction
// marker leaves its transaction open, so nothing past it is cleaned. The last batch of each producer id is never
// dropped whole (Kafka's cleaner keeps it, as an empty batch): the producer state rebuilt from the log after a
// snapshot (a restart, a new leader) then still holds that producer's last sequence, and its next batch is not
// refused as out of order. Here it stays as it was when every record of it would go (aborted data excepted, as in
// Kafka: its marker is the producer's last batch).
import {
  batchAttributes,
  batchBaseOffsetNumber,
  batchBaseTimestamp,
  batchIsControl,
  batchIsTransactional,
  batchLastOffsetDelta,
  batchProducerId,
  batchRecordCount,
  type DecodedBatch,
  decodeRecords,
  DELETE_HORIZON_FLAG_MASK,
  parseControlRecord,
  RecordBatchError,
} from "../protocol/record_batch.ts";
import type { LogLevel } from "../runtime.ts";
import { rebuildBatch } from "./recompress.ts";

/** Topic settings of a pass (Kafka's names; effective values). */
export type CompactionConfig = {
  deleteRetentionMs: number;
  minCompactionLagMs: number;
  minCleanableRatio: number;
  /** KIP-354: dirty records older than this are cleaned whatever the dirty ratio (Kafka: Long.MAX_VALUE). */
  maxCompactionLagMs: number;
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
    maxCompactionLagMs: num("max.compaction.lag.ms", Number.MAX_SAFE_INTEGER),
  };
}

/** Partition state where a pass records the offset it cleaned up to (min.cleanable.dirty.ratio's "dirty"). */
export const CLEANER_STATE = "cleaner-offset";

/** The offset a previous pass cleaned up to (0: none), from the partition's CLEANER_STATE. */
export async function cleanedUpTo(readState: (name: string) => Promise<Uint8Array | null>): Promise<number> {
  return (await cleanerState(readState)).upTo;
}

/**
 * The partition's CLEANER_STATE: "<upTo>" or "<upTo> <pass id>" (the object store's passes name themselves, so that
 * a broker can tell whether the last pass was its own and what it kept of it still describes the log).
 */
export async function cleanerState(
  readState: (name: string) => Promise<Uint8Array | null>,
): Promise<{ upTo: number; pass: string }> {
  const state = await readState(CLEANER_STATE);
  if (state === null) return { upTo: 0, pass: "" };
  const [upTo, pass] = new TextDecoder().decode(state).trim().split(" ");
  return { upTo: Number(upTo) || 0, pass: pass ?? "" };
}

/** A unit an in-place pass cleans whole or not at all (a PostgreSQL batch row, an object extent). */
export type CleanUnit = { baseOffset: number; lastOffset: number; maxTimestamp: number; size: number };

/** Delete horizons (KIP-534) a partition holds: whether one has passed, and the next one to come (Infinity). */
export type Horizons = { due: boolean; next: number };

/**
 * Which of a partition's `units` (in offset order, from the log start) a pass cleans: those below the last
 * one (Kafka's active segment), below the first one too young for min.compaction.lag.ms (`young` is told
 * when it is old enough) and below `firstOpen` (the first offset of an open transaction). `enough` when
 * there are some and, unless `force`, their dirty share (bytes at or after `upTo`, what a previous pass
 * cleaned up to) reaches min.cleanable.dirty.ratio, or the oldest dirty one is older than max.compaction.lag.ms
 * (KIP-354), or a delete horizon has passed (`horizons`). `young` is also told when the next of these falls due.
 */
export function cleanableRange<T extends CleanUnit>(
  units: readonly T[],
  cfg: CompactionConfig,
  now: number,
  firstOpen: number,
  upTo: number,
  force: boolean,
  young?: (until: number) => void,
  horizons?: Horizons,
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
  let total = 0, dirty = 0, oldestDirty = Infinity;
  for (const u of cleanable) {
    total += u.size;
    if (u.baseOffset >= upTo) {
      dirty += u.size;
      oldestDirty = Math.min(oldestDirty, u.maxTimestamp);
    }
  }
  // KIP-354 (Kafka takes the dirty segments' first batch timestamp; a unit's largest one is as close as we keep).
  const lagDue = dirty > 0 && oldestDirty <= now - cfg.maxCompactionLagMs;
  if (dirty > 0 && !lagDue) young?.(oldestDirty + cfg.maxCompactionLagMs);
  if (horizons && horizons.next < Infinity) young?.(horizons.next);
  const enough = cleanable.length > 0 &&
    (force || lagDue || horizons?.due === true ||
      (dirty > 0 && dirty / Math.max(total, 1) >= cfg.minCleanableRatio));
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

/** A partition compacted in place, as its pass sees it (PgPartitionLog, the object store's partition log). */
export type PassLog = {
  readonly topic: string;
  readonly partition: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  sizeInBytes: number;
  readState(name: string): Promise<Uint8Array | null>;
  writeState(name: string, data: Uint8Array): Promise<void>;
  /** Its onAbortedTxnRemoved listeners. */
  readonly abortedTxnListeners: AbortedTxnListeners;
};

/** What every in-place pass takes from its partition (the engine's pass adds its own means of reading and writing). */
export type PassHost = {
  readonly topic: string;
  readonly partition: number;
  readonly logStartOffset: number;
  /** The log end when the pass started: it cleans nothing at or past it. */
  readonly logEndOffset: number;
  readState(name: string): Promise<Uint8Array | null>;
  writeState(name: string, data: Uint8Array): Promise<void>;
  /** The partition's size after a statement of the pass changed it. */
  sized(bytes: number): void;
  /** Told when batches kept out of the pass (min.compaction.lag.ms, a delete horizon, KIP-354) fall due. */
  young?(until: number): void;
  /** For the pass's TxnIndex: an aborted transaction's marker is about to go. */
  forgetAborted?(producerId: bigint, lastOffset: number): void;
};

/**
 * Runs one in-place compaction pass over `log` (`pass` is the engine's: postgres/compaction.ts, objects/cleaner.ts)
 * unless nothing was appended since the last one looked and nothing it kept out is due yet (`passes`); null then,
 * or when the pass found nothing to do. Damaged batches are reported once through `say`.
 */
export async function passOver<R>(
  log: PassLog,
  passes: PassTracker,
  now: number,
  force: boolean,
  say: (level: LogLevel, message: string) => void,
  pass: (host: PassHost, onDamaged: (offset: number, why: string) => void) => Promise<R | null>,
): Promise<R | null> {
  if (!passes.due(log.logEndOffset, now, force)) return null;
  const end = log.logEndOffset;
  const r = await pass({
    topic: log.topic,
    partition: log.partition,
    logStartOffset: log.logStartOffset,
    logEndOffset: end,
    readState: (n) => log.readState(n),
    writeState: (n, d) => log.writeState(n, d),
    sized: (bytes) => {
      log.sizeInBytes = bytes;
    },
    young: passes.young,
    forgetAborted: log.abortedTxnListeners.emit,
  }, passes.damaged(`${log.topic}-${log.partition}`, say));
  passes.looked(end);
  return r;
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

/** Who wants to know when compaction removes an aborted transaction's marker (PartitionLog.onAbortedTxnRemoved). */
export class AbortedTxnListeners {
  #listeners = new Set<(producerId: bigint, lastOffset: number) => void>();

  add(listener: (producerId: bigint, lastOffset: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  readonly emit = (producerId: bigint, lastOffset: number): void => {
    for (const l of this.#listeners) l(producerId, lastOffset);
  };
}

/** A transaction seen in the log: its first data batch, its marker (Infinity while open), its data batches left. */
type Txn = { pid: bigint; first: number; end: number; aborted: boolean; data: number };

/**
 * Transaction outcomes, each producer id's last batch and the delete horizons of a partition, noted batch by batch
 * in offset order. A fresh one serves one pass; one kept across passes (the object store's, which would otherwise
 * read every object again) is told what each pass dropped and rewrote (dropped/rewritten, applied by passDone, so
 * that within a pass every question is answered as at its start) and notes only the batches appended since.
 */
export class TxnIndex {
  #open = new Map<bigint, Txn>();
  /** Closed transactions per producer id, in offset order. */
  #closed = new Map<bigint, Txn[]>();
  #markers = new Map<number, Txn>();
  #lastOfProducer = new Map<bigint, number>();
  /** Batches carrying a delete horizon: base offset → producer id and horizon. */
  #horizons = new Map<number, { pid: bigint; at: number }>();
  #pending: (() => void)[] = [];
  /** The offset after the last batch noted. */
  notedTo = 0;

  /**
   * `forgetAborted` is told, as a pass decides to drop an aborted transaction's marker and before the engine applies
   * it, so that Fetch stops answering the transaction as aborted (safe before: none of its data is left).
   */
  readonly #forgetAborted?: (producerId: bigint, lastOffset: number) => void;
  constructor(forgetAborted?: (producerId: bigint, lastOffset: number) => void) {
    this.#forgetAborted = forgetAborted;
  }

  note(batch: Uint8Array): void {
    const pid = batchProducerId(batch, 0);
    const base = batchBaseOffsetNumber(batch, 0);
    this.notedTo = Math.max(this.notedTo, base + batchLastOffsetDelta(batch, 0) + 1);
    if (pid >= 0n) this.#lastOfProducer.set(pid, base);
    const horizon = deleteHorizonOf(batch);
    if (horizon !== null) this.#horizons.set(base, { pid, at: horizon });
    if (!batchIsTransactional(batch, 0)) return;
    if (!batchIsControl(batch, 0)) {
      let t = this.#open.get(pid);
      if (!t) this.#open.set(pid, t = { pid, first: base, end: Infinity, aborted: false, data: 0 });
      t.data++;
      return;
    }
    const d = decodeOrNull(batch);
    if (d === null) {
      // Outcome unknown: stays open.
      if (!this.#open.has(pid)) this.#open.set(pid, { pid, first: base, end: Infinity, aborted: false, data: 0 });
      return;
    }
    const r = d.records[0];
    const marker = r ? parseControlRecord(r.key, r.value) : null;
    const t = this.#open.get(pid) ?? { pid, first: base, end: base, aborted: false, data: 0 };
    this.#open.delete(pid);
    t.end = base;
    t.aborted = marker !== null && !marker.commit;
    this.#markers.set(base, t);
    let list = this.#closed.get(pid);
    if (!list) this.#closed.set(pid, list = []);
    list.push(t);
  }

  /** The closed transaction of `pid` whose data range holds `offset`. */
  #txnAt(pid: bigint, offset: number): Txn | undefined {
    const list = this.#closed.get(pid);
    if (!list) return undefined;
    let lo = 0, hi = list.length - 1, found: Txn | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].first <= offset) {
        found = list[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found && offset < found.end ? found : undefined;
  }

  /** A data batch of a transaction that was aborted. */
  isAborted(batch: Uint8Array): boolean {
    if (!batchIsTransactional(batch, 0) || batchIsControl(batch, 0)) return false;
    return this.#txnAt(batchProducerId(batch, 0), batchBaseOffsetNumber(batch, 0))?.aborted === true;
  }

  /** A marker whose transaction had no data left in the log when the pass started: it may go after its horizon. */
  isEmptyMarker(batch: Uint8Array): boolean {
    if (!batchIsControl(batch, 0)) return false;
    const t = this.#markers.get(batchBaseOffsetNumber(batch, 0));
    return t !== undefined && t.data === 0;
  }

  /** The last batch (data or marker) the pass saw of its producer id: never dropped whole. */
  isLastOfProducer(batch: Uint8Array): boolean {
    const pid = batchProducerId(batch, 0);
    return pid >= 0n && this.#lastOfProducer.get(pid) === batchBaseOffsetNumber(batch, 0);
  }

  /** First offset of a transaction with no marker yet (Infinity when none). */
  firstOpenOffset(): number {
    let first = Infinity;
    for (const t of this.#open.values()) first = Math.min(first, t.first);
    return first;
  }

  /** Whether a delete horizon has passed at `now` on a batch a pass could drop, and the next one to come. */
  horizons(now: number): Horizons {
    let due = false, next = Infinity;
    for (const [base, h] of this.#horizons) {
      if (h.at > now) next = Math.min(next, h.at);
      else if (h.pid < 0n || this.#lastOfProducer.get(h.pid) !== base) due = true;
    }
    return { due, next };
  }

  /** The pass dropped `batch` whole (applied by passDone). */
  dropped(batch: Uint8Array): void {
    const base = batchBaseOffsetNumber(batch, 0);
    const pid = batchProducerId(batch, 0);
    const control = batchIsControl(batch, 0), transactional = batchIsTransactional(batch, 0);
    if (control && this.#markers.get(base)?.aborted) this.#forgetAborted?.(pid, base);
    this.#pending.push(() => {
      this.#horizons.delete(base);
      if (!transactional) return;
      if (!control) {
        const t = this.#txnAt(pid, base);
        if (t) t.data--;
        return;
      }
      const t = this.#markers.get(base);
      if (!t) return;
      this.#markers.delete(base);
      const list = this.#closed.get(pid);
      const i = list ? list.indexOf(t) : -1;
      if (i >= 0) list!.splice(i, 1);
    });
  }

  /** The pass rebuilt a batch as `now` (same base offset; applied by passDone). */
  rewritten(now: Uint8Array): void {
    const base = batchBaseOffsetNumber(now, 0);
    const pid = batchProducerId(now, 0);
    const horizon = deleteHorizonOf(now);
    this.#pending.push(() => {
      if (horizon === null) this.#horizons.delete(base);
      else this.#horizons.set(base, { pid, at: horizon });
    });
  }

  /** After a pass whose changes all landed: the index now describes the log as the pass left it. */
  passDone(): void {
    for (const f of this.#pending.splice(0)) f();
  }
}

/** The delete horizon of a batch (KIP-534), or null when it carries none. */
export function deleteHorizonOf(batch: Uint8Array): number | null {
  return (batchAttributes(batch, 0) & DELETE_HORIZON_FLAG_MASK) === 0 ? null : Number(batchBaseTimestamp(batch, 0));
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

export type CleanStats = {
  removed: number;
  markersRemoved?: number;
  /** The earliest delete horizon the pass set (a pass is due then: PassHost.young). */
  horizon?: number;
};

/** `d` rebuilt with `records`, its offsets, producer fields and codec kept; `deleteHorizonMs` set when given. */
function rebuild(d: DecodedBatch, records: DecodedBatch["records"], deleteHorizonMs: number | undefined): Uint8Array {
  return rebuildBatch(d, records, d.codec, deleteHorizonMs);
}

/**
 * Filters one segment's batches. Returns the batches to keep (rebuilt where records went or a delete horizon
 * was set), or null when nothing changes. `pause` is awaited now and then, so a big segment does not stall
 * produce. `txns` is told what went and what was rebuilt.
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
  const drop = (batch: Uint8Array) => {
    changed = true;
    txns?.dropped(batch);
  };
  const replace = (batch: Uint8Array) => {
    changed = true;
    const h = deleteHorizonOf(batch);
    if (h !== null) stats.horizon = Math.min(stats.horizon ?? Infinity, h);
    txns?.rewritten(batch);
    out.push(batch);
  };
  for (const batch of batches) {
    if (batchIsControl(batch, 0)) {
      // A marker whose transaction has no data left: given a delete horizon, then dropped once it has passed.
      const horizon = deleteHorizonOf(batch);
      if (!txns?.isEmptyMarker(batch) || (horizon !== null && (horizon > now || txns.isLastOfProducer(batch)))) {
        out.push(batch);
        continue;
      }
      if (horizon !== null) {
        drop(batch);
        stats.markersRemoved = (stats.markersRemoved ?? 0) + 1;
        continue;
      }
      const d = decodeOrNull(batch, onDamaged);
      if (d === null) out.push(batch);
      else replace(rebuild(d, d.records, now + deleteRetentionMs));
      continue;
    }
    if (txns?.isAborted(batch)) {
      drop(batch);
      stats.removed += batchRecordCount(batch, 0);
      continue;
    }
    const d = decodeOrNull(batch, onDamaged);
    if (d === null) {
      out.push(batch); // damaged: kept byte for byte
      continue;
    }
    // KIP-534: a tombstone goes once the batch's delete horizon, set by the pass that first kept it, has passed.
    const horizon = d.hasDeleteHorizon ? Number(d.baseTimestamp) : null;
    const kept = d.records.filter((r) => {
      if (r.key !== null && map.latest(r.key) !== Number(r.offset)) return false;
      if (r.value === null && horizon !== null && now >= horizon) return false;
      return true;
    });
    const tombstones = kept.some((r) => r.value === null);
    work += d.records.length;
    if (
      (kept.length === d.records.length && (horizon !== null || !tombstones)) ||
      (kept.length === 0 && txns?.isLastOfProducer(batch))
    ) {
      out.push(batch);
    } else {
      stats.removed += d.records.length - kept.length;
      // The horizon stays while tombstones do (Kafka keeps it on the batch; with none left it has no use).
      if (kept.length > 0) replace(rebuild(d, kept, tombstones ? (horizon ?? now + deleteRetentionMs) : undefined));
      else drop(batch);
    }
    if (work > 5000) {
      work = 0;
      await pause();
    }
  }
  return changed ? out : null;
}
