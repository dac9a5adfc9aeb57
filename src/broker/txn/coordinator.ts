// Transaction coordinator and producer ids: InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn,
// TxnOffsetCommit, EndTxn, WriteTxnMarkers, and the views for DescribeTransactions /
// ListTransactions / DescribeProducers.
//
// States as Kafka's TransactionState: Empty -> Ongoing -> PrepareCommit | PrepareAbort ->
// CompleteCommit | CompleteAbort (-> Ongoing again on the next AddPartitions). One node: the
// Prepare* states last only while markers are appended. A transaction open longer than its
// timeout is aborted and the producer's epoch bumped, so the old producer is fenced.
import { ErrorCode } from "../../protocol/errors.ts";
import { buildControlBatch, scanBatches } from "../../protocol/record_batch.ts";
import type { PartitionLog } from "../../storage/store.ts";
import type { Topics } from "../topics.ts";
import { PartitionProducerState } from "./producer_state.ts";

export type TxnState = "Empty" | "Ongoing" | "PrepareCommit" | "PrepareAbort" | "CompleteCommit" | "CompleteAbort" | "Dead" | "PrepareEpochFence";

export type PendingOffset = { topic: string; partition: number; offset: bigint; leaderEpoch: number; metadata: string | null };

/** Where committed transactional offsets go (the group coordinator). */
export interface TxnOffsetSink {
  /** Makes offsets committed inside a transaction visible (on commit). */
  commitTxnOffsets(groupId: string, offsets: PendingOffset[]): void | Promise<void>;
}

type Txn = {
  transactionalId: string;
  producerId: bigint;
  producerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  /** Partitions in the transaction: "topic\0partition". */
  partitions: Map<string, { topic: string; partition: number }>;
  /** Offsets staged by TxnOffsetCommit, per group. */
  offsets: Map<string, PendingOffset[]>;
  groups: Set<string>;
  startTimestamp: number;
  lastUpdate: number;
};

export const MAX_EPOCH = 32767;
const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** Producer state of a partition, created on first use and dropped with the log. */
const states = new WeakMap<PartitionLog, PartitionProducerState>();
export function producerStateOf(log: PartitionLog): PartitionProducerState {
  let s = states.get(log);
  if (!s) {
    s = new PartitionProducerState();
    states.set(log, s);
  }
  return s;
}

export type CoordinatorDeps = {
  topics: Topics;
  now(): number;
  log(level: "debug" | "info" | "warn" | "error", message: string): void;
  maxTimeoutMs: number;
  /** How often expired transactions are looked for (Kafka: transaction.abort.timed.out.transaction.cleanup.interval.ms). */
  checkIntervalMs: number;
};

export class TransactionCoordinator {
  private readonly txns = new Map<string, Txn>();
  private nextProducerId: bigint;
  private readonly deps: CoordinatorDeps;
  private timer: ReturnType<typeof setInterval> | null = null;
  offsetSink: TxnOffsetSink | null = null;

  constructor(deps: CoordinatorDeps) {
    this.deps = deps;
    // Ids keep growing across restarts without a stored counter: start from the clock.
    this.nextProducerId = BigInt(deps.now()) * 1000n;
    this.timer = setInterval(() => void this.abortExpired(), deps.checkIntervalMs);
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private allocateProducerId(): bigint {
    return this.nextProducerId++;
  }

  /** InitProducerId. `producerId`/`producerEpoch` are -1 unless the client asks for a bump (KIP-360). */
  async initProducerId(transactionalId: string | null, timeoutMs: number, producerId: bigint, producerEpoch: number): Promise<{ errorCode: number; producerId: bigint; producerEpoch: number }> {
    const fail = (errorCode: number) => ({ errorCode, producerId: -1n, producerEpoch: -1 });
    if (transactionalId === null) {
      if (producerId >= 0n && producerEpoch >= 0 && producerEpoch < MAX_EPOCH) {
        return { errorCode: ErrorCode.NONE, producerId, producerEpoch: producerEpoch + 1 };
      }
      return { errorCode: ErrorCode.NONE, producerId: this.allocateProducerId(), producerEpoch: 0 };
    }
    if (transactionalId === "") return fail(ErrorCode.INVALID_REQUEST);
    if (timeoutMs <= 0 || timeoutMs > this.deps.maxTimeoutMs) return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    let t = this.txns.get(transactionalId);
    const now = this.deps.now();
    if (!t) {
      t = {
        transactionalId,
        producerId: this.allocateProducerId(),
        producerEpoch: 0,
        timeoutMs,
        state: "Empty",
        partitions: new Map(),
        offsets: new Map(),
        groups: new Set(),
        startTimestamp: -1,
        lastUpdate: now,
      };
      this.txns.set(transactionalId, t);
      return { errorCode: ErrorCode.NONE, producerId: t.producerId, producerEpoch: t.producerEpoch };
    }
    if (producerId >= 0n) {
      // KIP-360: the client names the id/epoch it has; only the current one may bump.
      if (producerId !== t.producerId || producerEpoch !== t.producerEpoch) {
        const retried = producerId === t.producerId && producerEpoch === t.producerEpoch - 1;
        if (!retried) return fail(ErrorCode.PRODUCER_FENCED);
      }
    }
    if (t.state === "PrepareCommit" || t.state === "PrepareAbort") return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    if (t.state === "Ongoing") {
      // A new incarnation of the producer: abort what the old one left open.
      await this.complete(t, false);
    }
    t.timeoutMs = timeoutMs;
    if (t.producerEpoch >= MAX_EPOCH - 1) {
      t.producerId = this.allocateProducerId();
      t.producerEpoch = 0;
    } else {
      t.producerEpoch++;
    }
    t.state = "Empty";
    t.lastUpdate = now;
    return { errorCode: ErrorCode.NONE, producerId: t.producerId, producerEpoch: t.producerEpoch };
  }

  /** Common checks of a request naming a transaction; returns an error code or the transaction. */
  private lookup(transactionalId: string, producerId: bigint, producerEpoch: number): Txn | number {
    const t = this.txns.get(transactionalId);
    if (!t || t.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (producerEpoch < t.producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (producerEpoch > t.producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    if (t.state === "PrepareCommit" || t.state === "PrepareAbort") return ErrorCode.CONCURRENT_TRANSACTIONS;
    return t;
  }

  /** AddPartitionsToTxn: error code per partition (unknown partitions fail the whole request). */
  addPartitions(transactionalId: string, producerId: bigint, producerEpoch: number, partitions: { topic: string; partition: number }[], verifyOnly = false): Map<string, number> {
    const out = new Map<string, number>();
    const t = this.lookup(transactionalId, producerId, producerEpoch);
    if (typeof t === "number") {
      for (const p of partitions) out.set(key(p.topic, p.partition), t);
      return out;
    }
    if (verifyOnly) {
      for (const p of partitions) {
        out.set(key(p.topic, p.partition), t.state === "Ongoing" && t.partitions.has(key(p.topic, p.partition)) ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE);
      }
      return out;
    }
    const unknown = partitions.filter((p) => !this.deps.topics.get(p.topic)?.partitions[p.partition]);
    if (unknown.length > 0) {
      for (const p of partitions) {
        out.set(key(p.topic, p.partition), unknown.includes(p) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OPERATION_NOT_ATTEMPTED);
      }
      return out;
    }
    this.begin(t);
    for (const p of partitions) {
      t.partitions.set(key(p.topic, p.partition), p);
      out.set(key(p.topic, p.partition), ErrorCode.NONE);
    }
    return out;
  }

  private begin(t: Txn) {
    const now = this.deps.now();
    if (t.state !== "Ongoing") {
      t.state = "Ongoing";
      t.startTimestamp = now;
      t.partitions.clear();
      t.offsets.clear();
      t.groups.clear();
    }
    t.lastUpdate = now;
  }

  /** AddOffsetsToTxn: the group's offsets will be committed with the transaction. */
  addOffsets(transactionalId: string, producerId: bigint, producerEpoch: number, groupId: string): number {
    const t = this.lookup(transactionalId, producerId, producerEpoch);
    if (typeof t === "number") return t;
    this.begin(t);
    t.groups.add(groupId);
    return ErrorCode.NONE;
  }

  /** TxnOffsetCommit: stages offsets until EndTxn. */
  stageOffsets(transactionalId: string, producerId: bigint, producerEpoch: number, groupId: string, offsets: PendingOffset[]): number {
    const t = this.lookup(transactionalId, producerId, producerEpoch);
    if (typeof t === "number") return t;
    if (t.state !== "Ongoing" || !t.groups.has(groupId)) return ErrorCode.INVALID_TXN_STATE;
    const staged = t.offsets.get(groupId) ?? [];
    for (const o of offsets) {
      const i = staged.findIndex((s) => s.topic === o.topic && s.partition === o.partition);
      if (i >= 0) staged[i] = o;
      else staged.push(o);
    }
    t.offsets.set(groupId, staged);
    t.lastUpdate = this.deps.now();
    return ErrorCode.NONE;
  }

  /** True when the producer's transaction includes the partition (produce-side verification, KIP-890). */
  inTransaction(producerId: bigint, producerEpoch: number, topic: string, partition: number): boolean {
    for (const t of this.txns.values()) {
      if (t.producerId === producerId) {
        return t.producerEpoch === producerEpoch && t.state === "Ongoing" && t.partitions.has(key(topic, partition));
      }
    }
    return false;
  }

  /** EndTxn. */
  async endTxn(transactionalId: string, producerId: bigint, producerEpoch: number, commit: boolean): Promise<number> {
    const t = this.txns.get(transactionalId);
    if (!t || t.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (producerEpoch < t.producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (producerEpoch > t.producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    switch (t.state) {
      case "Ongoing":
        await this.complete(t, commit);
        return ErrorCode.NONE;
      case "CompleteCommit":
        return commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
      case "CompleteAbort":
        return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE;
      case "PrepareCommit":
      case "PrepareAbort":
        return ErrorCode.CONCURRENT_TRANSACTIONS;
      default:
        return ErrorCode.INVALID_TXN_STATE;
    }
  }

  /** Writes the markers, applies or drops staged offsets, and moves to Complete*. */
  private async complete(t: Txn, commit: boolean): Promise<void> {
    t.state = commit ? "PrepareCommit" : "PrepareAbort";
    try {
      await this.writeMarkers(t.producerId, t.producerEpoch, commit, 0, [...t.partitions.values()]);
      if (commit && this.offsetSink) {
        for (const [group, offsets] of t.offsets) await this.offsetSink.commitTxnOffsets(group, offsets);
      }
    } finally {
      t.state = commit ? "CompleteCommit" : "CompleteAbort";
      t.lastUpdate = this.deps.now();
      t.partitions.clear();
      t.offsets.clear();
      t.groups.clear();
    }
  }

  /** Appends a commit/abort marker to each partition; returns an error code per partition. */
  async writeMarkers(producerId: bigint, producerEpoch: number, commit: boolean, coordinatorEpoch: number, partitions: { topic: string; partition: number }[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    await Promise.all(partitions.map(async (p) => {
      const log = this.deps.topics.get(p.topic)?.partitions[p.partition];
      if (!log) {
        out.set(key(p.topic, p.partition), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        return;
      }
      const batch = buildControlBatch({ producerId, producerEpoch, commit, coordinatorEpoch, timestamp: this.deps.now() });
      const metas = scanBatches(batch);
      if (!Array.isArray(metas)) throw new Error(`control batch did not scan: ${metas.message}`);
      try {
        const r = await log.append(batch, metas);
        producerStateOf(log).recordMarker(producerId, producerEpoch, commit, r.baseOffset, coordinatorEpoch);
        out.set(key(p.topic, p.partition), ErrorCode.NONE);
      } catch (e) {
        this.deps.log("error", `marker append to ${p.topic}-${p.partition} failed: ${e instanceof Error ? e.message : String(e)}`);
        out.set(key(p.topic, p.partition), ErrorCode.KAFKA_STORAGE_ERROR);
      }
    }));
    return out;
  }

  /** Aborts transactions open longer than their timeout and fences their producers. */
  async abortExpired(): Promise<void> {
    const now = this.deps.now();
    for (const t of this.txns.values()) {
      if (t.state === "Ongoing" && now - t.startTimestamp > t.timeoutMs) {
        this.deps.log("info", `aborting transaction ${t.transactionalId}: open ${now - t.startTimestamp} ms, timeout ${t.timeoutMs} ms`);
        await this.complete(t, false);
        if (t.producerEpoch < MAX_EPOCH - 1) t.producerEpoch++;
      }
    }
  }

  describe(transactionalId: string) {
    return this.txns.get(transactionalId);
  }

  list(): IterableIterator<Txn> {
    return this.txns.values();
  }
}
