// Transaction coordinator and producer ids: InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn,
// TxnOffsetCommit, EndTxn, WriteTxnMarkers, and the views for DescribeTransactions /
// ListTransactions / DescribeProducers.
//
// States as Kafka's TransactionState: Empty -> Ongoing -> PrepareCommit | PrepareAbort ->
// CompleteCommit | CompleteAbort (-> Ongoing again on the next AddPartitions). One node: the
// Prepare* states last only while markers are appended. A transaction open longer than its
// timeout is aborted and the producer's epoch bumped, so the old producer is fenced.
//
// Transactions v2 (KIP-890 part 2, transaction.version 2): a client that uses it never sends
// AddPartitionsToTxn or AddOffsetsToTxn. Produce v12+ adds its partition and TxnOffsetCommit v5 its
// group implicitly, and each EndTxn v5 bumps the producer epoch: the markers carry the new epoch
// (fencing anything the old one still sends) and the response gives it to the client. An exhausted
// epoch moves to a new producer id (the old one kept as previousProducerId so a retry is known).
// A retried EndTxn v5 (epoch one below the stored one, same outcome) answers the stored id and epoch.
import { ErrorCode } from "../../protocol/errors.ts";
import { partitionKey as key } from "../fetch_sessions.ts";
import { buildControlBatch, buildRecordBatch, scanBatches } from "../../protocol/record_batch.ts";
import { forEachBatch, forEachRecord } from "../log_scan.ts";
import { keyPartition } from "../cluster.ts";
import type { PartitionLog } from "../../storage/store.ts";
import type { Topics } from "../topics.ts";
import { PartitionProducerState } from "./producer_state.ts";

export type TxnState =
  | "Empty"
  | "Ongoing"
  | "PrepareCommit"
  | "PrepareAbort"
  | "CompleteCommit"
  | "CompleteAbort"
  | "Dead"
  | "PrepareEpochFence";

export type PendingOffset = {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
};

/** Where committed transactional offsets go (the group coordinator). */
export interface TxnOffsetSink {
  /** Makes offsets committed inside a transaction visible (on commit); false when they could not be stored. */
  commitTxnOffsets(groupId: string, offsets: PendingOffset[]): boolean | void | Promise<boolean | void>;
  /** Cluster: whether this broker coordinates the group now (an error code: NONE when it does). */
  coordinatorError?(groupId: string): number;
  /** Cluster: the marker for a __consumer_offsets partition commits or drops offsets staged there. */
  completeTxnOffsets?(
    producerId: bigint,
    producerEpoch: number,
    commit: boolean,
    partition: number,
    coordinatorEpoch: number,
  ): Promise<number>;
}

const OFFSETS_TOPIC = "__consumer_offsets";

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
  /** The client drives this transactional id with transactions v2 (see the header). */
  tv2: boolean;
  /** The producer id before a v2 epoch overflow moved to a new one; -1 otherwise. */
  previousProducerId: bigint;
};

export const MAX_EPOCH = 32767;
export const TXN_TOPIC = "__transaction_state";
const enc = new TextEncoder();
const dec = new TextDecoder();

function serializeTxn(t: Txn): string {
  return JSON.stringify({
    v: 1,
    producerId: String(t.producerId),
    producerEpoch: t.producerEpoch,
    timeoutMs: t.timeoutMs,
    state: t.state,
    partitions: [...t.partitions.values()].map((p) => [p.topic, p.partition]),
    groups: [...t.groups],
    offsets: [...t.offsets].map((
      [g, os],
    ) => [g, os.map((o) => [o.topic, o.partition, String(o.offset), o.leaderEpoch, o.metadata])]),
    startTimestamp: t.startTimestamp,
    lastUpdate: t.lastUpdate,
    tv2: t.tv2,
    previousProducerId: String(t.previousProducerId),
  });
}

function parseTxn(transactionalId: string, text: string): Txn {
  const j = JSON.parse(text);
  return {
    transactionalId,
    producerId: BigInt(j.producerId),
    producerEpoch: j.producerEpoch,
    timeoutMs: j.timeoutMs,
    state: j.state,
    partitions: new Map(
      (j.partitions as [string, number][]).map(([topic, partition]) => [key(topic, partition), { topic, partition }]),
    ),
    groups: new Set(j.groups),
    offsets: new Map((j.offsets as [string, [string, number, string, number, string | null][]][]).map(([g, os]) => [
      g,
      os.map(([topic, partition, offset, leaderEpoch, metadata]) => ({
        topic,
        partition,
        offset: BigInt(offset),
        leaderEpoch,
        metadata,
      })),
    ])),
    startTimestamp: j.startTimestamp,
    lastUpdate: j.lastUpdate,
    tv2: j.tv2 === true,
    previousProducerId: BigInt(j.previousProducerId ?? -1),
  };
}

/** Producer state of a partition, created on first use and dropped with the log. */
const states = new WeakMap<PartitionLog, PartitionProducerState>();
export function producerStateOf(log: PartitionLog): PartitionProducerState {
  let s = states.get(log);
  if (!s) {
    s = new PartitionProducerState();
    setState(log, s);
  }
  return s;
}

/** The first state of a partition log; from then on it follows what compaction removes of the aborted index. */
function setState(log: PartitionLog, s: PartitionProducerState): void {
  states.set(log, s);
  log.onAbortedTxnRemoved?.((pid, last) => states.get(log)?.forgetAborted(pid, last));
}

const SNAPSHOT = "producer";

/**
 * Rebuilds every partition's producer state at start: from its snapshot (if it is not past the log
 * end, which a truncated tail could make it) and then by replaying the batches after it.
 */
export async function recoverProducerStates(topics: Topics, log: CoordinatorDeps["log"]): Promise<void> {
  let scanned = 0;
  for (const t of topics.list()) {
    for (const p of t.partitions) scanned += await recoverProducerState(p);
  }
  if (scanned > 0) log("info", `producer state rebuilt: ${scanned} batch(es) replayed past the snapshots`);
}

/** Rebuilds one partition's producer state from its snapshot and the batches after it; the batches replayed. */
async function recoverProducerState(p: PartitionLog): Promise<number> {
  let scanned = 0;
  let state = new PartitionProducerState();
  let from = p.logStartOffset;
  const bytes = await p.readState(SNAPSHOT);
  const snap = bytes ? PartitionProducerState.restore(bytes) : null;
  if (snap && snap.offset <= p.logEndOffset && snap.offset >= p.logStartOffset) {
    state = snap.state;
    from = snap.offset;
    state.snapshotOffset = snap.offset;
  }
  await forEachBatch(p, from, (b) => {
    state.replay(b);
    scanned++;
  });
  state.trim(p.logStartOffset);
  state.dirty = false;
  // Rebuilt in place (a takeover): work queued on the partition's state, such as a marker that arrived meanwhile and
  // appends once this broker leads, records into the rebuilt state rather than into a discarded object.
  const current = states.get(p);
  if (current) current.adopt(state);
  else setState(p, state);
  return scanned;
}

/**
 * A broker of a cluster came to lead a partition another broker may have written: it re-reads the
 * log end (PartitionLog.refresh) and rebuilds the producer state, so sequence checks go on where
 * the previous leader left them.
 */
export async function takeOverPartition(topics: Topics, topic: string, partition: number): Promise<void> {
  const p = topics.get(topic)?.partitions[partition];
  if (!p) return;
  await p.refresh?.(true);
  await recoverProducerState(p);
}

/** Offsets a snapshot may lag the log end before it is rewritten anyway (bounds the replay). */
const SNAPSHOT_LAG = 100_000;

/**
 * Writes a snapshot of a partition's producer state, between its serialized appends, when the state
 * changed or the snapshot lags the log end (by any amount when `all`, as at a clean stop, so the
 * next start replays nothing).
 */
export async function snapshotProducerStates(
  topics: Topics,
  all = false,
  /** In a cluster, only the partitions this broker leads: another broker's view of a partition is stale. */
  leads: (topic: string, partition: number) => boolean = () => true,
): Promise<void> {
  for (const t of topics.list()) {
    for (const p of t.partitions) {
      if (!leads(t.name, p.partition)) continue;
      const state = producerStateOf(p);
      const lag = p.logEndOffset - state.snapshotOffset;
      if (!state.dirty && (all ? lag === 0 : lag < SNAPSHOT_LAG)) continue;
      // An empty log has nothing to replay at start: thousands of new partitions stop without a file each.
      if (!state.dirty && p.logEndOffset === 0) continue;
      await state.serialized(async () => {
        // Asked again once the appends queued before it are done: leadership may have moved meanwhile (a former
        // leader's log end can include the new leader's batches, re-read after a fenced append, that its state lacks).
        if (!leads(t.name, p.partition)) return;
        state.dirty = false;
        state.snapshotOffset = p.logEndOffset;
        await p.writeState(SNAPSHOT, state.snapshot(p.logEndOffset));
      });
    }
  }
}

export type CoordinatorDeps = {
  topics: Topics;
  now(): number;
  log(level: "debug" | "info" | "warn" | "error", message: string): void;
  maxTimeoutMs: number;
  /** How often expired transactions are looked for (Kafka: transaction.abort.timed.out.transaction.cleanup.interval.ms). */
  checkIntervalMs: number;
  /**
   * In a cluster: this broker serves only the transactional ids of the __transaction_state partitions it
   * loaded (load/unload); others get NOT_COORDINATOR. Alone (the default) it serves every id.
   */
  spread?: boolean;
  /** Cluster: the first id of a fresh block of PRODUCER_ID_BLOCK producer ids, unique in the cluster. */
  producerIdBlock?: () => Promise<bigint>;
  /**
   * How long EndTxn waits for the markers before answering with only the outcome stored (completeForClient); 5000
   * when unset (a sixth of the usual 30 s client request timeout).
   */
  endTxnWaitMs?: number;
  /** Cluster: the node leading a partition when it is another broker (its markers go there), else null. */
  remoteLeader?: (topic: string, partition: number) => number | null;
  /**
   * Cluster: the leader epoch at which this broker holds __transaction_state partition `partition` (read when it
   * loads it): its coordinator epoch, carried by its markers (Kafka's coordinatorEpoch). Alone: 0.
   */
  coordinatorEpochOf?: (partition: number) => number;
  /** Cluster: writes markers on another broker (WriteTxnMarkers); error codes by key(topic, partition). */
  sendMarkers?: (node: number, marker: RemoteMarker) => Promise<Map<string, number>>;
  /**
   * Cluster: stages a transaction's offsets at the group's coordinator on another broker (TxnOffsetCommit
   * there), for offsets staged here while this broker coordinated the group too; an error code.
   */
  forwardTxnOffsets?: (
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    groupId: string,
    offsets: PendingOffset[],
  ) => Promise<number>;
};

/** Producer ids per block taken from the cluster (Kafka's ProducerIdManager uses 1000 too). */
export const PRODUCER_ID_BLOCK = 1000;

export type RemoteMarker = {
  producerId: bigint;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
  partitions: { topic: string; partition: number }[];
};

export class TransactionCoordinator {
  private readonly txns = new Map<string, Txn>();
  private nextProducerId: bigint;
  private readonly deps: CoordinatorDeps;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Transactions whose outcome is stored (Prepare*) but whose markers or offsets could not be written yet. */
  private stalled = new Set<Txn>();
  private retrying = new Set<Txn>();
  offsetSink: TxnOffsetSink | null = null;

  /** In a cluster: the __transaction_state partitions this broker coordinates, loaded or still loading. */
  private readonly owned: Map<number, { loaded: boolean; epoch: number }> | null;

  constructor(deps: CoordinatorDeps) {
    this.deps = deps;
    this.owned = deps.spread ? new Map() : null;
    // Ids keep growing across restarts without a stored counter: start from the clock.
    this.nextProducerId = BigInt(deps.now()) * 1000n;
    this.timer = setInterval(() => void this.abortExpired(), deps.checkIntervalMs);
  }

  private partitionOf(transactionalId: string, partitions: number): number {
    return keyPartition(transactionalId, partitions);
  }

  /**
   * NONE when this broker coordinates the transactional id now; NOT_COORDINATOR when another broker
   * leads its __transaction_state partition; COORDINATOR_LOAD_IN_PROGRESS while it loads here.
   */
  coordinatorError(transactionalId: string): number {
    if (!this.owned) return ErrorCode.NONE;
    const n = this.deps.topics.get(TXN_TOPIC)?.partitions.length;
    const o = n ? this.owned.get(this.partitionOf(transactionalId, n)) : undefined;
    return !o ? ErrorCode.NOT_COORDINATOR : o.loaded ? ErrorCode.NONE : ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
  }

  /**
   * The coordinator epoch this broker's markers for the transactional id carry: the leader epoch at which it holds
   * the id's __transaction_state partition (0 alone). Partition leaders refuse a marker whose coordinator epoch is
   * lower than the last one they wrote for the producer (TRANSACTION_COORDINATOR_FENCED), as Kafka's do.
   */
  private coordinatorEpoch(transactionalId: string): number {
    if (!this.owned) return 0;
    const n = this.deps.topics.get(TXN_TOPIC)?.partitions.length;
    return (n ? this.owned.get(this.partitionOf(transactionalId, n))?.epoch : undefined) ?? 0;
  }

  /** Reads one partition of __transaction_state into `into`; the highest producer id seen. */
  private async replay(log: PartitionLog, into: Map<string, Txn>): Promise<bigint> {
    let maxProducerId = -1n;
    await forEachRecord(
      log,
      (r) => {
        if (r.key === null) return;
        const id = dec.decode(r.key);
        if (r.value === null) {
          into.delete(id);
          return;
        }
        const t = parseTxn(id, dec.decode(r.value));
        into.set(id, t);
        if (t.producerId > maxProducerId) maxProducerId = t.producerId;
      },
      (e) =>
        this.deps.log(
          "error",
          `${TXN_TOPIC}-${log.partition}: skipping an unreadable batch: ${e instanceof Error ? e.message : String(e)}`,
        ),
    );
    return maxProducerId;
  }

  /** Finishes transactions caught between Prepare* and Complete* (markers only where still missing). */
  private async finishPrepared(txns: Iterable<Txn>, why: string): Promise<void> {
    for (const t of txns) {
      if (t.state === "PrepareCommit" || t.state === "PrepareAbort") {
        this.deps.log("info", `completing transaction ${t.transactionalId} (${t.state}) interrupted by ${why}`);
        await this.complete(t, t.state === "PrepareCommit", true);
      }
    }
  }

  /**
   * Cluster: replays one __transaction_state partition this broker just came to lead (and took over),
   * serves its transactional ids from then on, and finishes the transactions its previous coordinator
   * left between Prepare* and Complete*. False when it could not be read (the caller retries).
   */
  async load(partition: number): Promise<boolean> {
    if (!this.owned || this.timer === null) return true;
    const token = { loaded: false, epoch: this.deps.coordinatorEpochOf?.(partition) ?? 0 };
    this.owned.set(partition, token);
    const log = this.deps.topics.get(TXN_TOPIC)?.partitions[partition];
    if (!log) {
      if (this.owned.get(partition) === token) this.owned.delete(partition);
      return true;
    }
    const txns = new Map<string, Txn>();
    try {
      await this.replay(log, txns);
    } catch (e) {
      this.deps.log(
        "warn",
        `loading transactions of ${TXN_TOPIC}-${partition} failed: ${e instanceof Error ? e.message : String(e)}`,
      );
      if (this.owned.get(partition) === token) this.owned.delete(partition);
      return false;
    }
    if (this.owned.get(partition) !== token) return true; // unloaded while loading
    for (const [id, t] of txns) this.txns.set(id, t);
    token.loaded = true;
    this.deps.log(
      txns.size > 0 ? "info" : "debug",
      `coordinating ${txns.size} transactional id(s) of ${TXN_TOPIC}-${partition}`,
    );
    await this.finishPrepared(txns.values(), "a coordinator move");
    return true;
  }

  /** Cluster: stops serving the transactional ids of a __transaction_state partition this broker lost. */
  unload(partition: number): void {
    if (!this.owned?.delete(partition)) return;
    const n = this.deps.topics.get(TXN_TOPIC)?.partitions.length ?? 0;
    let dropped = 0;
    for (const [id, t] of [...this.txns]) {
      if (n > 0 && this.partitionOf(id, n) !== partition) continue;
      this.txns.delete(id);
      this.stalled.delete(t);
      dropped++;
    }
    this.deps.log(
      dropped > 0 ? "info" : "debug",
      `no longer coordinating ${TXN_TOPIC}-${partition} (${dropped} transactional id(s) unloaded)`,
    );
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Creates __transaction_state if needed, replays it, and finishes transactions a restart caught
   * between PrepareCommit/PrepareAbort and Complete (markers only where still missing).
   */
  async start(): Promise<void> {
    const topic = await this.stateTopic();
    this.started = true;
    let maxProducerId = -1n;
    for (const log of topic.partitions) {
      const max = await this.replay(log, this.txns);
      if (max > maxProducerId) maxProducerId = max;
    }
    if (maxProducerId >= this.nextProducerId) this.nextProducerId = maxProducerId + 1n;
    await this.finishPrepared(this.txns.values(), "a restart");
    if (this.txns.size > 0) {
      this.deps.log("info", `transaction coordinator loaded ${this.txns.size} transactional id(s) from ${TXN_TOPIC}`);
    }
  }

  private started = false;

  /** __transaction_state, created when missing: at start, and again after a DeleteTopics removed it (as Kafka recreates it). */
  private async stateTopic() {
    const { topic, created } = await this.deps.topics.ensureInternal(TXN_TOPIC, 1);
    if (created && this.started) {
      this.deps.log("warn", `${TXN_TOPIC} was deleted; created it again (transaction state written before is gone)`);
    }
    return topic;
  }

  /** Writes a transaction's state to __transaction_state; false when it could not be stored. */
  private async persist(t: Txn): Promise<boolean> {
    const at = (topic: { partitions: PartitionLog[] } | undefined) =>
      topic?.partitions[this.partitionOf(t.transactionalId, topic.partitions.length)];
    let log = at(this.deps.topics.get(TXN_TOPIC));
    if (!log && this.started) log = at(await this.stateTopic().catch(() => undefined));
    if (!log) return !this.started; // not started: unit use without persistence
    const batch = buildRecordBatch({
      records: [{ key: enc.encode(t.transactionalId), value: enc.encode(serializeTxn(t)), timestamp: this.deps.now() }],
    });
    const metas = scanBatches(batch);
    if (!Array.isArray(metas)) return false;
    try {
      await log.append(batch, metas, { durable: true });
      return true;
    } catch (e) {
      // DeleteTopics took __transaction_state away under the write (Kafka lets it): not a storage fault.
      const deleted = !this.deps.topics.get(TXN_TOPIC)?.partitions.includes(log);
      this.deps.log(
        deleted ? "warn" : "error",
        `writing ${TXN_TOPIC} for ${t.transactionalId} failed: ${e instanceof Error ? e.message : String(e)}`,
      );
      return false;
    }
  }

  /** Ids left in the block taken from the cluster (deps.producerIdBlock). */
  private blockLeft = 0;

  private async allocateProducerId(): Promise<bigint> {
    if (this.deps.producerIdBlock) {
      // A cluster: blocks of ids from PostgreSQL, so no two brokers hand out the same id (Kafka's KIP-730).
      if (this.blockLeft === 0) {
        this.nextProducerId = await this.deps.producerIdBlock();
        this.blockLeft = PRODUCER_ID_BLOCK;
      }
      this.blockLeft--;
    }
    return this.nextProducerId++;
  }

  /** A producer id, or null when none can be had now (the cluster's block store is unreachable). */
  private async newProducerId(): Promise<bigint | null> {
    try {
      return await this.allocateProducerId();
    } catch (e) {
      this.deps.log("warn", `no producer id block: ${e instanceof Error ? e.message : String(e)}`);
      return null;
    }
  }

  /** InitProducerId. `producerId`/`producerEpoch` are -1 unless the client asks for a bump (KIP-360). */
  async initProducerId(
    transactionalId: string | null,
    timeoutMs: number,
    producerId: bigint,
    producerEpoch: number,
  ): Promise<{ errorCode: number; producerId: bigint; producerEpoch: number }> {
    const fail = (errorCode: number) => ({ errorCode, producerId: -1n, producerEpoch: -1 });
    if (transactionalId === null) {
      if (producerId >= 0n && producerEpoch >= 0 && producerEpoch < MAX_EPOCH) {
        return { errorCode: ErrorCode.NONE, producerId, producerEpoch: producerEpoch + 1 };
      }
      const id = await this.newProducerId();
      if (id === null) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      return { errorCode: ErrorCode.NONE, producerId: id, producerEpoch: 0 };
    }
    if (transactionalId === "") return fail(ErrorCode.INVALID_REQUEST);
    const refused = this.coordinatorError(transactionalId);
    if (refused !== ErrorCode.NONE) return fail(refused);
    if (timeoutMs <= 0 || timeoutMs > this.deps.maxTimeoutMs) return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    let t = this.txns.get(transactionalId);
    const now = this.deps.now();
    if (!t) {
      const id = await this.newProducerId();
      if (id === null) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      t = {
        transactionalId,
        producerId: id,
        producerEpoch: 0,
        timeoutMs,
        state: "Empty",
        partitions: new Map(),
        offsets: new Map(),
        groups: new Set(),
        startTimestamp: -1,
        lastUpdate: now,
        tv2: false,
        previousProducerId: -1n,
      };
      this.txns.set(transactionalId, t);
      if (!(await this.persist(t))) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
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
      if (!(await this.complete(t, false))) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      // Markers not all written yet (a leader moving, a full disk): the abort stays in PrepareAbort, retried by the
      // periodic check, and the producer asks again, as Kafka answers. Moving on to Empty here dropped the retry: a
      // partition kept the old transaction open without its abort marker, and the next commit there made it visible.
      if (this.stalled.has(t)) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    }
    // Applied only once stored (Kafka prepares the transition and completes it after the append).
    const before = { producerId: t.producerId, producerEpoch: t.producerEpoch, timeoutMs: t.timeoutMs, state: t.state };
    t.timeoutMs = timeoutMs;
    if (t.producerEpoch >= MAX_EPOCH - 1) {
      const id = await this.newProducerId();
      if (id === null) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      t.producerId = id;
      t.producerEpoch = 0;
    } else {
      t.producerEpoch++;
    }
    t.state = "Empty";
    t.lastUpdate = now;
    if (!(await this.persist(t))) {
      Object.assign(t, before);
      return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
    return { errorCode: ErrorCode.NONE, producerId: t.producerId, producerEpoch: t.producerEpoch };
  }

  /** Common checks of a request naming a transaction; returns an error code or the transaction. */
  private lookup(transactionalId: string, producerId: bigint, producerEpoch: number): Txn | number {
    const refused = this.coordinatorError(transactionalId);
    if (refused !== ErrorCode.NONE) return refused;
    const t = this.txns.get(transactionalId);
    if (!t || t.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (producerEpoch < t.producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (producerEpoch > t.producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    if (t.state === "PrepareCommit" || t.state === "PrepareAbort") return ErrorCode.CONCURRENT_TRANSACTIONS;
    return t;
  }

  /** AddPartitionsToTxn: error code per partition (unknown partitions fail the whole request). */
  async addPartitions(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    partitions: { topic: string; partition: number }[],
    verifyOnly = false,
    tv2 = false,
  ): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const t = this.lookup(transactionalId, producerId, producerEpoch);
    if (typeof t === "number") {
      for (const p of partitions) out.set(key(p.topic, p.partition), t);
      return out;
    }
    if (verifyOnly) {
      // A group added by AddOffsetsToTxn stands for its __consumer_offsets partition (a group coordinator verifying
      // a TxnOffsetCommit), as Kafka adds that partition to the transaction.
      const offsetsCount = this.deps.topics.get(OFFSETS_TOPIC)?.partitions.length ?? 0;
      const groupIn = (partition: number) =>
        offsetsCount > 0 && [...t.groups].some((g) => keyPartition(g, offsetsCount) === partition);
      for (const p of partitions) {
        const added = t.partitions.has(key(p.topic, p.partition)) ||
          (p.topic === OFFSETS_TOPIC && groupIn(p.partition));
        out.set(
          key(p.topic, p.partition),
          t.state === "Ongoing" && added ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE,
        );
      }
      return out;
    }
    const unknown = partitions.filter((p) => !this.deps.topics.get(p.topic)?.partitions[p.partition]);
    if (unknown.length > 0) {
      for (const p of partitions) {
        out.set(
          key(p.topic, p.partition),
          unknown.includes(p) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OPERATION_NOT_ATTEMPTED,
        );
      }
      return out;
    }
    const undo = this.undoPoint(t);
    this.begin(t, tv2);
    const added = partitions.filter((p) => !t.partitions.has(key(p.topic, p.partition)));
    for (const p of partitions) t.partitions.set(key(p.topic, p.partition), p);
    // The partitions must be on record before the producer writes to them.
    const ok = added.length === 0 || await this.persist(t);
    if (!ok) undo();
    for (const p of partitions) {
      out.set(key(p.topic, p.partition), ok ? ErrorCode.NONE : ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
    return out;
  }

  /** A function that puts `t` back as it is now (a change that could not be stored is not applied). */
  private undoPoint(t: Txn): () => void {
    const saved = {
      state: t.state,
      startTimestamp: t.startTimestamp,
      lastUpdate: t.lastUpdate,
      partitions: new Map(t.partitions),
      offsets: new Map([...t.offsets].map(([g, o]) => [g, [...o]])),
      groups: new Set(t.groups),
      tv2: t.tv2,
    };
    return () => Object.assign(t, saved);
  }

  private begin(t: Txn, tv2 = false) {
    const now = this.deps.now();
    if (t.state !== "Ongoing") {
      t.state = "Ongoing";
      t.tv2 = tv2;
      t.startTimestamp = now;
      t.partitions.clear();
      t.offsets.clear();
      t.groups.clear();
    }
    t.lastUpdate = now;
  }

  /** AddOffsetsToTxn: the group's offsets will be committed with the transaction. */
  async addOffsets(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    groupId: string,
  ): Promise<number> {
    const t = this.lookup(transactionalId, producerId, producerEpoch);
    if (typeof t === "number") return t;
    const undo = this.undoPoint(t);
    this.begin(t);
    t.groups.add(groupId);
    if (await this.persist(t)) return ErrorCode.NONE;
    undo();
    return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  }

  /** TxnOffsetCommit: stages offsets until EndTxn. */
  async stageOffsets(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    groupId: string,
    offsets: PendingOffset[],
    tv2 = false,
  ): Promise<number> {
    const t = this.lookup(transactionalId, producerId, producerEpoch);
    if (typeof t === "number") return t;
    const undo = this.undoPoint(t);
    if (tv2 && (t.state !== "Ongoing" || !t.groups.has(groupId))) {
      // TxnOffsetCommit v5 adds the group itself (no AddOffsetsToTxn under transactions v2).
      this.begin(t, true);
      t.groups.add(groupId);
    }
    if (t.state !== "Ongoing" || !t.groups.has(groupId)) return ErrorCode.INVALID_TXN_STATE;
    const staged = [...(t.offsets.get(groupId) ?? [])];
    for (const o of offsets) {
      const i = staged.findIndex((s) => s.topic === o.topic && s.partition === o.partition);
      if (i >= 0) staged[i] = o;
      else staged.push(o);
    }
    t.offsets.set(groupId, staged);
    t.lastUpdate = this.deps.now();
    if (await this.persist(t)) return ErrorCode.NONE;
    undo();
    return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  }

  /** True when the producer's transaction includes the partition (produce-side verification, KIP-890). */
  inTransaction(producerId: bigint, producerEpoch: number, topic: string, partition: number): boolean {
    for (const t of this.txns.values()) {
      if (t.producerId === producerId) {
        return t.producerEpoch === producerEpoch && t.state === "Ongoing" && t.partitions.has(key(topic, partition));
      }
    }
    // In a cluster the producer's transaction may be coordinated by another broker, which this
    // partition leader cannot ask yet: it accepts, as Kafka did before KIP-890's verification.
    return this.owned !== null;
  }

  /** EndTxn. `tv2`: EndTxn v5, which bumps the epoch and answers the id and epoch to use next. */
  async endTxn(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    commit: boolean,
    tv2 = false,
  ): Promise<{ errorCode: number; producerId: bigint; producerEpoch: number }> {
    const fail = (errorCode: number) => ({ errorCode, producerId: -1n, producerEpoch: -1 });
    const refused = this.coordinatorError(transactionalId);
    if (refused !== ErrorCode.NONE) return fail(refused);
    const t = this.txns.get(transactionalId);
    if (!t) return fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    const current = () => ({ errorCode: ErrorCode.NONE, producerId: t.producerId, producerEpoch: t.producerEpoch });
    if (tv2 && t.tv2) {
      // With the epoch bumped by every end, a retry names the epoch before the bump (Kafka's
      // endTxnEpochBumped), or the last epoch of the id an overflow left.
      const retryOnBump = t.producerId === producerId && producerEpoch === t.producerEpoch - 1;
      const retryOnOverflow = t.previousProducerId === producerId && producerEpoch === MAX_EPOCH - 1 &&
        t.producerEpoch === 0;
      if (t.producerId !== producerId && !retryOnOverflow) return fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
      switch (t.state) {
        case "Ongoing":
          if (producerEpoch !== t.producerEpoch) return fail(ErrorCode.PRODUCER_FENCED);
          if (!(await this.completeForClient(t, commit, true))) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
          return current();
        case "CompleteCommit":
        case "CompleteAbort":
          if (!retryOnBump && !retryOnOverflow) return fail(ErrorCode.PRODUCER_FENCED);
          return (t.state === "CompleteCommit") === commit ? current() : fail(ErrorCode.INVALID_TXN_STATE);
        case "PrepareCommit":
        case "PrepareAbort":
          return fail(retryOnBump ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.PRODUCER_FENCED);
        default:
          return fail(producerEpoch === t.producerEpoch ? ErrorCode.INVALID_TXN_STATE : ErrorCode.PRODUCER_FENCED);
      }
    }
    if (t.producerId !== producerId) return fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    if (producerEpoch < t.producerEpoch) return fail(ErrorCode.PRODUCER_FENCED);
    if (producerEpoch > t.producerEpoch) return fail(ErrorCode.INVALID_PRODUCER_EPOCH);
    switch (t.state) {
      case "Ongoing":
        if (tv2) t.tv2 = true; // an EndTxn v5 on a transaction begun by AddPartitionsToTxn: bump as v2 does
        if (!(await this.completeForClient(t, commit, tv2))) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
        return current();
      case "CompleteCommit":
        return commit ? current() : fail(ErrorCode.INVALID_TXN_STATE);
      case "CompleteAbort":
        return commit ? fail(ErrorCode.INVALID_TXN_STATE) : current();
      case "PrepareCommit":
      case "PrepareAbort":
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      default:
        return fail(ErrorCode.INVALID_TXN_STATE);
    }
  }

  /**
   * EndTxn's completion: the client is answered once the outcome is stored (Prepare*) and the markers are written, or,
   * when the markers take longer than deps.endTxnWaitMs (a peer that does not answer holds them up to its
   * request.timeout.ms, as long as the client's own timeout), once the outcome is stored, the markers going on behind:
   * Kafka's coordinator answers EndTxn right after Prepare* is appended and sends the markers after. Meanwhile the
   * producer's next requests get CONCURRENT_TRANSACTIONS (retriable) until Complete*.
   */
  private async completeForClient(t: Txn, commit: boolean, bumpEpoch: boolean): Promise<boolean> {
    let decided = false;
    const run = this.complete(t, commit, false, bumpEpoch, () => (decided = true));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), this.deps.endTxnWaitMs ?? 5000);
    });
    const first = await Promise.race([run, late]);
    clearTimeout(timer);
    if (first !== "late" || !decided) return first !== "late" ? first : await run;
    this.deps.log(
      "info",
      `transaction ${t.transactionalId}: ${t.state} stored, answered; its markers are still being written`,
    );
    run.catch(() => {});
    return true;
  }

  /**
   * Writes the markers, applies or drops staged offsets, and moves to Complete*. False when the
   * Prepare* state could not be stored: the transaction stays as it was and EndTxn may be retried.
   * `onDecided` is called once Prepare* is stored.
   */
  private async complete(
    t: Txn,
    commit: boolean,
    recovering = false,
    bumpEpoch = false,
    onDecided?: () => void,
  ): Promise<boolean> {
    const before = {
      state: t.state,
      producerId: t.producerId,
      producerEpoch: t.producerEpoch,
      previousProducerId: t.previousProducerId,
    };
    t.state = commit ? "PrepareCommit" : "PrepareAbort";
    // Markers go out under the transaction's id; with a v2 bump, at the new epoch (the id's last,
    // MAX_EPOCH, when it is exhausted: the transaction then continues under a new id at epoch 0).
    let markerId = t.producerId;
    if (bumpEpoch) {
      if (t.producerEpoch >= MAX_EPOCH - 1) {
        t.previousProducerId = t.producerId;
        t.producerId = await this.allocateProducerId();
        t.producerEpoch = 0;
      } else {
        t.producerEpoch++;
        markerId = t.producerId;
      }
    }
    if (recovering && t.tv2 && t.producerEpoch === 0 && t.previousProducerId >= 0n) {
      markerId = t.previousProducerId; // a v2 end that overflowed the epoch, interrupted by a restart
    }
    const markerEpoch = markerId === t.producerId ? t.producerEpoch : MAX_EPOCH;
    // Once PrepareCommit is stored the outcome is decided: a restart finishes it (start()).
    if (!recovering && !(await this.persist(t))) {
      Object.assign(t, before);
      return false;
    }
    onDecided?.();
    // The outcome is decided once Prepare* is stored. Markers or offsets that cannot be written (a full
    // disk, an offline log dir) keep the transaction in Prepare* to be retried by the periodic check (and at
    // start), as Kafka retries markers until they land; meanwhile its producer gets CONCURRENT_TRANSACTIONS.
    let done = true;
    const forwarded = new Set<string>();
    try {
      // Offsets staged here for a group whose coordinator has moved to another broker since go there first,
      // to be settled by the marker for the group's partition like offsets staged there directly.
      if (commit && this.owned && this.offsetSink?.coordinatorError && this.deps.forwardTxnOffsets) {
        for (const [group, offsets] of t.offsets) {
          if (this.offsetSink.coordinatorError(group) === ErrorCode.NONE) continue;
          const code = await this.deps.forwardTxnOffsets(t.transactionalId, markerId, markerEpoch, group, offsets);
          if (code === ErrorCode.NONE) forwarded.add(group);
          else done = false;
        }
      }
      // In a cluster the groups' offsets may be staged at their own coordinators (TxnOffsetCommit goes
      // to the group coordinator): a marker for each group's __consumer_offsets partition settles them.
      const offsetsTopic = this.owned ? this.deps.topics.get(OFFSETS_TOPIC) : undefined;
      const groupPartitions = new Map<string, { topic: string; partition: number }>();
      for (const g of offsetsTopic ? t.groups : []) {
        const p = keyPartition(g, offsetsTopic!.partitions.length);
        groupPartitions.set(key(OFFSETS_TOPIC, p), { topic: OFFSETS_TOPIC, partition: p });
      }
      const results = await this.writeMarkers(
        markerId,
        markerEpoch,
        commit,
        this.coordinatorEpoch(t.transactionalId),
        [...t.partitions.values(), ...groupPartitions.values()],
        recovering,
      );
      if ([...results.values()].includes(ErrorCode.TRANSACTION_COORDINATOR_FENCED)) {
        // A newer coordinator of this transactional id has written markers for the producer: it loaded the outcome
        // stored here (Prepare*) and finishes it; this broker, about to unload the id, stops retrying (as Kafka's
        // marker channel drops a fenced coordinator's pending markers).
        this.deps.log(
          "warn",
          `transaction ${t.transactionalId}: markers fenced by a newer coordinator, which completes it`,
        );
        this.stalled.delete(t);
        return true;
      }
      // Written, or the partition is gone; anything else (a storage fault, a leader that moved or has not taken
      // over yet, a peer unreachable) is retried until it lands, so no partition keeps the transaction open.
      for (const code of results.values()) {
        if (code !== ErrorCode.NONE && code !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) done = false;
      }
      if (done && commit && this.offsetSink) {
        for (const [group, offsets] of t.offsets) {
          if (forwarded.has(group)) continue;
          if ((this.offsetSink.coordinatorError?.(group) ?? ErrorCode.NONE) !== ErrorCode.NONE) {
            // Staged here while this broker coordinated the group too, which has moved since, and no way
            // to hand them over (no peers): its new coordinator cannot take them.
            this.deps.log(
              "warn",
              `transaction ${t.transactionalId}: offsets for group ${group} not committed: its coordinator moved`,
            );
            continue;
          }
          if ((await this.offsetSink.commitTxnOffsets(group, offsets)) === false) done = false;
        }
      }
    } catch (e) {
      done = false;
      this.deps.log("error", `transaction ${t.transactionalId}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!done) {
      if (!this.stalled.has(t)) {
        this.deps.log(
          "warn",
          `transaction ${t.transactionalId} (${t.state}): markers or offsets not written yet; retried every ${this.deps.checkIntervalMs} ms`,
        );
      }
      this.stalled.add(t);
      return true;
    }
    if (this.stalled.delete(t)) this.deps.log("info", `transaction ${t.transactionalId}: completed after retries`);
    t.state = commit ? "CompleteCommit" : "CompleteAbort";
    t.lastUpdate = this.deps.now();
    t.partitions.clear();
    t.offsets.clear();
    t.groups.clear();
    await this.persist(t);
    return true;
  }

  /**
   * Appends a commit/abort marker to each partition; returns an error code per partition. `localOnly` (a
   * WriteTxnMarkers from the coordinator): never forwarded — a partition this broker does not lead answers
   * NOT_LEADER_OR_FOLLOWER and the coordinator retries — since two brokers whose views of a moving leader differ
   * would otherwise forward it to each other on connections that answer in order, each waiting on the other.
   */
  async writeMarkers(
    producerId: bigint,
    producerEpoch: number,
    commit: boolean,
    coordinatorEpoch: number,
    partitions: { topic: string; partition: number }[],
    onlyOpen = false,
    localOnly = false,
  ): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    // In a cluster, partitions led by other brokers get their markers through WriteTxnMarkers.
    const remote = new Map<number, { topic: string; partition: number }[]>();
    const local: { topic: string; partition: number }[] = [];
    for (const p of partitions) {
      const node = this.deps.sendMarkers && !localOnly ? this.deps.remoteLeader?.(p.topic, p.partition) ?? null : null;
      if (node === null) local.push(p);
      else remote.set(node, [...(remote.get(node) ?? []), p]);
    }
    const remoteDone = Promise.all([...remote].map(async ([node, parts]) => {
      try {
        const codes = await this.deps.sendMarkers!(node, {
          producerId,
          producerEpoch,
          commit,
          coordinatorEpoch,
          partitions: parts,
        });
        for (const p of parts) {
          out.set(key(p.topic, p.partition), codes.get(key(p.topic, p.partition)) ?? ErrorCode.NONE);
        }
      } catch (e) {
        this.deps.log(
          "error",
          `markers for ${parts.map((p) => `${p.topic}-${p.partition}`).join(", ")} on broker ${node} failed: ${
            e instanceof Error ? e.message : String(e)
          }`,
        );
        for (const p of parts) out.set(key(p.topic, p.partition), ErrorCode.COORDINATOR_NOT_AVAILABLE);
      }
    }));
    await Promise.all(local.map(async (p) => {
      if (p.topic === OFFSETS_TOPIC && this.owned && this.offsetSink?.completeTxnOffsets) {
        // Cluster: the group coordinator writes the marker after the offsets it staged for the producer.
        out.set(
          key(p.topic, p.partition),
          await this.offsetSink.completeTxnOffsets(producerId, producerEpoch, commit, p.partition, coordinatorEpoch),
        );
        return;
      }
      const log = this.deps.topics.get(p.topic)?.partitions[p.partition];
      if (!log) {
        out.set(key(p.topic, p.partition), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        return;
      }
      const batch = buildControlBatch({
        producerId,
        producerEpoch,
        commit,
        coordinatorEpoch,
        timestamp: this.deps.now(),
      });
      const metas = scanBatches(batch);
      if (!Array.isArray(metas)) throw new Error(`control batch did not scan: ${metas.message}`);
      const state = producerStateOf(log);
      try {
        const code = await state.serialized(async () => {
          if (state.coordinatorEpochOf(producerId) > coordinatorEpoch) {
            this.deps.log(
              "warn",
              `marker for ${p.topic}-${p.partition} (producer ${producerId}) refused: coordinator epoch ${coordinatorEpoch} ` +
                `is older than ${state.coordinatorEpochOf(producerId)}, that of the last marker written`,
            );
            return ErrorCode.TRANSACTION_COORDINATOR_FENCED;
          }
          if (onlyOpen && !state.hasOngoing(producerId)) return ErrorCode.NONE; // already ended before a restart
          // From a coordinator (WriteTxnMarkers), a retry of a marker that landed (its answer lost) is not written twice.
          if (localOnly && state.repeatsLastMarker(producerId, producerEpoch, coordinatorEpoch)) return ErrorCode.NONE;
          const r = await log.append(batch, metas);
          state.recordMarker(producerId, producerEpoch, commit, r.baseOffset, coordinatorEpoch);
          return ErrorCode.NONE;
        });
        out.set(key(p.topic, p.partition), code);
      } catch (e) {
        // Deleted meanwhile (its log closed): Kafka drops markers for partitions that are gone.
        if (this.deps.topics.get(p.topic)?.partitions[p.partition] !== log) {
          this.deps.log("debug", `marker for ${p.topic}-${p.partition} dropped: the partition was deleted`);
          out.set(key(p.topic, p.partition), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          return;
        }
        // Not (or not yet) this broker's partition: fenced, nothing stored; the coordinator asks again.
        const fenced = (e as { code?: string }).code === "NOT_LEADER" ||
          (e as { errorCode?: unknown }).errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER;
        if (fenced) {
          this.deps.log("info", `marker for ${p.topic}-${p.partition} not written: ${(e as Error).message}`);
          out.set(key(p.topic, p.partition), ErrorCode.NOT_LEADER_OR_FOLLOWER);
          return;
        }
        this.deps.log(
          "error",
          `marker append to ${p.topic}-${p.partition} failed: ${e instanceof Error ? e.message : String(e)}`,
        );
        out.set(key(p.topic, p.partition), ErrorCode.KAFKA_STORAGE_ERROR);
      }
    }));
    await remoteDone;
    return out;
  }

  /** Aborts transactions open longer than their timeout and fences their producers. */
  async abortExpired(): Promise<void> {
    for (const t of [...this.stalled]) {
      if (this.retrying.has(t)) continue; // an earlier sweep is still at it
      if (t.state !== "PrepareCommit" && t.state !== "PrepareAbort") {
        this.stalled.delete(t);
        continue;
      }
      this.retrying.add(t);
      try {
        await this.complete(t, t.state === "PrepareCommit", true);
      } finally {
        this.retrying.delete(t);
      }
    }
    const now = this.deps.now();
    for (const t of this.txns.values()) {
      if (t.state === "Ongoing" && now - t.startTimestamp > t.timeoutMs) {
        this.deps.log(
          "info",
          `aborting transaction ${t.transactionalId}: open ${now - t.startTimestamp} ms, timeout ${t.timeoutMs} ms`,
        );
        if (t.producerEpoch < MAX_EPOCH - 1) t.producerEpoch++;
        // Markers carry the bumped epoch, as Kafka's timeout abort does, so the old producer is fenced.
        await this.complete(t, false);
      }
    }
  }

  /** True when an open transaction holds offsets for the group's partition (OffsetFetch requireStable). */
  hasPendingOffset(groupId: string, topic: string, partition: number): boolean {
    for (const t of this.txns.values()) {
      if (t.state !== "Ongoing" && t.state !== "PrepareCommit") continue;
      if (t.offsets.get(groupId)?.some((o) => o.topic === topic && o.partition === partition)) return true;
    }
    return false;
  }

  describe(transactionalId: string) {
    return this.txns.get(transactionalId);
  }

  list(): IterableIterator<Txn> {
    return this.txns.values();
  }
}
