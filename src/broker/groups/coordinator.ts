// The group coordinator: every group (classic and KIP-848 consumer groups side by side), their
// committed offsets, and their persistence in the internal compacted topic __consumer_offsets.
//
// Alone, this broker coordinates every group. In a cluster (`spread`) it coordinates the groups of
// the __consumer_offsets partitions it leads: load() replays one partition when it gains it (requests
// for its groups answer COORDINATOR_LOAD_IN_PROGRESS meanwhile), unload() drops its groups when it
// loses it (NOT_COORDINATOR from then on, as for every group of a partition it does not lead). State lives in memory and every change that must survive a
// restart is first appended, as a record batch, to __consumer_offsets through the storage
// contract (so any engine works); start() replays that topic. Offsets are acknowledged only after
// their append completes. Kafka spreads the topic over offsets.topic.num.partitions=50 to spread
// coordinator load over brokers; with one node there is nothing to spread, and every partition is
// one more log to open and replay, so the default here is 1 (set the config to change it before
// the first start; records name their group, so any count replays correctly).
//
// Configs (Kafka's names and defaults): group.min.session.timeout.ms (6000),
// group.max.session.timeout.ms (1800000), group.initial.rebalance.delay.ms (3000), group.max.size,
// offsets.retention.minutes (10080), offsets.retention.check.interval.ms (600000),
// offset.metadata.max.bytes (4096), group.consumer.session.timeout.ms (45000),
// group.consumer.heartbeat.interval.ms (5000), group.consumer.assignors ("uniform,range"),
// group.consumer.max.size, group.consumer.migration.policy ("bidirectional": see migration.ts).
import type { BrokerConfig } from "../../config.ts";
import { configNumber } from "../../config.ts";
import { decodeVersionedData } from "../../protocol/codec.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { ConsumerProtocolSubscriptionSchema } from "../../protocol/messages/consumer_protocol.ts";
import type { DecodedRecord, RecordInput } from "../../protocol/record_batch.ts";
import {
  buildControlBatch,
  buildRecordBatch,
  decodeRecords,
  isBatchError,
  parseControlRecord,
  scanBatches,
} from "../../protocol/record_batch.ts";
import type { PartitionLog } from "../../storage/store.ts";
import type { LogLevel } from "../../runtime.ts";
import { keyPartition } from "../cluster.ts";
import { forEachBatch } from "../log_scan.ts";
import { producerStateOf } from "../txn/coordinator.ts";
import type { Topics } from "../topics.ts";
import { randomUuid } from "../topics.ts";
import { ASSIGNORS } from "./assignors.ts";
import type { JoinRequest, JoinResult, SyncResult } from "./classic.ts";
import { ClassicGroup, joinFailure, syncFailure } from "./classic.ts";
import type { HeartbeatRequest, HeartbeatResult, TopicInfo } from "./consumer.ts";
import { compileRegex, ConsumerGroup } from "./consumer.ts";
import {
  decodeAssignment,
  downgradeAllowed,
  encodeAssignment,
  migrationPolicy,
  subscriptionOf,
  upgradeAllowed,
} from "./migration.ts";
import type { CommittedOffset, GroupSnapshot } from "./records.ts";
import { decodeRecord, groupKey, groupValue, offsetKey, offsetValue } from "./records.ts";

export const OFFSETS_TOPIC = "__consumer_offsets";

export type Group = ClassicGroup | ConsumerGroup;

/**
 * __consumer_offsets' partition count: offsets.topic.num.partitions (`unset` when unset or not a number:
 * 1 for one broker, Kafka's 50 in a cluster), at least 1.
 */
export function offsetsTopicPartitions(config: BrokerConfig, unset = 1): number {
  return partitionCount(config["offsets.topic.num.partitions"], unset);
}

/** __transaction_state's partition count: transaction.state.log.num.partitions, as offsetsTopicPartitions. */
export function txnTopicPartitions(config: BrokerConfig, unset = 1): number {
  return partitionCount(config["transaction.state.log.num.partitions"], unset);
}

function partitionCount(v: unknown, unset: number): number {
  const n = v === undefined || v === null || v === "" ? unset : Number(v);
  return Number.isFinite(n) ? Math.max(1, Math.floor(n)) : unset;
}

const utf8 = new TextEncoder();

/** Whether committed-offset metadata is longer than `max` UTF-8 bytes (offset.metadata.max.bytes). */
export function metadataTooLarge(metadata: string | null, max: number): boolean {
  // A string never takes fewer UTF-8 bytes than UTF-16 units: the long ones need no encoding.
  return metadata !== null && (metadata.length > max || utf8.encode(metadata).length > max);
}

export type CoordinatorDeps = {
  config: BrokerConfig;
  topics: Topics;
  now(): number;
  log(level: LogLevel, message: string): void;
  /**
   * In a cluster: this broker serves only the groups of the __consumer_offsets partitions it loaded
   * (load/unload); others get NOT_COORDINATOR. Alone (the default) it serves every group.
   */
  spread?: boolean;
};

export type PendingTxnOffset = {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
};

export type OffsetCommitPartition = {
  partitionIndex: number;
  committedOffset: bigint;
  committedLeaderEpoch: number;
  committedMetadata: string | null;
};
export type OffsetCommitInput = {
  groupId: string;
  generationIdOrMemberEpoch: number;
  memberId: string;
  groupInstanceId: string | null;
  /** -1: the broker's retention (OffsetCommit v2-4 may set it). */
  retentionTimeMs: bigint;
  topics: { name: string; partitions: OffsetCommitPartition[] }[];
};
export type OffsetCommitOutput = { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];

export type FetchedPartition = {
  partitionIndex: number;
  committedOffset: bigint;
  committedLeaderEpoch: number;
  metadata: string | null;
  errorCode: number;
};
export type OffsetFetchOutput = { errorCode: number; topics: { name: string; partitions: FetchedPartition[] }[] };

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;
const splitKey = (k: string): [string, number] => {
  const i = k.lastIndexOf("\u0000");
  return [k.slice(0, i), Number(k.slice(i + 1))];
};

export class GroupCoordinator {
  readonly groups = new Map<string, Group>();
  private readonly deps: CoordinatorDeps;
  private cleanupTimer: ReturnType<typeof setTimeout> | null = null;
  private shut = false;
  /** In a cluster: the __consumer_offsets partitions this broker coordinates, loaded or still loading. */
  private readonly owned: Map<number, { loaded: boolean }> | null;

  constructor(deps: CoordinatorDeps) {
    this.deps = deps;
    this.owned = deps.spread ? new Map() : null;
  }

  /**
   * NONE when this broker coordinates the group now; NOT_COORDINATOR when it is shut down or another
   * broker leads the group's __consumer_offsets partition; COORDINATOR_LOAD_IN_PROGRESS while loading it.
   */
  coordinatorError(groupId: string): number {
    if (this.shut) return ErrorCode.NOT_COORDINATOR;
    if (!this.owned) return ErrorCode.NONE;
    const n = this.deps.topics.get(OFFSETS_TOPIC)?.partitions.length;
    const o = n ? this.owned.get(keyPartition(groupId, n)) : undefined;
    return !o ? ErrorCode.NOT_COORDINATOR : o.loaded ? ErrorCode.NONE : ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
  }

  /**
   * Cluster: replays one __consumer_offsets partition this broker just came to lead (and took over)
   * and serves its groups from then on. False when it could not be read (the caller retries).
   */
  async load(partition: number): Promise<boolean> {
    if (!this.owned || this.shut) return true;
    const token = { loaded: false };
    this.owned.set(partition, token);
    const log = this.deps.topics.get(OFFSETS_TOPIC)?.partitions[partition];
    const groups = new Map<string, Group>();
    const drop = () => {
      for (const g of groups.values()) g.shutdown(ErrorCode.NOT_COORDINATOR);
    };
    if (!log) {
      if (this.owned.get(partition) === token) this.owned.delete(partition);
      return true;
    }
    let records = 0;
    let pending: Map<bigint, DecodedRecord[]>;
    try {
      ({ records, pending } = await this.replay(log, groups));
    } catch (e) {
      this.deps.log(
        "warn",
        `loading groups of ${OFFSETS_TOPIC}-${partition} failed: ${e instanceof Error ? e.message : String(e)}`,
      );
      drop();
      if (this.owned.get(partition) === token) this.owned.delete(partition);
      return false;
    }
    if (this.owned.get(partition) !== token || this.shut) {
      drop(); // unloaded while loading
      return true;
    }
    for (const [id, g] of groups) {
      this.groups.get(id)?.shutdown(ErrorCode.NOT_COORDINATOR);
      this.groups.set(id, g);
      g.startSessions();
    }
    this.keepPending(pending);
    token.loaded = true;
    this.deps.log(
      groups.size > 0 ? "info" : "debug",
      `coordinating ${groups.size} group(s) of ${OFFSETS_TOPIC}-${partition} (${records} record(s) loaded)`,
    );
    if (this.cleanupTimer === null) this.scheduleCleanup();
    return true;
  }

  /** Cluster: stops serving the groups of a __consumer_offsets partition this broker no longer leads. */
  unload(partition: number): void {
    if (!this.owned?.delete(partition)) return;
    const n = this.deps.topics.get(OFFSETS_TOPIC)?.partitions.length ?? 0;
    let dropped = 0;
    for (const [id, g] of [...this.groups]) {
      if (n > 0 && keyPartition(id, n) !== partition) continue;
      g.shutdown(ErrorCode.NOT_COORDINATOR);
      this.groups.delete(id);
      dropped++;
    }
    for (const byGroup of this.pendingTxn.values()) {
      for (const id of [...byGroup.keys()]) if (n > 0 && keyPartition(id, n) === partition) byGroup.delete(id);
    }
    this.deps.log(
      dropped > 0 ? "info" : "debug",
      `no longer coordinating ${OFFSETS_TOPIC}-${partition} (${dropped} group(s) unloaded)`,
    );
  }

  // ---- configuration

  /** offset.metadata.max.bytes: longest committed-offset metadata (OffsetCommit and TxnOffsetCommit). */
  maxOffsetMetadataBytes(): number {
    return this.num("offset.metadata.max.bytes", 4096);
  }

  private num(name: string, dflt: number): number {
    const v = this.deps.config[name];
    if (v === undefined || v === null || v === "") return dflt;
    const n = Number(v);
    return Number.isFinite(n) ? n : dflt;
  }

  get minSessionTimeoutMs() {
    return this.num("group.min.session.timeout.ms", 6000);
  }
  get maxSessionTimeoutMs() {
    return this.num("group.max.session.timeout.ms", 1800000);
  }
  private get retentionMs() {
    return this.num("offsets.retention.minutes", 10080) * 60_000;
  }
  private assignorNames(): string[] {
    const raw = this.deps.config["group.consumer.assignors"];
    const list = (Array.isArray(raw) ? raw.map(String) : String(raw ?? "uniform,range").split(","))
      .map((s) => s.trim()).filter((s) => ASSIGNORS.has(s));
    return list.length ? list : ["uniform", "range"];
  }

  // ---- lifecycle

  private started = false;

  /** __consumer_offsets, created when missing: at start, and again after a DeleteTopics removed it (as Kafka recreates it). */
  private async offsetsTopic() {
    const { topic, created } = await this.deps.topics.ensureInternal(
      OFFSETS_TOPIC,
      offsetsTopicPartitions(this.deps.config),
    );
    if (created && this.started) {
      this.deps.log(
        "warn",
        `${OFFSETS_TOPIC} was deleted; created it again (committed offsets and group state written before are gone)`,
      );
    }
    return topic;
  }

  /** Creates __consumer_offsets if needed and rebuilds groups and offsets from it. */
  async start(): Promise<void> {
    const topic = await this.offsetsTopic();
    this.started = true;
    let records = 0;
    for (const log of topic.partitions) {
      const replayed = await this.replay(log, this.groups);
      records += replayed.records;
      this.keepPending(replayed.pending);
    }
    for (const g of this.groups.values()) g.startSessions();
    if (records > 0) {
      this.deps.log(
        "info",
        `group coordinator loaded ${this.groups.size} group(s) from ${records} record(s) of ${OFFSETS_TOPIC}`,
      );
    }
    this.scheduleCleanup();
  }

  /**
   * Replays one __consumer_offsets partition into `groups`. Offsets in a producer's transactional batches
   * wait for its marker (commit: applied, abort: dropped); those still waiting are returned by producer id.
   */
  private async replay(
    log: PartitionLog,
    groups: Map<string, Group>,
  ): Promise<{ records: number; pending: Map<bigint, DecodedRecord[]> }> {
    let records = 0;
    const pending = new Map<bigint, DecodedRecord[]>();
    await forEachBatch(log, log.logStartOffset, (b) => {
      try {
        const d = decodeRecords(b);
        const live = d.records.filter((r) => r.offset >= BigInt(log.logStartOffset));
        if (d.isControl) {
          const marker = live[0] ? parseControlRecord(live[0].key, live[0].value) : null;
          const held = pending.get(d.producerId) ?? [];
          pending.delete(d.producerId);
          if (marker?.commit) { for (const r of held) this.apply(decodeRecord(r.key, r.value), groups); }
          return;
        }
        records += live.length;
        if (d.isTransactional && d.producerId >= 0n) {
          pending.set(d.producerId, [...(pending.get(d.producerId) ?? []), ...live]);
          return;
        }
        for (const r of live) this.apply(decodeRecord(r.key, r.value), groups);
      } catch (e) {
        // As before: one unreadable batch is reported and skipped, the rest of the partition still loads.
        this.deps.log(
          "error",
          `${OFFSETS_TOPIC}-${log.partition}: skipping an unreadable batch: ${
            e instanceof Error ? e.message : String(e)
          }`,
        );
      }
    });
    return { records, pending };
  }

  /** Transactional offsets replayed without their marker yet: staged until it comes (completeTxnOffsets). */
  private keepPending(pending: Map<bigint, DecodedRecord[]>): void {
    for (const [producerId, held] of pending) {
      for (const r of held) {
        const d = decodeRecord(r.key, r.value);
        if (d.kind !== "offset" || d.value === null) continue;
        this.stagePending(producerId, d.group, [{
          topic: d.topic,
          partition: d.partition,
          offset: d.value.offset,
          leaderEpoch: d.value.leaderEpoch,
          metadata: d.value.metadata,
        }]);
      }
    }
  }

  private apply(r: ReturnType<typeof decodeRecord>, groups: Map<string, Group>) {
    if (r.kind === "offset") {
      let g = groups.get(r.group);
      if (r.value === null) {
        g?.offsets.delete(tpKey(r.topic, r.partition));
        return;
      }
      if (!g) groups.set(r.group, g = this.newClassic(r.group));
      g.offsets.set(tpKey(r.topic, r.partition), r.value);
    } else if (r.kind === "group") {
      const existing = groups.get(r.group);
      if (r.value === null) {
        existing?.shutdown(ErrorCode.COORDINATOR_NOT_AVAILABLE);
        if (existing && existing.offsets.size > 0) {
          const g = this.newClassic(r.group);
          for (const [k, v] of existing.offsets) g.offsets.set(k, v);
          groups.set(r.group, g);
        } else {
          groups.delete(r.group);
        }
        return;
      }
      const g = r.value.type === "classic" ? this.newClassic(r.group) : this.newConsumer(r.group);
      if (existing) { for (const [k, v] of existing.offsets) g.offsets.set(k, v); }
      existing?.shutdown(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      if (g.kind === "classic" && r.value.type === "classic") g.restore(r.value);
      else if (g.kind === "consumer" && r.value.type === "consumer") g.restore(r.value);
      groups.set(r.group, g);
    }
  }

  /** Answers every parked JoinGroup/SyncGroup (NOT_COORDINATOR, as Kafka does on unload) and stops all timers. */
  close() {
    this.shut = true;
    if (this.cleanupTimer !== null) clearTimeout(this.cleanupTimer);
    this.cleanupTimer = null;
    for (const g of this.groups.values()) g.shutdown(ErrorCode.NOT_COORDINATOR);
  }

  // ---- persistence

  /** Appends records for one group; resolves an error code (NONE on success). */
  private async append(
    groupId: string,
    records: RecordInput[],
    txn?: { producerId: bigint; producerEpoch: number },
  ): Promise<number> {
    if (records.length === 0) return ErrorCode.NONE;
    let topic = this.deps.topics.get(OFFSETS_TOPIC);
    if (!topic && this.started) topic = await this.offsetsTopic().catch(() => undefined);
    if (!topic) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const now = this.deps.now();
    for (const r of records) r.timestamp = now;
    // Offsets of a transaction coordinated elsewhere go in a transactional batch of its producer, as Kafka
    // writes them: its marker in this partition later commits or aborts them.
    const batch = txn
      ? buildRecordBatch({ records, ...txn, baseSequence: -1, transactional: true })
      : buildRecordBatch({ records });
    if (batch.length > configNumber(this.deps.config, "message.max.bytes")) return ErrorCode.RECORD_LIST_TOO_LARGE;
    const infos = scanBatches(batch);
    if (isBatchError(infos)) return ErrorCode.UNKNOWN_SERVER_ERROR;
    // The partition of the topic in hand: __consumer_offsets may have just been deleted (and created again above).
    const log = topic.partitions[keyPartition(groupId, topic.partitions.length)];
    try {
      // Acknowledged offsets and group state are as durable as acks=all records (an fsync first,
      // unless chronik.fsync.acks.all=false): a commit must never go backwards after a crash.
      await log.append(batch, infos, { durable: this.deps.config["chronik.fsync.acks.all"] !== false });
      return ErrorCode.NONE;
    } catch (e) {
      // DeleteTopics took __consumer_offsets away under the write (Kafka lets it): not a storage fault.
      const deleted = !this.deps.topics.get(OFFSETS_TOPIC)?.partitions.includes(log);
      const storage = !deleted && (e as { code?: unknown }).code === "KAFKA_STORAGE_ERROR";
      // The storage engine logged the failure itself (once); repeating it per commit would flood.
      if ((e as { reported?: boolean }).reported !== true) {
        this.deps.log(
          deleted ? "warn" : "error",
          `writing to ${OFFSETS_TOPIC} for group ${groupId} failed: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
      // Kafka's coordinator maps a storage error of its log to NOT_COORDINATOR (the client looks the
      // coordinator up again and retries), and a missing partition to COORDINATOR_NOT_AVAILABLE.
      return storage ? ErrorCode.NOT_COORDINATOR : ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }

  /** Stores the group's record; resolves NONE, or the error code of the failed write. */
  private async persistGroup(g: Group): Promise<number> {
    const snapshot: GroupSnapshot = g.snapshot();
    const code = await this.append(g.groupId, [{ key: groupKey(g.groupId), value: groupValue(snapshot) }]);
    if (code !== ErrorCode.NONE) this.deps.log("warn", `group ${g.groupId}: metadata not stored (error ${code})`);
    return code;
  }

  // ---- groups

  private newMemberId(prefix: string): string {
    return `${prefix}-${randomUuid()}`;
  }

  private newClassic(groupId: string): ClassicGroup {
    return new ClassicGroup(groupId, {
      now: this.deps.now,
      initialRebalanceDelayMs: () => this.num("group.initial.rebalance.delay.ms", 3000),
      persist: (g) => this.persistGroup(g),
      maybeForget: (g) => this.maybeForget(g),
      newMemberId: (p) => this.newMemberId(p),
      log: this.deps.log,
    });
  }

  private topicInfos(): TopicInfo[] {
    const out: TopicInfo[] = [];
    for (const t of this.deps.topics.list()) {
      out.push({ id: t.id, name: t.name, partitions: t.partitions.length, internal: t.internal });
    }
    return out;
  }

  private newConsumer(groupId: string): ConsumerGroup {
    return new ConsumerGroup(groupId, {
      now: this.deps.now,
      sessionTimeoutMs: () => this.num("group.consumer.session.timeout.ms", 45000),
      heartbeatIntervalMs: () => this.num("group.consumer.heartbeat.interval.ms", 5000),
      assignors: () => this.assignorNames(),
      assignor: (name) => ASSIGNORS.get(name),
      topics: () => this.topicInfos(),
      topic: (name) => {
        const t = this.deps.topics.get(name);
        return t ? { id: t.id, name: t.name, partitions: t.partitions.length, internal: t.internal } : undefined;
      },
      topicName: (id) => this.deps.topics.byId(id)?.name,
      persist: (g) => this.persistGroup(g),
      maybeForget: (g) => this.maybeForget(g),
      maybeDowngrade: (g) => this.maybeDowngrade(g),
      newMemberId: () => randomUuid(),
      log: this.deps.log,
    });
  }

  /** A group that never held anything worth keeping disappears at once; others wait for the cleanup. */
  private maybeForget(g: Group) {
    if (this.groups.get(g.groupId) !== g || !g.isEmpty() || g.offsets.size > 0) return;
    if (g.kind === "classic" && g.generationId === 0 && g.state === "Empty") this.groups.delete(g.groupId);
  }

  group(groupId: string): Group | undefined {
    return this.groups.get(groupId);
  }

  // ---- classic protocol

  joinGroup(groupId: string, req: JoinRequest): JoinResult | Promise<JoinResult> {
    const fail = (errorCode: number) => joinFailure(errorCode, req.memberId);
    const refused = this.coordinatorError(groupId);
    if (refused !== ErrorCode.NONE) return fail(refused);
    if (groupId === "") return fail(ErrorCode.INVALID_GROUP_ID);
    if (req.groupInstanceId === "") return fail(ErrorCode.INVALID_GROUP_ID);
    if (req.sessionTimeoutMs < this.minSessionTimeoutMs || req.sessionTimeoutMs > this.maxSessionTimeoutMs) {
      return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    if (req.protocolType === "" || req.protocols.length === 0) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    let g = this.groups.get(groupId);
    if (g && g.kind === "consumer") {
      if (!g.isEmpty()) return this.classicJoinToConsumer(g, req);
      g = this.convert(g);
    }
    if (!g) {
      if (req.memberId !== "") return fail(ErrorCode.UNKNOWN_MEMBER_ID);
      g = this.newClassic(groupId);
      this.groups.set(groupId, g);
    }
    const out = g.join(req, this.num("group.max.size", 2147483647));
    if (!(out instanceof Promise) && g.isEmpty()) this.maybeForget(g);
    return out;
  }

  /** Replaces an empty group by one of the other kind, keeping its committed offsets. */
  private convert(g: Group): ClassicGroup;
  private convert(g: Group, toConsumer: true): ConsumerGroup;
  private convert(g: Group, toConsumer = false): Group {
    g.markDead();
    const next = toConsumer ? this.newConsumer(g.groupId) : this.newClassic(g.groupId);
    for (const [k, v] of g.offsets) next.offsets.set(k, v);
    this.groups.set(g.groupId, next);
    this.deps.log("info", `group ${g.groupId}: empty ${g.kind} group becomes a ${next.kind} group`);
    return next;
  }

  syncGroup(
    groupId: string,
    memberId: string,
    groupInstanceId: string | null,
    generationId: number,
    protocolType: string | null,
    protocolName: string | null,
    assignments: { memberId: string; assignment: Uint8Array }[],
  ): SyncResult | Promise<SyncResult> {
    const refused = this.coordinatorError(groupId);
    if (refused !== ErrorCode.NONE) return syncFailure(refused);
    if (groupId === "") return syncFailure(ErrorCode.INVALID_GROUP_ID);
    const g = this.groups.get(groupId);
    if (!g) return syncFailure(ErrorCode.UNKNOWN_MEMBER_ID);
    if (g.kind === "consumer") {
      return g.classicSync(memberId, groupInstanceId, generationId, protocolType, protocolName);
    }
    return g.sync(memberId, groupInstanceId, generationId, protocolType, protocolName, assignments);
  }

  heartbeat(
    groupId: string,
    memberId: string,
    groupInstanceId: string | null,
    generationId: number,
  ): number | Promise<number> {
    const refused = this.coordinatorError(groupId);
    if (refused !== ErrorCode.NONE) return refused;
    if (groupId === "") return ErrorCode.INVALID_GROUP_ID;
    const g = this.groups.get(groupId);
    if (!g) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (g.kind === "consumer") {
      const code = g.classicHeartbeat(memberId, groupInstanceId, generationId);
      if (!g.dirty) return code;
      g.dirty = false;
      return this.persistGroup(g).then(() => code);
    }
    return g.heartbeat(memberId, groupInstanceId, generationId);
  }

  /** LeaveGroup: the top-level error, and one code per member. */
  leaveGroup(
    groupId: string,
    members: { memberId: string; groupInstanceId: string | null }[],
  ): { errorCode: number; members: number[] } {
    const refused = this.coordinatorError(groupId);
    if (refused !== ErrorCode.NONE) return { errorCode: refused, members: [] };
    if (groupId === "") return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    const g = this.groups.get(groupId);
    if (!g) return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, members: [] };
    if (g.kind === "consumer") {
      return {
        errorCode: ErrorCode.NONE,
        members: members.map((m) => g.classicLeave(m.memberId, m.groupInstanceId)),
      };
    }
    return { errorCode: ErrorCode.NONE, members: members.map((m) => g.leave(m.memberId, m.groupInstanceId)) };
  }

  // ---- online migration between the protocols (migration.ts)

  private get migration() {
    return migrationPolicy(this.deps.config["group.consumer.migration.policy"]);
  }

  private get consumerMaxSize() {
    return this.num("group.consumer.max.size", 2147483647);
  }

  /** JoinGroup into a non-empty consumer group: the member speaks the classic protocol inside it. */
  private async classicJoinToConsumer(g: ConsumerGroup, req: JoinRequest): Promise<JoinResult> {
    const fail = (errorCode: number) => joinFailure(errorCode, req.memberId);
    if (req.protocolType !== "consumer") return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const subscription = subscriptionOf(req.protocols);
    if (!subscription) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const out = g.classicJoin({ ...req, subscription, maxSize: this.consumerMaxSize });
    if (g.dirty && this.groups.get(g.groupId) === g) {
      g.dirty = false;
      await this.persistGroup(g);
    }
    return out;
  }

  /**
   * Upgrade: a classic group whose protocol type is "consumer" becomes a consumer group with its
   * members as classic members. Answers requests parked in the classic group with
   * REBALANCE_IN_PROGRESS, as Kafka does; null when the policy or the group does not allow it.
   */
  private upgrade(g: ClassicGroup): ConsumerGroup | null {
    if (!upgradeAllowed(this.migration) || g.protocolType !== "consumer" || g.members.size >= this.consumerMaxSize) {
      return null;
    }
    const stable = g.state === "Stable";
    const members = [];
    for (const m of g.members.values()) {
      const protocols = m.protocols.length > 0
        ? m.protocols
        : [{ name: g.protocolName ?? "range", metadata: m.metadataFor(g.protocolName) }];
      const subscription = subscriptionOf(protocols);
      if (!subscription) return null;
      members.push({
        snapshot: {
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          rebalanceTimeoutMs: m.rebalanceTimeoutMs,
          sessionTimeoutMs: m.sessionTimeoutMs,
          metadata: m.metadataFor(g.protocolName),
          assignment: m.assignment,
        },
        protocols,
        subscription,
        assigned: stable ? decodeAssignment(m.assignment) : [],
      });
    }
    g.shutdown(ErrorCode.REBALANCE_IN_PROGRESS);
    g.markDead();
    const next = this.newConsumer(g.groupId);
    for (const [k, v] of g.offsets) next.offsets.set(k, v);
    next.adoptClassicMembers(g.generationId, members);
    this.groups.set(g.groupId, next);
    this.deps.log(
      "info",
      `group ${g.groupId}: classic group with ${members.length} member(s) upgraded to a consumer group at epoch ${g.generationId}`,
    );
    return next;
  }

  /** Downgrade: the last member using the consumer protocol is gone and only classic members remain. */
  private maybeDowngrade(g: ConsumerGroup) {
    if (this.groups.get(g.groupId) !== g || !g.onlyClassicMembers() || !downgradeAllowed(this.migration)) return;
    if (g.members.size > this.num("group.max.size", 2147483647)) return;
    const protocolName = g.commonClassicProtocol();
    if (protocolName === null) return;
    const members = [...g.members.values()];
    const classic = this.newClassic(g.groupId);
    classic.restore({
      type: "classic",
      protocolType: "consumer",
      generationId: g.groupEpoch,
      protocolName,
      leaderId: members[0].memberId,
      stateTimestamp: this.deps.now(),
      members: members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.instanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.classic!.sessionTimeoutMs,
        metadata: m.classic!.protocols.find((p) => p.name === protocolName)!.metadata,
        assignment: encodeAssignment(g.namedAssignment(m), m.classic!.subscriptionVersion),
      })),
    });
    for (const [k, v] of g.offsets) classic.offsets.set(k, v);
    g.markDead();
    this.groups.set(g.groupId, classic);
    classic.startSessions();
    this.deps.log(
      "info",
      `group ${g.groupId}: consumer group with ${members.length} classic member(s) downgraded to a classic group at generation ${g.groupEpoch}`,
    );
    void this.persistGroup(classic);
    classic.prepareRebalance("downgraded from a consumer group");
  }

  // ---- KIP-848 consumer protocol

  /**
   * `apiVersion` 1+ (KIP-1082): the member generates its id and sends it from the first
   * heartbeat on, so an empty member id is INVALID_REQUEST at every epoch.
   */
  async consumerGroupHeartbeat(groupId: string, req: HeartbeatRequest, apiVersion = 0): Promise<HeartbeatResult> {
    const fail = (errorCode: number, errorMessage: string): HeartbeatResult => ({
      errorCode,
      errorMessage,
      memberId: req.memberId || null,
      memberEpoch: req.memberEpoch,
      heartbeatIntervalMs: 0,
      assignment: null,
    });
    const refused = this.coordinatorError(groupId);
    if (refused !== ErrorCode.NONE) {
      return fail(
        refused,
        this.shut
          ? "The coordinator is shutting down."
          : refused === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
          ? "The coordinator is loading."
          : "This broker does not coordinate the group.",
      );
    }
    if (groupId === "") return fail(ErrorCode.INVALID_REQUEST, "GroupId can't be empty.");
    if (req.instanceId === "") return fail(ErrorCode.INVALID_REQUEST, "InstanceId can't be empty.");
    if (req.rackId === "") return fail(ErrorCode.INVALID_REQUEST, "RackId can't be empty.");
    if (req.memberId === "" && (apiVersion >= 1 || req.memberEpoch !== 0)) {
      return fail(ErrorCode.INVALID_REQUEST, "MemberId can't be empty.");
    }
    if (req.memberEpoch < -2) return fail(ErrorCode.INVALID_REQUEST, "MemberEpoch is invalid.");
    if (req.memberEpoch === 0) {
      if (req.rebalanceTimeoutMs === -1) {
        return fail(ErrorCode.INVALID_REQUEST, "RebalanceTimeoutMs must be provided in first request.");
      }
      if (req.topicPartitions === null || req.topicPartitions.length > 0) {
        return fail(ErrorCode.INVALID_REQUEST, "TopicPartitions must be empty when (re-)joining.");
      }
      if (req.subscribedTopicNames === null && req.subscribedTopicRegex === null) {
        return fail(
          ErrorCode.INVALID_REQUEST,
          "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.",
        );
      }
    }
    if (req.memberEpoch === -2 && req.instanceId === null) {
      return fail(ErrorCode.INVALID_REQUEST, "InstanceId can't be null.");
    }
    if (req.serverAssignor !== null && !this.assignorNames().includes(req.serverAssignor)) {
      return fail(
        ErrorCode.UNSUPPORTED_ASSIGNOR,
        `ServerAssignor ${req.serverAssignor} is not supported. Supported assignors: ${
          this.assignorNames().join(", ")
        }.`,
      );
    }
    if (
      req.subscribedTopicRegex !== null && req.subscribedTopicRegex !== "" &&
      compileRegex(req.subscribedTopicRegex) === null
    ) {
      return fail(
        ErrorCode.INVALID_REGULAR_EXPRESSION,
        `SubscribedTopicRegex \`${req.subscribedTopicRegex}\` is not a valid regular expression.`,
      );
    }
    let g = this.groups.get(groupId);
    if (g && g.kind === "classic") {
      if (!g.isEmpty() || g.state !== "Empty") {
        const upgraded = req.memberEpoch === 0 ? this.upgrade(g) : null;
        if (!upgraded) return fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a consumer group.`);
        g = upgraded;
      } else {
        g = this.convert(g, true);
      }
    }
    if (!g) {
      if (req.memberEpoch !== 0) {
        return fail(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${req.memberId} is not a member of group ${groupId}.`);
      }
      g = this.newConsumer(groupId);
      this.groups.set(groupId, g);
    }
    const max = this.consumerMaxSize;
    if (
      req.memberEpoch === 0 && !g.members.has(req.memberId) && g.members.size >= max &&
      !(req.instanceId !== null && g.staticMembers.has(req.instanceId))
    ) {
      return fail(
        ErrorCode.GROUP_MAX_SIZE_REACHED,
        `The consumer group has reached its maximum capacity of ${max} members.`,
      );
    }
    const out = g.heartbeat(req);
    if (g.dirty && this.groups.get(groupId) === g) {
      g.dirty = false;
      await this.persistGroup(g);
    }
    if (g.isEmpty()) this.maybeForget(g);
    return out;
  }

  // ---- offsets

  private validateCommit(
    g: Group | undefined,
    generation: number,
    memberId: string,
    groupInstanceId: string | null,
  ): number {
    if (!g) return generation < 0 ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION;
    if (g.kind === "consumer") {
      if (generation < 0 && g.members.size === 0) return ErrorCode.NONE;
      const m = g.members.get(memberId);
      if (!m) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (m.classic) {
        // A classic member commits with its generation: Kafka's classic errors.
        if (groupInstanceId !== null && m.instanceId !== groupInstanceId) return ErrorCode.FENCED_INSTANCE_ID;
        return generation === m.memberEpoch ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION;
      }
      if (generation !== m.memberEpoch) return ErrorCode.STALE_MEMBER_EPOCH;
      return ErrorCode.NONE;
    }
    if (g.state === "Dead") return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (generation < 0 && g.state === "Empty") return ErrorCode.NONE;
    if (generation >= 0 || memberId !== "" || groupInstanceId !== null) {
      const invalid = g.validateMember(memberId, groupInstanceId);
      if (invalid !== ErrorCode.NONE) return invalid;
      if (generation !== g.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (g.state !== "Empty") {
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    if (g.state === "CompletingRebalance") return ErrorCode.REBALANCE_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  async commitOffsets(req: OffsetCommitInput): Promise<OffsetCommitOutput> {
    const all = (code: number): OffsetCommitOutput =>
      req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code })),
      }));
    const refused = this.coordinatorError(req.groupId);
    if (refused !== ErrorCode.NONE) return all(refused);
    if (req.groupId === "") return all(ErrorCode.INVALID_GROUP_ID);
    let g = this.groups.get(req.groupId);
    const invalid = this.validateCommit(g, req.generationIdOrMemberEpoch, req.memberId, req.groupInstanceId);
    if (invalid !== ErrorCode.NONE) return all(invalid);
    const maxMetadata = this.maxOffsetMetadataBytes();
    const now = this.deps.now();
    const expire = req.retentionTimeMs >= 0n ? now + Number(req.retentionTimeMs) : -1;
    const out: OffsetCommitOutput = [];
    const records: RecordInput[] = [];
    const pending: [string, CommittedOffset, { errorCode: number }][] = [];
    for (const t of req.topics) {
      const topic = this.deps.topics.get(t.name);
      const parts = [];
      for (const p of t.partitions) {
        const res: { partitionIndex: number; errorCode: number } = {
          partitionIndex: p.partitionIndex,
          errorCode: ErrorCode.NONE,
        };
        parts.push(res);
        if (!topic || p.partitionIndex < 0 || p.partitionIndex >= topic.partitions.length) {
          res.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        } else if (metadataTooLarge(p.committedMetadata, maxMetadata)) {
          res.errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
        } else {
          const value: CommittedOffset = {
            offset: p.committedOffset,
            leaderEpoch: p.committedLeaderEpoch,
            metadata: p.committedMetadata ?? "",
            commitTimestamp: now,
            expireTimestamp: expire,
          };
          records.push({ key: offsetKey(req.groupId, t.name, p.partitionIndex), value: offsetValue(value) });
          pending.push([tpKey(t.name, p.partitionIndex), value, res]);
        }
      }
      out.push({ name: t.name, partitions: parts });
    }
    if (records.length === 0) return out;
    if (!g) {
      g = this.newClassic(req.groupId);
      this.groups.set(req.groupId, g);
    }
    const code = await this.append(req.groupId, records);
    if (code !== ErrorCode.NONE) {
      const mapped = code === ErrorCode.RECORD_LIST_TOO_LARGE ? ErrorCode.INVALID_COMMIT_OFFSET_SIZE : code;
      for (const [, , res] of pending) res.errorCode = mapped;
      return out;
    }
    // Unloaded meanwhile (cluster): the offsets are stored; whoever loads the partition sees them.
    if (this.coordinatorError(req.groupId) !== ErrorCode.NONE) return out;
    const current = this.groups.get(req.groupId) ?? g;
    if (!this.groups.has(req.groupId)) this.groups.set(req.groupId, current);
    for (const [k, v] of pending) current.offsets.set(k, v);
    return out;
  }

  /**
   * Cluster: offsets staged by TxnOffsetCommit for a transaction another broker coordinates, by producer
   * id then group. Stored first in a transactional batch of the producer in the group's __consumer_offsets
   * partition (so the next coordinator of that partition finds them); the transaction's marker for the
   * partition, written there by completeTxnOffsets, commits or aborts them, as in Kafka.
   */
  private readonly pendingTxn = new Map<bigint, Map<string, PendingTxnOffset[]>>();

  private stagePending(producerId: bigint, groupId: string, offsets: PendingTxnOffset[]): void {
    let byGroup = this.pendingTxn.get(producerId);
    if (!byGroup) this.pendingTxn.set(producerId, byGroup = new Map());
    const staged = [...(byGroup.get(groupId) ?? [])];
    for (const o of offsets) {
      const i = staged.findIndex((x) => x.topic === o.topic && x.partition === o.partition);
      if (i >= 0) staged[i] = o;
      else staged.push(o);
    }
    byGroup.set(groupId, staged);
  }

  /** Cluster: TxnOffsetCommit here for a transaction coordinated elsewhere; an error code. */
  async stageTxnOffsets(
    groupId: string,
    producerId: bigint,
    producerEpoch: number,
    offsets: PendingTxnOffset[],
  ): Promise<number> {
    const refused = this.coordinatorError(groupId);
    if (refused !== ErrorCode.NONE) return refused;
    if (offsets.length === 0) return ErrorCode.NONE;
    const now = this.deps.now();
    const code = await this.append(
      groupId,
      offsets.map((o) => ({
        key: offsetKey(groupId, o.topic, o.partition),
        value: offsetValue({
          offset: o.offset,
          leaderEpoch: o.leaderEpoch,
          metadata: o.metadata ?? "",
          commitTimestamp: now,
          expireTimestamp: -1,
        }),
      })),
      { producerId, producerEpoch },
    );
    if (code !== ErrorCode.NONE) return code;
    if (this.coordinatorError(groupId) === ErrorCode.NONE) this.stagePending(producerId, groupId, offsets);
    return ErrorCode.NONE;
  }

  /**
   * Cluster: the transaction marker for __consumer_offsets-`partition`: written there, then the offsets
   * `producerId` staged for groups of that partition become committed (commit) or are dropped. An error
   * code (the coordinator retries); TRANSACTION_COORDINATOR_FENCED when a newer transaction coordinator
   * (higher `coordinatorEpoch`) already wrote a marker for the producer there.
   */
  async completeTxnOffsets(
    producerId: bigint,
    producerEpoch: number,
    commit: boolean,
    partition: number,
    coordinatorEpoch = 0,
  ): Promise<number> {
    const n = this.deps.topics.get(OFFSETS_TOPIC)?.partitions.length;
    const o = n ? this.owned?.get(partition) : undefined;
    if (this.owned && !o) return ErrorCode.NOT_COORDINATOR;
    if (o && !o.loaded) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    const byGroup = this.pendingTxn.get(producerId);
    const mine = byGroup && n ? [...byGroup].filter(([g]) => keyPartition(g, n) === partition) : [];
    const log = n ? this.deps.topics.get(OFFSETS_TOPIC)?.partitions[partition] : undefined;
    if (!log) return ErrorCode.NOT_COORDINATOR; // __consumer_offsets deleted meanwhile
    const state = producerStateOf(log);
    if (state.coordinatorEpochOf(producerId) > coordinatorEpoch) return ErrorCode.TRANSACTION_COORDINATOR_FENCED;
    if (mine.length === 0) return ErrorCode.NONE; // nothing staged here (or settled by an earlier marker)
    const marker = buildControlBatch({ producerId, producerEpoch, commit, coordinatorEpoch });
    const infos = scanBatches(marker);
    if (isBatchError(infos)) return ErrorCode.UNKNOWN_SERVER_ERROR;
    try {
      const r = await log.append(marker, infos, { durable: this.deps.config["chronik.fsync.acks.all"] !== false });
      state.recordMarker(producerId, producerEpoch, commit, r.baseOffset, coordinatorEpoch);
    } catch (e) {
      this.deps.log(
        "warn",
        `transaction marker in ${OFFSETS_TOPIC}-${partition} failed: ${e instanceof Error ? e.message : String(e)}`,
      );
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    for (const [groupId, offsets] of mine) {
      byGroup!.delete(groupId);
      if (commit) this.applyTxnOffsets(groupId, offsets, this.deps.now());
    }
    if (byGroup!.size === 0) this.pendingTxn.delete(producerId);
    return ErrorCode.NONE;
  }

  /** Committed transactional offsets become the group's (in memory; the log has them with their marker). */
  private applyTxnOffsets(groupId: string, offsets: PendingTxnOffset[], now: number, groups = this.groups): void {
    let g = groups.get(groupId);
    if (!g) groups.set(groupId, g = this.newClassic(groupId));
    for (const o of offsets) {
      g.offsets.set(tpKey(o.topic, o.partition), {
        offset: o.offset,
        leaderEpoch: o.leaderEpoch,
        metadata: o.metadata ?? "",
        commitTimestamp: now,
        expireTimestamp: -1,
      });
    }
  }

  /** Cluster: whether a transaction coordinated elsewhere staged an offset for this group's partition. */
  hasPendingTxnOffset(groupId: string, topic: string, partition: number): boolean {
    for (const byGroup of this.pendingTxn.values()) {
      if (byGroup.get(groupId)?.some((o) => o.topic === topic && o.partition === partition)) return true;
    }
    return false;
  }

  /** Offsets of a committed transaction (TxnOffsetCommit + EndTxn) become the group's committed offsets. */
  async commitTxnOffsets(
    groupId: string,
    offsets: { topic: string; partition: number; offset: bigint; leaderEpoch: number; metadata: string | null }[],
  ): Promise<boolean> {
    if (offsets.length === 0) return true;
    const now = this.deps.now();
    const values = offsets.map((o) => ({
      o,
      v: {
        offset: o.offset,
        leaderEpoch: o.leaderEpoch,
        metadata: o.metadata ?? "",
        commitTimestamp: now,
        expireTimestamp: -1,
      } as CommittedOffset,
    }));
    const code = await this.append(
      groupId,
      values.map(({ o, v }) => ({ key: offsetKey(groupId, o.topic, o.partition), value: offsetValue(v) })),
    );
    if (code !== ErrorCode.NONE) return false;
    let g = this.groups.get(groupId);
    if (!g) this.groups.set(groupId, g = this.newClassic(groupId));
    for (const { o, v } of values) g.offsets.set(tpKey(o.topic, o.partition), v);
    return true;
  }

  /**
   * Committed offsets of a group: the named partitions (unknown ones as offset -1), or all when
   * `topics` is null. `member` (OffsetFetch v9) is checked against consumer groups.
   */
  fetchOffsets(
    groupId: string,
    topics: { name: string; partitionIndexes: number[] }[] | null,
    member: { memberId: string | null; memberEpoch: number } | null,
  ): OffsetFetchOutput {
    const refused = this.coordinatorError(groupId);
    if (refused !== ErrorCode.NONE) return { errorCode: refused, topics: [] };
    if (groupId === "") return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] };
    const g = this.groups.get(groupId);
    if (member && member.memberId !== null && g?.kind === "consumer") {
      const m = g.members.get(member.memberId);
      if (!m) return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, topics: [] };
      if (member.memberEpoch !== m.memberEpoch) return { errorCode: ErrorCode.STALE_MEMBER_EPOCH, topics: [] };
    }
    const none = (partitionIndex: number): FetchedPartition => ({
      partitionIndex,
      committedOffset: -1n,
      committedLeaderEpoch: -1,
      metadata: "",
      errorCode: ErrorCode.NONE,
    });
    const found = (partitionIndex: number, o: CommittedOffset): FetchedPartition => ({
      partitionIndex,
      committedOffset: o.offset,
      committedLeaderEpoch: o.leaderEpoch,
      metadata: o.metadata,
      errorCode: ErrorCode.NONE,
    });
    if (topics === null) {
      const byTopic = new Map<string, FetchedPartition[]>();
      for (const [k, o] of g?.offsets ?? []) {
        const [topic, partition] = splitKey(k);
        let l = byTopic.get(topic);
        if (!l) byTopic.set(topic, l = []);
        l.push(found(partition, o));
      }
      return {
        errorCode: ErrorCode.NONE,
        topics: [...byTopic].map(([name, partitions]) => ({
          name,
          partitions: partitions.sort((a, b) => a.partitionIndex - b.partitionIndex),
        })),
      };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => {
          const o = g?.offsets.get(tpKey(t.name, p));
          return o ? found(p, o) : none(p);
        }),
      })),
    };
  }

  /** OffsetDelete: the group-level error and per-partition codes. */
  async deleteOffsets(
    groupId: string,
    topics: { name: string; partitions: { partitionIndex: number }[] }[],
  ): Promise<
    { errorCode: number; topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[] }
  > {
    const refused = this.coordinatorError(groupId);
    if (refused !== ErrorCode.NONE) return { errorCode: refused, topics: [] };
    if (groupId === "") return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] };
    const g = this.groups.get(groupId);
    if (!g || (g.kind === "classic" && g.state === "Dead")) {
      return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    }
    let subscribed: (topic: string) => boolean = () => false;
    if (g.kind === "classic" && !g.isEmpty() && g.members.size > 0) {
      if (g.protocolType !== "consumer") return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };
      const topicsOf = classicSubscriptions(g);
      subscribed = (t) => topicsOf.has(t);
    } else if (g.kind === "consumer") {
      subscribed = (t) => g.isSubscribedTo(t);
    }
    const records: RecordInput[] = [];
    const keys: string[] = [];
    const out = topics.map((t) => {
      const topic = this.deps.topics.get(t.name);
      const isSubscribed = subscribed(t.name);
      return {
        name: t.name,
        partitions: t.partitions.map(({ partitionIndex }) => {
          let errorCode: number = ErrorCode.NONE;
          if (!topic || partitionIndex < 0 || partitionIndex >= topic.partitions.length) {
            errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          } else if (isSubscribed) errorCode = ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC;
          else if (g.offsets.has(tpKey(t.name, partitionIndex))) {
            records.push({ key: offsetKey(groupId, t.name, partitionIndex), value: null });
            keys.push(tpKey(t.name, partitionIndex));
          }
          return { partitionIndex, errorCode };
        }),
      };
    });
    const code = await this.append(groupId, records);
    if (code !== ErrorCode.NONE) return { errorCode: code, topics: [] };
    for (const k of keys) g.offsets.delete(k);
    return { errorCode: ErrorCode.NONE, topics: out };
  }

  /** A topic was deleted: its committed offsets go from every group, as Kafka does. */
  async onTopicDeleted(topic: string): Promise<void> {
    const prefix = tpKey(topic, 0).slice(0, -1);
    for (const g of this.groups.values()) {
      const keys = [...g.offsets.keys()].filter((k) => k.startsWith(prefix));
      if (keys.length === 0) continue;
      const records = keys.map((k) => ({
        key: offsetKey(g.groupId, topic, Number(k.slice(prefix.length))),
        value: null,
      }));
      if ((await this.append(g.groupId, records)) === ErrorCode.NONE) { for (const k of keys) g.offsets.delete(k); }
    }
  }

  // ---- admin

  listGroups(
    statesFilter: string[],
    typesFilter: string[],
  ): { groupId: string; protocolType: string; groupState: string; groupType: string }[] {
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((s) => s.toLowerCase()));
    const out = [];
    for (const g of this.groups.values()) {
      const state = g.state;
      if (state === "Dead") continue;
      if (states.size && !states.has(state.toLowerCase())) continue;
      if (types.size && !types.has(g.kind)) continue;
      out.push({
        groupId: g.groupId,
        protocolType: g.kind === "consumer" ? "consumer" : g.protocolType ?? "",
        groupState: state,
        groupType: g.kind,
      });
    }
    return out;
  }

  /** DeleteGroups: one code per group; writes tombstones for the group and its offsets. */
  async deleteGroup(groupId: string): Promise<number> {
    const refused = this.coordinatorError(groupId);
    if (refused !== ErrorCode.NONE) return refused;
    if (groupId === "") return ErrorCode.INVALID_GROUP_ID;
    const g = this.groups.get(groupId);
    if (!g || g.state === "Dead") return ErrorCode.GROUP_ID_NOT_FOUND;
    if (!g.isEmpty() || (g.kind === "classic" && g.state !== "Empty")) return ErrorCode.NON_EMPTY_GROUP;
    const records: RecordInput[] = [];
    for (const k of g.offsets.keys()) {
      const [topic, partition] = splitKey(k);
      records.push({ key: offsetKey(groupId, topic, partition), value: null });
    }
    records.push({ key: groupKey(groupId), value: null });
    const code = await this.append(groupId, records);
    if (code !== ErrorCode.NONE) return code;
    if (this.groups.get(groupId) === g) {
      g.markDead();
      this.groups.delete(groupId);
    }
    return ErrorCode.NONE;
  }

  // ---- offset expiry and group cleanup (Kafka's offsets.retention.*)

  private scheduleCleanup() {
    if (this.shut) return;
    const every = this.num("offsets.retention.check.interval.ms", 600000);
    this.cleanupTimer = setTimeout(() => {
      this.cleanupTimer = null;
      this.cleanup().finally(() => this.scheduleCleanup());
    }, every);
  }

  /**
   * Expires offsets (KIP-211: a group's offsets expire offsets.retention.minutes after it became
   * Empty; offsets committed without group management, after their commit; an explicit
   * retentionTimeMs wins) and deletes Empty groups that have none left.
   */
  async cleanup(): Promise<{ offsetsExpired: number; groupsDeleted: number }> {
    const now = this.deps.now();
    const retention = this.retentionMs;
    let offsetsExpired = 0;
    let groupsDeleted = 0;
    for (const g of [...this.groups.values()]) {
      if (!g.isEmpty()) continue;
      if (g.kind === "classic" && g.state !== "Empty") continue;
      const managed = g.kind === "consumer" || g.protocolType !== null;
      const records: RecordInput[] = [];
      const expired: string[] = [];
      for (const [k, o] of g.offsets) {
        const gone = o.expireTimestamp >= 0
          ? now >= o.expireTimestamp
          : now >= (managed ? Math.max(g.stateTimestamp, o.commitTimestamp) : o.commitTimestamp) + retention;
        if (!gone) continue;
        const [topic, partition] = splitKey(k);
        records.push({ key: offsetKey(g.groupId, topic, partition), value: null });
        expired.push(k);
      }
      const deleteGroup = expired.length === g.offsets.size;
      if (deleteGroup) records.push({ key: groupKey(g.groupId), value: null });
      if ((await this.append(g.groupId, records)) !== ErrorCode.NONE) continue;
      for (const k of expired) g.offsets.delete(k);
      offsetsExpired += expired.length;
      if (deleteGroup && this.groups.get(g.groupId) === g && g.isEmpty() && g.offsets.size === 0) {
        g.markDead();
        this.groups.delete(g.groupId);
        groupsDeleted++;
      }
    }
    if (offsetsExpired || groupsDeleted) {
      this.deps.log("info", `group cleanup: ${offsetsExpired} offset(s) expired, ${groupsDeleted} group(s) deleted`);
    }
    return { offsetsExpired, groupsDeleted };
  }
}

/** Topics the members of a classic "consumer" group subscribe to, from their protocol metadata. */
export function classicSubscriptions(g: ClassicGroup): Set<string> {
  const out = new Set<string>();
  for (const m of g.members.values()) {
    const md = m.metadataFor(g.protocolName);
    try {
      for (const t of decodeVersionedData(ConsumerProtocolSubscriptionSchema, md).value.topics) out.add(t);
    } catch {
      // Unreadable metadata: the member subscribes to nothing we can name.
    }
  }
  return out;
}

/** Kafka's clientHost form: "/" and the peer address, without the port. */
export function clientHostOf(remote: string): string {
  const i = remote.lastIndexOf(":");
  return `/${i > 0 ? remote.slice(0, i) : remote}`;
}
