// Per-partition producer state: idempotent sequence windows, ongoing transactions, the last stable
// offset and the aborted-transaction index.
//
// Kafka's rules (ProducerStateManager / ProducerAppendInfo), applied per batch:
// - An older epoch than the producer's current one: INVALID_PRODUCER_EPOCH.
// - A newer epoch must start at sequence 0 (unless we know nothing of the producer).
// - Same epoch: a batch whose sequences match one of the last five is a duplicate — answered with
//   its original offset and not stored again; otherwise the first sequence must follow the last.
// - A producer we know nothing of may start at any sequence (its state may have been retained away).
// Sequences wrap at 2^31-1 to 0.
import { ErrorCode } from "../../protocol/errors.ts";
import {
  batchAttributes,
  batchBaseOffsetNumber,
  batchBaseSequence,
  batchLastOffsetDelta,
  batchMaxTimestamp,
  batchProducerEpoch,
  batchProducerId,
  CONTROL_FLAG_MASK,
  decodeRecords,
  parseControlRecord,
  TRANSACTIONAL_FLAG_MASK,
} from "../../protocol/record_batch.ts";

/** Batches remembered per producer for duplicate detection (Kafka: 5). */
export const BATCHES_REMEMBERED = 5;

type RememberedBatch = { firstSeq: number; lastSeq: number; baseOffset: number; lastOffset: number };

type ProducerEntry = {
  epoch: number;
  batches: RememberedBatch[];
  /** First offset of the producer's open transaction in this partition, or -1. */
  txnFirstOffset: number;
  lastTimestamp: number;
  coordinatorEpoch: number;
};

export type AbortedTxn = { producerId: bigint; firstOffset: number; lastOffset: number };

export type SequenceCheck =
  | { kind: "append" }
  | { kind: "duplicate"; baseOffset: number; lastOffset: number }
  | { kind: "error"; errorCode: number; message: string };

export type BatchProducerInfo = {
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
  isTransactional: boolean;
  maxTimestamp: number;
};

const SEQ_WRAP = 0x7fffffff;
const nextSeq = (s: number) => (s === SEQ_WRAP ? 0 : s + 1);
const seqAdd = (s: number, n: number) => (s + n) % (SEQ_WRAP + 1);

export class PartitionProducerState {
  private producers = new Map<bigint, ProducerEntry>();
  /** Open transactions: producer id -> first offset, in start order. */
  private ongoing = new Map<bigint, number>();
  /** Aborted transactions, ordered by last offset (the abort marker). */
  readonly aborted: AbortedTxn[] = [];
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after every earlier serialized call on this partition has finished. */
  serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => {});
    return run;
  }

  /** Checks one batch against the producer's state (no change). */
  check(b: BatchProducerInfo): SequenceCheck {
    if (b.producerId < 0n) return { kind: "append" };
    const e = this.producers.get(b.producerId);
    const firstSeq = b.baseSequence;
    const lastSeq = seqAdd(firstSeq, b.lastOffsetDelta);
    if (!e) return { kind: "append" };
    if (b.producerEpoch < e.epoch) {
      return {
        kind: "error",
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `Epoch ${b.producerEpoch} of producer ${b.producerId} is older than its current epoch ${e.epoch}`,
      };
    }
    if (b.producerEpoch > e.epoch) {
      if (firstSeq !== 0 && e.batches.length > 0) {
        return {
          kind: "error",
          errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          message:
            `Invalid sequence ${firstSeq} for new epoch ${b.producerEpoch} of producer ${b.producerId}: expected 0`,
        };
      }
      return { kind: "append" };
    }
    for (const r of e.batches) {
      if (r.firstSeq === firstSeq && r.lastSeq === lastSeq) {
        return { kind: "duplicate", baseOffset: r.baseOffset, lastOffset: r.lastOffset };
      }
    }
    const last = e.batches.length > 0 ? e.batches[e.batches.length - 1].lastSeq : -1;
    if (last >= 0 && firstSeq !== nextSeq(last)) {
      return {
        kind: "error",
        errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `Out of order sequence ${firstSeq} for producer ${b.producerId} (epoch ${b.producerEpoch}): expected ${
          nextSeq(last)
        }`,
      };
    }
    return { kind: "append" };
  }

  /** Records an appended data batch. */
  record(b: BatchProducerInfo, baseOffset: number): void {
    if (b.producerId < 0n) return;
    this.dirty = true;
    let e = this.producers.get(b.producerId);
    if (!e || b.producerEpoch > e.epoch) {
      e = {
        epoch: b.producerEpoch,
        batches: [],
        txnFirstOffset: e?.txnFirstOffset ?? -1,
        lastTimestamp: b.maxTimestamp,
        coordinatorEpoch: e?.coordinatorEpoch ?? -1,
      };
      this.producers.set(b.producerId, e);
    }
    const lastOffset = baseOffset + b.lastOffsetDelta;
    if (b.baseSequence >= 0) {
      e.batches.push({
        firstSeq: b.baseSequence,
        lastSeq: seqAdd(b.baseSequence, b.lastOffsetDelta),
        baseOffset,
        lastOffset,
      });
      if (e.batches.length > BATCHES_REMEMBERED) e.batches.shift();
    }
    e.lastTimestamp = b.maxTimestamp;
    if (b.isTransactional && e.txnFirstOffset < 0) {
      e.txnFirstOffset = baseOffset;
      this.ongoing.set(b.producerId, baseOffset);
    }
  }

  /** Records a commit/abort marker written at `offset`. */
  recordMarker(
    producerId: bigint,
    producerEpoch: number,
    commit: boolean,
    offset: number,
    coordinatorEpoch: number,
  ): void {
    this.dirty = true;
    let e = this.producers.get(producerId);
    if (!e) {
      e = { epoch: producerEpoch, batches: [], txnFirstOffset: -1, lastTimestamp: -1, coordinatorEpoch };
      this.producers.set(producerId, e);
    }
    if (producerEpoch > e.epoch) {
      e.epoch = producerEpoch;
      e.batches = [];
    }
    e.coordinatorEpoch = coordinatorEpoch;
    const first = this.ongoing.get(producerId);
    if (first !== undefined) {
      if (!commit) this.aborted.push({ producerId, firstOffset: first, lastOffset: offset });
      this.ongoing.delete(producerId);
    }
    e.txnFirstOffset = -1;
  }

  /**
   * The coordinator epoch of the last marker written for the producer here (-1: none). A marker from a lower one
   * comes from a coordinator that has since been replaced (Kafka's ProducerAppendInfo: TRANSACTION_COORDINATOR_FENCED).
   */
  coordinatorEpochOf(producerId: bigint): number {
    return this.producers.get(producerId)?.coordinatorEpoch ?? -1;
  }

  /**
   * True when a marker (epoch, coordinator epoch) would repeat the producer's last one here with nothing of it written
   * since (no open transaction): a retried WriteTxnMarkers whose first attempt landed. Writing it would change nothing.
   */
  repeatsLastMarker(producerId: bigint, producerEpoch: number, coordinatorEpoch: number): boolean {
    const e = this.producers.get(producerId);
    return e !== undefined && !this.ongoing.has(producerId) && e.txnFirstOffset < 0 && e.epoch === producerEpoch &&
      e.coordinatorEpoch >= 0 && e.coordinatorEpoch === coordinatorEpoch;
  }

  /** True when the producer has an open transaction in this partition. */
  hasOngoing(producerId: bigint): boolean {
    return this.ongoing.has(producerId);
  }

  /** Last stable offset: the first offset of the oldest open transaction, else the log end. */
  lastStableOffset(logEndOffset: number): number {
    let lso = logEndOffset;
    for (const first of this.ongoing.values()) if (first < lso) lso = first;
    return lso;
  }

  /** Aborted transactions that overlap [from, to). */
  abortedIn(from: number, to: number): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    for (const a of this.aborted) {
      if (a.lastOffset >= from && a.firstOffset < to) out.push(a);
    }
    return out;
  }

  /** Compaction removed the marker at `lastOffset` of an aborted transaction of `producerId`, none of whose data is left. */
  forgetAborted(producerId: bigint, lastOffset: number): void {
    const i = this.aborted.findIndex((a) => a.producerId === producerId && a.lastOffset === lastOffset);
    if (i < 0) return;
    this.aborted.splice(i, 1);
    this.dirty = true;
  }

  /** Drops aborted entries wholly below the log start (retention moved past them). */
  trim(logStartOffset: number): void {
    let n = 0;
    while (n < this.aborted.length && this.aborted[n].lastOffset < logStartOffset) n++;
    if (n > 0) this.aborted.splice(0, n);
  }

  /** True once something changed since the last snapshot. */
  dirty = false;
  /**
   * Log end before an append that failed but may have been stored (PartitionLog.refresh): the
   * produce path replays what landed from here before its next sequence check. null: nothing unsure.
   */
  unsureFrom: number | null = null;
  /** Log end offset the stored snapshot covers (-1: none stored). */
  snapshotOffset = -1;

  /** Applies a stored batch (recovery scan): data batches of producers, and transaction markers. */
  replay(batch: Uint8Array): void {
    const producerId = batchProducerId(batch);
    if (producerId < 0n) return;
    const attributes = batchAttributes(batch);
    const baseOffset = batchBaseOffsetNumber(batch);
    const producerEpoch = batchProducerEpoch(batch);
    if (attributes & CONTROL_FLAG_MASK) {
      const r = decodeRecords(batch).records[0];
      const marker = r ? parseControlRecord(r.key, r.value) : null;
      if (marker) this.recordMarker(producerId, producerEpoch, marker.commit, baseOffset, marker.coordinatorEpoch);
      return;
    }
    this.record({
      producerId,
      producerEpoch,
      baseSequence: batchBaseSequence(batch),
      lastOffsetDelta: batchLastOffsetDelta(batch),
      isTransactional: (attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
      maxTimestamp: Number(batchMaxTimestamp(batch)),
    }, baseOffset);
  }

  /** The state as of log end offset `offset`, for `restore`. */
  snapshot(offset: number): Uint8Array {
    const json = {
      v: 1,
      offset,
      producers: [...this.producers].map((
        [id, e],
      ) => [String(id), e.epoch, e.batches, e.txnFirstOffset, e.lastTimestamp, e.coordinatorEpoch]),
      ongoing: [...this.ongoing].map(([id, first]) => [String(id), first]),
      aborted: this.aborted.map((a) => [String(a.producerId), a.firstOffset, a.lastOffset]),
    };
    return new TextEncoder().encode(JSON.stringify(json));
  }

  /**
   * Takes `other`'s contents (a state rebuilt from the log) in place, keeping this object and its queue of serialized
   * work: whoever holds it (an append waiting its turn) sees and records into the rebuilt state, not a discarded one.
   */
  adopt(other: PartitionProducerState): void {
    this.producers = other.producers;
    this.ongoing = other.ongoing;
    this.aborted.length = 0;
    for (const a of other.aborted) this.aborted.push(a);
    this.dirty = other.dirty;
    this.unsureFrom = other.unsureFrom;
    this.snapshotOffset = other.snapshotOffset;
  }

  /** Rebuilds a state from `snapshot`; null when the bytes are not a snapshot we wrote. */
  static restore(bytes: Uint8Array): { state: PartitionProducerState; offset: number } | null {
    try {
      const j = JSON.parse(new TextDecoder().decode(bytes));
      if (j?.v !== 1 || !Number.isSafeInteger(j.offset)) return null;
      const s = new PartitionProducerState();
      for (const [id, epoch, batches, txnFirstOffset, lastTimestamp, coordinatorEpoch] of j.producers) {
        s.producers.set(BigInt(id), { epoch, batches, txnFirstOffset, lastTimestamp, coordinatorEpoch });
      }
      for (const [id, first] of j.ongoing) s.ongoing.set(BigInt(id), first);
      for (const [id, firstOffset, lastOffset] of j.aborted) {
        s.aborted.push({ producerId: BigInt(id), firstOffset, lastOffset });
      }
      return { state: s, offset: j.offset };
    } catch {
      return null;
    }
  }

  /** DescribeProducers' view. */
  describe(): {
    producerId: bigint;
    producerEpoch: number;
    lastSequence: number;
    lastTimestamp: number;
    coordinatorEpoch: number;
    currentTxnStartOffset: number;
  }[] {
    return [...this.producers].map(([producerId, e]) => ({
      producerId,
      producerEpoch: e.epoch,
      lastSequence: e.batches.length > 0 ? e.batches[e.batches.length - 1].lastSeq : -1,
      lastTimestamp: e.lastTimestamp,
      coordinatorEpoch: e.coordinatorEpoch,
      currentTxnStartOffset: e.txnFirstOffset,
    }));
  }
}
