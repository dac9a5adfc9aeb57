// Share groups (KIP-932, "queues"): membership, assignment, share sessions, and the share-partitions
// whose records members acquire and acknowledge one by one (partition.ts).
//
// Membership (ShareGroupHeartbeat v1): the member generates its id; epoch 0 joins, -1 leaves; a
// member silent for group.share.session.timeout.ms is removed. Every change of membership or
// subscriptions bumps the group epoch and reassigns at once (group.ts: the "simple" assignor).
//
// Share sessions (ShareFetch/ShareAcknowledge, sessions.ts): epoch 0 opens one (replacing the member's
// previous session, whose acquired records are released), -1 closes it and releases what the member
// still holds; so does the drop of the connection that carried the session's last request
// (connectionClosed). Records are locked for group.share.record.lock.duration.ms (or the group's
// share.record.lock.duration.ms). Acquisitions on one share-partition run one at a time (acquire.ts);
// released records wake waiting ShareFetches (onAvailable).
//
// Persistence: the SPSO and in-flight delivery states of each share-partition, the group's
// existence and its configs are records in the compacted internal topic __share_group_state (as
// Kafka's share coordinator keeps them), written through the storage contract before an
// acknowledgement is answered; start() replays them. A share-partition's state is a snapshot
// followed by deltas, a new snapshot every share.coordinator.snapshot.update.records.per.snapshot
// deltas (state_log.ts).
//
// In a cluster (deps.cluster): the group coordinator (the leader of the group's __consumer_offsets
// partition; handlers answer NOT_COORDINATOR elsewhere) keeps membership and assignment; members are
// stored (m records of __share_group_state) and loaded by the group's next coordinator when it gains
// the partition (loadMembers), at the group's epoch, the assignment recomputed (the assignor is
// deterministic); a broker that stops coordinating drops them. Group epochs and configs are stored, and
// every broker catches up on them each second. Each
// share-partition's state is kept by the leader of its partition (NOT_LEADER_OR_FOLLOWER elsewhere),
// which loads it from __share_group_state when it first serves the partition at a leader epoch
// (what another broker stored before it; records that broker had only acquired are available again)
// and claims it there at that epoch in the same step (ownership.ts); it drops it when it no longer leads,
// or when a later leader's claim is seen (checked after each acquisition and by each state write:
// fenced). A share session is opened by the partition leaders without asking the coordinator whether
// the member is in the group (as Kafka's SharePartitionManager).
//
// Broker configs (Kafka 4.1 names and defaults, read from the one table in config/broker_configs.ts):
// group.share.heartbeat.interval.ms (5000), group.share.session.timeout.ms (45000), group.share.record.lock.duration.ms (30000),
// group.share.delivery.count.limit (5), group.share.partition.max.record.locks (2000),
// group.share.max.size (200), group.share.max.share.sessions (2000). Group configs (group_configs.ts):
// share.auto.offset.reset (latest | earliest), share.record.lock.duration.ms, share.session.timeout.ms,
// share.heartbeat.interval.ms, share.isolation.level (read_uncommitted | read_committed), and Kafka 4.2's
// share.delivery.count.limit and share.partition.max.record.locks.
import type { BrokerConfig } from "../../config.ts";
import { configNumber } from "../../config.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { LogLevel } from "../../runtime.ts";
import { turn } from "../../runtime/turn.ts";
import type { PartitionLog } from "../../storage/store.ts";
import type { Cluster } from "../cluster.ts";
import { keyPartition } from "../cluster.ts";
import type { Topics } from "../topics.ts";
import type { AcquiredRange, ShareLimits, SharePartitionSnapshot } from "./partition.ts";
import { SharePartition } from "./partition.ts";
import type { Acquisition } from "./acquire.ts";
import { acquireRecords } from "./acquire.ts";
import type { StateRecord, StoredMember } from "./state_log.ts";
import type { Member } from "./group.ts";
import { assign, GROUP_CONFIG_DEFAULTS, ShareGroup } from "./group.ts";
import type { Session } from "./sessions.ts";
import { ShareSessions } from "./sessions.ts";
import { Ownership } from "./ownership.ts";
import { SHARE_STATE_TOPIC, ShareStateLog } from "./state_log.ts";

export { SHARE_STATE_TOPIC };

export type HeartbeatInput = {
  memberId: string;
  memberEpoch: number;
  rackId: string | null;
  subscribedTopicNames: string[] | null;
  clientId: string;
  clientHost: string;
};

export type HeartbeatOutput = {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  assignment: { topicPartitions: { topicId: string; partitions: number[] }[] } | null;
};

/** A ShareGroupHeartbeat answer that failed. */
export function heartbeatFailure(errorCode: number, errorMessage: string): HeartbeatOutput {
  return { errorCode, errorMessage, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
}

export type ShareFetchPartitionResult = {
  topicId: string;
  partition: number;
  errorCode: number;
  records: Uint8Array[];
  acquired: AcquiredRange[];
};

export type CoordinatorDeps = {
  config: BrokerConfig;
  topics: Topics;
  now(): number;
  log(level: LogLevel, message: string): void;
  /** In a cluster of brokers: share-partitions are served by their partition's leader only. */
  cluster?: Cluster;
  /** In a cluster: whether this broker coordinates the group now (leads its __consumer_offsets partition). */
  coordinates?: (groupId: string) => boolean;
};

const pkey = (topicId: string, partition: number) => `${topicId}\u0000${partition}`;

export class ShareCoordinator {
  readonly groups = new Map<string, ShareGroup>();
  /** group -> (topicId \0 partition -> state). */
  private readonly partitions = new Map<string, Map<string, SharePartition>>();
  private readonly sessions = new ShareSessions();
  private readonly deps: CoordinatorDeps;
  private readonly state: ShareStateLog;
  private timer: ReturnType<typeof setInterval> | null = null;
  private ticking = false;
  private readonly availableListeners = new Map<string, Set<() => void>>();
  /** Cluster: the share-partitions this broker holds as their partition's leader. */
  private readonly ownership: Ownership | null;
  /** Cluster: partitions just gained, to take over (gained). */
  private readonly gainedParts: { topic: string; partition: number }[] = [];
  private gainedBatch: Promise<void> = Promise.resolve();
  /** Cluster: __consumer_offsets partitions whose share groups' members are to be loaded, and the load running. */
  private readonly memberParts = new Set<number>();
  private memberLoad: Promise<void> | null = null;

  constructor(deps: CoordinatorDeps) {
    this.deps = deps;
    const own = this.ownership = deps.cluster
      ? new Ownership({
        ...deps,
        cluster: deps.cluster,
        load: (topicId, partition) => this.loadPartition(topicId, partition),
        forget: (topicId, partition) => {
          for (const parts of this.partitions.values()) parts.delete(pkey(topicId, partition));
        },
      })
      : null;
    this.state = new ShareStateLog({
      ...deps,
      shared: own !== null,
      ...(own
        ? {
          leaderEpochOf: (sp: SharePartition) => own.epochOf(sp.topicId, sp.partition),
          onReset: (topicId: string, partition: number, offset: number) => own.onReset(topicId, partition, offset),
        }
        : {}),
    });
    if (own) own.state = this.state;
    this.timer = setInterval(() => {
      // A tick that writes can outlast the interval: never two at once (they would remove a member twice).
      if (this.ticking) return;
      this.ticking = true;
      this.tick().catch((e) => this.deps.log("error", `share coordinator tick failed: ${String(e)}`))
        .finally(() => this.ticking = false);
    }, 1000);
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private num(name: string): number {
    return configNumber(this.deps.config, name);
  }
  /** A group's int config (share.*), else the broker's (group.share.*). */
  private groupNum(g: ShareGroup | undefined, name: string): number {
    const set = Number(g?.configs.get(`share.${name}`));
    return set > 0 ? set : this.num(`group.share.${name}`);
  }
  heartbeatIntervalMs(g: ShareGroup | undefined) {
    return this.groupNum(g, "heartbeat.interval.ms");
  }
  sessionTimeoutMs(g: ShareGroup | undefined) {
    return this.groupNum(g, "session.timeout.ms");
  }
  get maxSize() {
    return this.num("group.share.max.size");
  }
  get maxSessions() {
    return this.num("group.share.max.share.sessions");
  }

  limits(group: ShareGroup | undefined): ShareLimits {
    return {
      lockDurationMs: this.groupNum(group, "record.lock.duration.ms"),
      deliveryCountLimit: this.groupNum(group, "delivery.count.limit"),
      maxInFlight: this.groupNum(group, "partition.max.record.locks"),
    };
  }

  groupConfig(group: ShareGroup | undefined, name: string): string {
    return group?.configs.get(name) ?? GROUP_CONFIG_DEFAULTS[name];
  }

  // ---- persistence (state_log.ts) ---------------------------------------------------------------

  async start(): Promise<void> {
    await this.state.load({
      group: (groupId, v) => {
        if (v === null) {
          this.groups.delete(groupId);
          return;
        }
        const g = this.getOrCreate(groupId);
        g.groupEpoch = v.groupEpoch;
        if (v.configs) g.configs = new Map(Object.entries(v.configs));
      },
      configs: (groupId, v) => this.applyConfigs(groupId, v),
      partition: (groupId, topicId, topic, partition) => {
        const k = pkey(topicId, partition);
        let sp = this.partitions.get(groupId)?.get(k);
        if (!sp && topic !== null) {
          sp = new SharePartition(topicId, topic, partition);
          this.partitionsOf(groupId).set(k, sp);
        }
        return sp;
      },
      partitionGone: (groupId, topicId, partition) => this.partitions.get(groupId)?.delete(pkey(topicId, partition)),
    });
    if (this.groups.size > 0) {
      this.deps.log("info", `share coordinator loaded ${this.groups.size} share group(s) from ${SHARE_STATE_TOPIC}`);
    }
  }

  private groupRecord(g: ShareGroup): StateRecord {
    return this.state.groupRecord(g.groupId, { groupEpoch: g.groupEpoch });
  }

  /** The group's share-partitions, created empty when it has none. */
  private partitionsOf(groupId: string): Map<string, SharePartition> {
    let m = this.partitions.get(groupId);
    if (!m) {
      m = new Map();
      this.partitions.set(groupId, m);
    }
    return m;
  }

  // ---- membership -------------------------------------------------------------------------------

  private getOrCreate(groupId: string): ShareGroup {
    let g = this.groups.get(groupId);
    if (!g) {
      g = new ShareGroup(groupId);
      this.groups.set(groupId, g);
    }
    return g;
  }

  async heartbeat(groupId: string, req: HeartbeatInput): Promise<HeartbeatOutput> {
    if (groupId === "") return heartbeatFailure(ErrorCode.INVALID_REQUEST, "GroupId can't be empty.");
    if (req.memberId === "") return heartbeatFailure(ErrorCode.INVALID_REQUEST, "MemberId can't be empty.");
    const now = this.deps.now();
    let g = this.groups.get(groupId);
    if (req.memberEpoch === -1) {
      const m = g?.members.get(req.memberId);
      if (!g || !m) {
        return heartbeatFailure(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${req.memberId} is not a member of ${groupId}.`);
      }
      // As in Kafka, leaving the group does not end the member's share session: a client may still
      // acknowledge and then close it (librdkafka leaves first); what it holds goes back when the
      // session closes, its connection drops or the locks expire.
      await this.removeMember(g, req.memberId);
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        memberId: req.memberId,
        memberEpoch: -1,
        heartbeatIntervalMs: 0,
        assignment: null,
      };
    }
    if (req.memberEpoch === 0) {
      if (!req.subscribedTopicNames || req.subscribedTopicNames.length === 0) {
        return heartbeatFailure(ErrorCode.INVALID_REQUEST, "SubscribedTopicNames must be set in first request.");
      }
      g = this.getOrCreate(groupId);
      let m = g.members.get(req.memberId);
      if (!m) {
        if (g.members.size >= this.maxSize) {
          return heartbeatFailure(
            ErrorCode.GROUP_MAX_SIZE_REACHED,
            `The share group has reached its maximum capacity of ${this.maxSize} members.`,
          );
        }
        m = {
          memberId: req.memberId,
          memberEpoch: 0,
          rackId: req.rackId,
          clientId: req.clientId,
          clientHost: req.clientHost,
          subscribed: [],
          lastSeen: now,
          assignment: new Map(),
        };
        g.members.set(req.memberId, m);
      }
    } else {
      const m = g?.members.get(req.memberId);
      if (!g || !m) {
        return heartbeatFailure(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${req.memberId} is not a member of ${groupId}.`);
      }
      if (req.memberEpoch !== m.memberEpoch) {
        return heartbeatFailure(
          ErrorCode.FENCED_MEMBER_EPOCH,
          `The share group member has a smaller member epoch (${req.memberEpoch}) than the one known by the group coordinator (${m.memberEpoch}).`,
        );
      }
    }
    const m = g.members.get(req.memberId)!;
    m.lastSeen = now;
    m.clientId = req.clientId;
    m.clientHost = req.clientHost;
    if (req.rackId !== null) m.rackId = req.rackId;
    const subscribed = req.subscribedTopicNames ? [...new Set(req.subscribedTopicNames)].sort() : m.subscribed;
    if (req.memberEpoch === 0 || subscribed.join("\u0000") !== m.subscribed.join("\u0000")) {
      m.subscribed = subscribed;
      await this.rebalance(g, this.memberRecord(g, m));
    }
    // The member was last sent the assignment of its epoch; a (re)join always gets it.
    const send = req.memberEpoch === 0 || m.memberEpoch !== g.groupEpoch;
    m.memberEpoch = g.groupEpoch;
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: m.memberId,
      memberEpoch: m.memberEpoch,
      heartbeatIntervalMs: this.heartbeatIntervalMs(g),
      assignment: send ? { topicPartitions: this.assignmentOf(m) } : null,
    };
  }

  private assignmentOf(m: Member) {
    const out: { topicId: string; partitions: number[] }[] = [];
    for (const [name, parts] of m.assignment) {
      const t = this.deps.topics.get(name);
      if (t && parts.length) out.push({ topicId: t.id, partitions: parts });
    }
    return out;
  }

  /** Cluster: the record that stores a member for the group's next coordinator (none alone). */
  private memberRecord(g: ShareGroup, m: Member): StateRecord[] {
    if (!this.deps.cluster) return [];
    return [this.state.memberRecord(g.groupId, m.memberId, {
      subscribed: m.subscribed,
      rackId: m.rackId,
      clientId: m.clientId,
      clientHost: m.clientHost,
    })];
  }

  /**
   * Cluster: loads the members of the share groups of __consumer_offsets partition `partition` (of
   * `count`), in one read of __share_group_state for all the partitions gained together.
   */
  membersOf(partition: number, count: number): void {
    this.memberParts.add(partition);
    if (this.memberLoad) return;
    this.memberLoad = (async () => {
      await turn(); // the partitions gained in the same beat
      while (this.memberParts.size > 0) {
        const parts = new Set(this.memberParts);
        this.memberParts.clear();
        await this.loadMembers((id) => parts.has(keyPartition(id, count))).catch((e) =>
          this.deps.log("warn", `loading share group members: ${e instanceof Error ? e.message : String(e)}`)
        );
      }
    })().finally(() => {
      this.memberLoad = null;
      if (this.memberParts.size > 0) this.membersOf([...this.memberParts][0], count);
    });
  }

  /**
   * Cluster: this broker came to coordinate the groups `mine` picks (it gained their __consumer_offsets
   * partition): their members as stored, at the group's epoch, with a full session timeout to heartbeat
   * here, and the same assignment (the assignor is deterministic).
   */
  async loadMembers(mine: (groupId: string) => boolean): Promise<void> {
    if (!this.deps.cluster) return;
    const members = new Map<string, Map<string, StoredMember>>();
    const epochs = new Map<string, number>();
    await this.state.loadMembers(mine, {
      member: (groupId, memberId, v) => {
        if (!members.has(groupId)) members.set(groupId, new Map());
        if (v === null) members.get(groupId)!.delete(memberId);
        else members.get(groupId)!.set(memberId, v);
      },
      epoch: (groupId, epoch) => {
        if (epoch === null) {
          epochs.delete(groupId);
          members.delete(groupId);
        } else epochs.set(groupId, epoch);
      },
    });
    const now = this.deps.now();
    let loaded = 0;
    for (const [groupId, ms] of members) {
      const epoch = epochs.get(groupId);
      if (epoch === undefined || ms.size === 0) continue;
      const g = this.getOrCreate(groupId);
      if (g.members.size > 0) continue; // members joined here meanwhile: theirs is the newer view
      g.groupEpoch = Math.max(g.groupEpoch, epoch);
      for (const [memberId, v] of ms) {
        g.members.set(memberId, {
          memberId,
          memberEpoch: g.groupEpoch,
          rackId: v.rackId,
          clientId: v.clientId,
          clientHost: v.clientHost,
          subscribed: v.subscribed,
          lastSeen: now,
          assignment: new Map(),
        });
        loaded++;
      }
      assign(g, this.deps.topics);
    }
    if (loaded > 0) this.deps.log("info", `share groups: ${loaded} member(s) loaded from ${SHARE_STATE_TOPIC}`);
  }

  /** The simple assignor over every member's subscriptions; bumps the group epoch. */
  private async rebalance(g: ShareGroup, records: StateRecord[] = []): Promise<void> {
    assign(g, this.deps.topics);
    g.groupEpoch++;
    await this.state.write([...records, this.groupRecord(g)]);
  }

  /** The member leaves the group (its share sessions stay: they end on their own). */
  private async removeMember(g: ShareGroup, memberId: string): Promise<void> {
    g.members.delete(memberId);
    await this.rebalance(g, this.deps.cluster ? [this.state.memberRecord(g.groupId, memberId, null)] : []);
  }

  /** Members silent past the session timeout leave; expired locks release their records. */
  private async tick(): Promise<void> {
    // (No share group known here: nothing to catch up on, and no statement each second for clusters without them.)
    if (this.deps.cluster && this.groups.size > 0) {
      await this.catchUp().catch((e) =>
        this.deps.log("warn", `reading ${SHARE_STATE_TOPIC}: ${e instanceof Error ? e.message : String(e)}`)
      );
    }
    const now = this.deps.now();
    for (const g of this.groups.values()) {
      if (g.members.size > 0 && this.deps.coordinates && !this.deps.coordinates(g.groupId)) {
        // Another broker coordinates the group now: its members join there again (UNKNOWN_MEMBER_ID).
        this.deps.log(
          "info",
          `share group ${g.groupId}: no longer its coordinator, ${g.members.size} member(s) dropped`,
        );
        g.members.clear();
        continue;
      }
      for (const m of [...g.members.values()]) {
        if (now - m.lastSeen > this.sessionTimeoutMs(g)) {
          this.deps.log("info", `share group ${g.groupId}: member ${m.memberId} timed out`);
          // As in Kafka, where the group coordinator does not tell the share-partition leaders about
          // membership: the member leaves the group, its share session stays (a member only cut off from
          // heartbeating may still acknowledge what it holds); its records go back when their locks expire,
          // when the session closes or when its connection drops (a dead client's usually does).
          await this.removeMember(g, m.memberId);
        }
      }
    }
    const changed: StateRecord[] = [];
    const woken = new Set<string>();
    this.dropUnled();
    for (const [group, parts] of this.partitions) {
      const limits = this.limits(this.groups.get(group));
      for (const sp of parts.values()) {
        if (sp.expireLocks(now, limits)) {
          changed.push(this.state.partitionRecord(group, sp));
          woken.add(group);
        }
      }
    }
    await this.state.write(changed);
    for (const group of woken) this.notifyAvailable(group);
  }

  // ---- sessions, fetch and acknowledge ----------------------------------------------------------

  /** Checks and advances a share session; returns an error code, or the session's partitions. */
  async session(
    groupId: string,
    memberId: string,
    epoch: number,
    add: { topicId: string; partition: number }[],
    forget: { topicId: string; partition: number }[],
    connectionId = -1,
  ): Promise<{ errorCode: number; errorMessage: string | null } | Session> {
    const g = this.groups.get(groupId);
    // A member that left may still acknowledge and close the session it has; a new session needs a member.
    const continuing = epoch !== 0 && this.sessions.get(groupId, memberId) !== undefined;
    // In a cluster the members are known to the group's coordinator only (another broker, maybe).
    if (!continuing && !this.deps.cluster && (!g || !g.members.has(memberId))) {
      return {
        errorCode: ErrorCode.UNKNOWN_MEMBER_ID,
        errorMessage: `Member ${memberId} is not in share group ${groupId}.`,
      };
    }
    const r = this.sessions.advance(groupId, memberId, epoch, add, forget, connectionId, this.maxSessions);
    if ("errorCode" in r) return r;
    // A new session replaces the member's old one: what the old one held goes back (stored) before
    // this request acquires anything.
    if (r.replaced) await this.releaseMember(groupId, memberId);
    return r.session;
  }

  /**
   * A client connection ended: the share sessions it carried end and their members' records go back
   * at once (as Kafka 4.1's ShareSessionCache does on disconnect), not when their locks expire.
   */
  connectionClosed(connectionId: number): void {
    for (const [groupId, memberId] of this.sessions.on(connectionId)) {
      this.deps.log("debug", `share group ${groupId}: ${memberId}'s share session ended with its connection`);
      this.closeSession(groupId, memberId).catch((e) =>
        this.deps.log("error", `share group ${groupId}: releasing ${memberId}'s records failed: ${String(e)}`)
      );
    }
  }

  async closeSession(groupId: string, memberId: string): Promise<void> {
    this.sessions.remove(groupId, memberId);
    await this.releaseMember(groupId, memberId);
  }

  private async releaseMember(groupId: string, memberId: string): Promise<void> {
    this.dropUnled();
    const limits = this.limits(this.groups.get(groupId));
    const changed: StateRecord[] = [];
    for (const sp of this.partitions.get(groupId)?.values() ?? []) {
      if (sp.releaseMember(memberId, limits)) changed.push(this.state.partitionRecord(groupId, sp));
    }
    await this.state.write(changed);
    if (changed.length > 0) this.notifyAvailable(groupId);
  }

  /**
   * Calls `listener` when records of the group may have become available to acquire (released,
   * timed out, their holder gone), until the returned function is called: ShareFetches waiting for
   * records wake then rather than at their maxWaitMs.
   */
  onAvailable(groupId: string, listener: () => void): () => void {
    let set = this.availableListeners.get(groupId);
    if (!set) {
      set = new Set();
      this.availableListeners.set(groupId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.availableListeners.get(groupId) === set) this.availableListeners.delete(groupId);
    };
  }

  private notifyAvailable(groupId: string): void {
    for (const l of [...this.availableListeners.get(groupId) ?? []]) l();
  }

  /**
   * Cluster: this broker just came to lead these partitions (their takeover done). Those with share state
   * stored are taken over at once (loaded and claimed: the former leader is fenced from then on), not at the
   * first ShareFetch here; the partitions gained together share one look at __share_group_state.
   */
  gained(topic: string, partition: number): Promise<void> {
    if (!this.ownership) return Promise.resolve();
    this.gainedParts.push({ topic, partition });
    if (this.gainedParts.length === 1) {
      this.gainedBatch = turn().then(async () => {
        const parts = this.gainedParts.splice(0);
        await this.state.refreshFences();
        for (const p of parts) {
          const log = this.deps.topics.get(p.topic)?.partitions[p.partition];
          const topicId = this.deps.topics.get(p.topic)?.id;
          if (log && topicId && this.state.hasState(topicId, p.partition)) await this.own(log);
        }
      }).catch((e) => this.deps.log("warn", `taking over share state: ${e instanceof Error ? e.message : String(e)}`));
    }
    return this.gainedBatch;
  }

  /** NONE when this broker serves the partition's share-partitions (a cluster: Ownership.own); alone always. */
  private own(log: PartitionLog): Promise<number> {
    return this.ownership ? this.ownership.own(log) : Promise.resolve(ErrorCode.NONE);
  }

  /** Cluster: rebuilds every group's share-partition of one partition from what is stored. */
  private async loadPartition(topicId: string, partition: number): Promise<number> {
    const k = pkey(topicId, partition);
    const fresh = new Map<string, SharePartition>();
    const groups = new Map<string, number | null>();
    const configs = new Map<string, Record<string, string> | null>();
    const through = await this.state.loadPartition(topicId, partition, {
      group: (groupId, v) => {
        groups.set(groupId, v === null ? null : v.groupEpoch);
        if (v === null) configs.delete(groupId);
        else if (v.configs) configs.set(groupId, v.configs);
      },
      configs: (groupId, v) => configs.set(groupId, v),
      partition: (groupId, id, topic, p) => {
        let sp = fresh.get(groupId);
        if (!sp && topic !== null) {
          sp = new SharePartition(id, topic, p);
          fresh.set(groupId, sp);
        }
        return sp;
      },
      partitionGone: (groupId) => fresh.delete(groupId),
    });
    // Groups this broker does not coordinate: their configs as stored (lock duration, offset reset…).
    for (const [groupId, epoch] of groups) {
      if (epoch === null) continue;
      const g = this.getOrCreate(groupId);
      g.groupEpoch = Math.max(g.groupEpoch, epoch);
    }
    for (const [groupId, v] of configs) this.applyConfigs(groupId, v);
    for (const parts of this.partitions.values()) parts.delete(k);
    // The first write at this epoch is a whole snapshot, so what a former leader may still write is superseded.
    for (const [groupId, sp] of fresh) {
      sp.persisted.snapshotId = "";
      this.partitionsOf(groupId).set(k, sp);
    }
    const n = fresh.size;
    if (n > 0) this.deps.log("info", `share state of ${n} group(s) loaded for partition ${topicId}-${partition}`);
    return through;
  }

  private applyConfigs(groupId: string, v: Record<string, string> | null): void {
    if (v !== null) this.getOrCreate(groupId).configs = new Map(Object.entries(v));
    else if (this.groups.has(groupId)) this.groups.get(groupId)!.configs = new Map();
  }

  /**
   * Cluster: the group configs set and the groups deleted through other brokers since the last look
   * (a deleted group's share-partitions are forgotten here too).
   */
  private async catchUp(): Promise<void> {
    await this.state.catchUp({
      configs: (groupId, v) => this.applyConfigs(groupId, v),
      group: (groupId, v) => {
        const g = this.groups.get(groupId);
        if (v !== null) {
          if (g) g.groupEpoch = Math.max(g.groupEpoch, v.groupEpoch);
        } else if (g && g.members.size === 0) {
          this.groups.delete(groupId);
          this.partitions.delete(groupId);
        }
      },
    });
  }

  /** Cluster: forgets the share-partitions of partitions this broker no longer leads (never writes them). */
  private dropUnled(): void {
    const own = this.ownership;
    if (!own) return;
    for (const parts of this.partitions.values()) {
      for (const [k, sp] of parts) {
        if (own.held(sp.topic, sp.topicId, sp.partition)) continue;
        parts.delete(k);
        own.unload(sp.topicId, sp.partition);
      }
    }
  }

  /** The share-partition, initialised per share.auto.offset.reset on first use. */
  private sharePartition(groupId: string, topicId: string, partition: number, log: PartitionLog): SharePartition {
    const parts = this.partitionsOf(groupId);
    let sp = parts.get(pkey(topicId, partition));
    if (!sp) {
      sp = new SharePartition(topicId, log.topic, partition);
      parts.set(pkey(topicId, partition), sp);
    }
    if (!sp.initialized) {
      const reset = this.groupConfig(this.groups.get(groupId), "share.auto.offset.reset");
      sp.reset(reset === "earliest" ? log.logStartOffset : log.logEndOffset);
    }
    sp.followLogStart(log.logStartOffset);
    return sp;
  }

  /** Applies acknowledgements; returns an error code per partition ("topicId:partition"). */
  async acknowledge(
    groupId: string,
    memberId: string,
    topics: {
      topicId: string;
      partitions: {
        partitionIndex: number;
        acknowledgementBatches: { firstOffset: bigint; lastOffset: bigint; acknowledgeTypes: number[] }[];
      }[];
    }[],
  ): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const g = this.groups.get(groupId);
    const limits = this.limits(g);
    const changed: StateRecord[] = [];
    const keys: string[] = [];
    for (const t of topics) {
      for (const p of t.partitions) {
        if (p.acknowledgementBatches.length === 0) continue;
        const k = `${t.topicId}:${p.partitionIndex}`;
        const log = this.deps.topics.byId(t.topicId)?.partitions[p.partitionIndex];
        if (!log) {
          out.set(k, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          continue;
        }
        const led = await this.own(log);
        if (led !== ErrorCode.NONE) {
          out.set(k, led);
          continue;
        }
        const sp = this.partitions.get(groupId)?.get(pkey(t.topicId, p.partitionIndex));
        if (!sp) {
          out.set(k, ErrorCode.INVALID_RECORD_STATE);
          continue;
        }
        let code: number = ErrorCode.NONE;
        for (const b of p.acknowledgementBatches) {
          const err = sp.acknowledge(memberId, Number(b.firstOffset), Number(b.lastOffset), b.acknowledgeTypes, limits);
          if (err) code = ErrorCode[err];
        }
        out.set(k, code);
        changed.push(this.state.partitionRecord(groupId, sp));
        keys.push(k);
      }
    }
    // Acknowledged means stored: answer only after the state is written. Refused because a later leader
    // claimed the partition: NOT_LEADER_OR_FOLLOWER (the client finds the new leader).
    if (!(await this.state.write(changed))) {
      for (const k of keys) {
        const i = k.lastIndexOf(":");
        const fenced = this.ownership !== null && this.ownership.fenced(k.slice(0, i), Number(k.slice(i + 1)));
        out.set(k, fenced ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.COORDINATOR_NOT_AVAILABLE);
      }
    }
    if (changed.length > 0) this.notifyAvailable(groupId); // released records, or a start offset that moved
    return out;
  }

  /** Acquires records for `memberId` from the given partitions. */
  async acquire(
    groupId: string,
    memberId: string,
    parts: { topicId: string; partition: number }[],
    maxRecords: number,
    maxBytes: number,
    session?: Session,
  ): Promise<ShareFetchPartitionResult[]> {
    const nothing = () =>
      parts.map((p) => ({
        topicId: p.topicId,
        partition: p.partition,
        errorCode: ErrorCode.NONE,
        records: [],
        acquired: [],
      }));
    // A ShareFetch whose session ended while it waited (its connection dropped, a new session replaced
    // it) must not take records for a member that will never acknowledge them.
    if (session && !this.isLive(groupId, memberId, session)) return nothing();
    const out = await this.acquireFor(groupId, memberId, parts, maxRecords, maxBytes);
    if (this.ownership && out.some((r) => r.acquired.length > 0)) await this.ownership.checkClaims(out);
    if (session && !this.isLive(groupId, memberId, session)) {
      // Only what this call took: the member may hold records through a new session by now.
      const limits = this.limits(this.groups.get(groupId));
      const changed: StateRecord[] = [];
      for (const r of out) {
        const sp = this.partitions.get(groupId)?.get(pkey(r.topicId, r.partition));
        if (sp?.releaseAcquired(memberId, r.acquired, limits)) changed.push(this.state.partitionRecord(groupId, sp));
      }
      await this.state.write(changed);
      if (changed.length > 0) this.notifyAvailable(groupId);
      return nothing();
    }
    return out;
  }

  /** Whether `session` is still the member's open share session. */
  isLive(groupId: string, memberId: string, session: Session): boolean {
    return this.sessions.get(groupId, memberId) === session;
  }

  private async acquireFor(
    groupId: string,
    memberId: string,
    parts: { topicId: string; partition: number }[],
    maxRecords: number,
    maxBytes: number,
  ): Promise<ShareFetchPartitionResult[]> {
    const g = this.groups.get(groupId);
    const limits = this.limits(g);
    const readCommitted = this.groupConfig(g, "share.isolation.level") === "read_committed";
    const now = this.deps.now();
    const out: ShareFetchPartitionResult[] = [];
    let records = 0;
    let bytes = 0;
    for (const p of parts) {
      const r: ShareFetchPartitionResult = {
        topicId: p.topicId,
        partition: p.partition,
        errorCode: ErrorCode.NONE,
        records: [],
        acquired: [],
      };
      out.push(r);
      const log = this.deps.topics.byId(p.topicId)?.partitions[p.partition];
      if (!log) {
        r.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        continue;
      }
      const led = await this.own(log);
      if (led !== ErrorCode.NONE) {
        r.errorCode = led;
        continue;
      }
      if (records >= maxRecords || bytes >= maxBytes) continue;
      const sp = this.sharePartition(groupId, p.topicId, p.partition, log);
      let got: Acquisition;
      try {
        got = await acquireRecords(sp, log, {
          memberId,
          now,
          clock: () => this.deps.now(),
          limits,
          readCommitted,
          maxRecords: maxRecords - records,
          maxBytes: maxBytes - bytes,
        });
      } catch (e) {
        this.deps.log("error", `share fetch of ${log.topic}-${log.partition} failed: ${String(e)}`);
        r.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
        continue;
      }
      records += got.taken;
      bytes += got.bytes;
      r.acquired = got.acquired;
      r.records = got.records;
    }
    return out;
  }

  /** When the first lock held on these partitions expires (Infinity when none is held). */
  nextExpiry(groupId: string, parts: { topicId: string; partition: number }[]): number {
    let expiry = Infinity;
    for (const p of parts) {
      const sp = this.partitions.get(groupId)?.get(pkey(p.topicId, p.partition));
      if (sp) expiry = Math.min(expiry, sp.nextExpiry());
    }
    return expiry;
  }

  // ---- admin ------------------------------------------------------------------------------------

  /** A share-partition's state as stored (acquired records as available), or null (tests). */
  stateOf(groupId: string, topicId: string, partition: number): SharePartitionSnapshot | null {
    return this.partitions.get(groupId)?.get(pkey(topicId, partition))?.view() ?? null;
  }

  /**
   * The group's share-partitions for the admin APIs: this broker's own (alone), or in a cluster as stored
   * now (their leaders may be other brokers), rebuilt apart from those served here.
   */
  private async groupState(groupId: string): Promise<Map<string, SharePartition>> {
    if (!this.deps.cluster) return this.partitionsOf(groupId);
    const out = new Map<string, SharePartition>();
    await this.state.loadGroup(groupId, {
      group: () => {},
      configs: () => {},
      partition: (_, topicId, topic, partition) => {
        let sp = out.get(pkey(topicId, partition));
        if (!sp && topic !== null) {
          sp = new SharePartition(topicId, topic, partition);
          out.set(pkey(topicId, partition), sp);
        }
        return sp;
      },
      partitionGone: (_, topicId, partition) => out.delete(pkey(topicId, partition)),
    });
    return out;
  }

  /** A share-partition's whole state as an admin API writes it: a snapshot, without a leader epoch in a cluster. */
  private adminRecord(groupId: string, sp: SharePartition): StateRecord {
    sp.persisted.snapshotId = "";
    const r = this.state.partitionRecord(groupId, sp);
    if (!this.deps.cluster) return r;
    delete (r.value as { le?: number }).le;
    return { key: r.key, value: r.value, sp };
  }

  /** Cluster: share-partitions an admin API rewrote: unloaded here too (reloaded when next served). */
  private rewritten(sps: Iterable<SharePartition>): void {
    for (const sp of sps) this.ownership?.unload(sp.topicId, sp.partition);
  }

  /**
   * DescribeShareGroupOffsets: "topicId:partition" -> the SPSO (-1 not read yet), for the partitions
   * the group has state for.
   */
  async startOffsets(groupId: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const sp of (await this.groupState(groupId)).values()) {
      out.set(`${sp.topicId}:${sp.partition}`, sp.initialized ? sp.startOffset : -1);
    }
    return out;
  }

  /** AlterShareGroupOffsets: the group must have no members. */
  async alterOffsets(groupId: string, offsets: { topicId: string; partition: number; startOffset: number }[]) {
    const g = this.getOrCreate(groupId);
    if (g.members.size > 0) return ErrorCode.NON_EMPTY_GROUP;
    const records: StateRecord[] = [this.groupRecord(g)];
    const parts = await this.groupState(groupId);
    const changed: SharePartition[] = [];
    for (const o of offsets) {
      const topic = this.deps.topics.byId(o.topicId)!;
      const k = pkey(o.topicId, o.partition);
      const sp = parts.get(k) ?? new SharePartition(o.topicId, topic.name, o.partition);
      sp.reset(o.startOffset);
      parts.set(k, sp);
      changed.push(sp);
      records.push(this.adminRecord(groupId, sp));
    }
    this.rewritten(changed);
    return (await this.state.write(records)) ? ErrorCode.NONE : ErrorCode.COORDINATOR_NOT_AVAILABLE;
  }

  /** DeleteShareGroupOffsets: drops the group's state of whole topics; the group must have no members. */
  async deleteOffsets(groupId: string, topicIds: string[]): Promise<number> {
    const g = this.groups.get(groupId);
    if (!g) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (g.members.size > 0) return ErrorCode.NON_EMPTY_GROUP;
    const records: StateRecord[] = [];
    const parts = await this.groupState(groupId);
    for (const [k, sp] of [...parts]) {
      if (!topicIds.includes(sp.topicId)) continue;
      parts.delete(k);
      this.partitions.get(groupId)?.delete(k);
      this.rewritten([sp]);
      records.push(...this.state.partitionTombstones(groupId, sp));
    }
    return (await this.state.write(records)) ? ErrorCode.NONE : ErrorCode.COORDINATOR_NOT_AVAILABLE;
  }

  /** DeleteGroups of a share group: only when it has no members; its state goes with it. */
  async deleteGroup(groupId: string): Promise<number> {
    const g = this.groups.get(groupId);
    if (!g) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (g.members.size > 0) return ErrorCode.NON_EMPTY_GROUP;
    const records: StateRecord[] = [this.state.groupRecord(groupId, null), this.state.configsRecord(groupId, null)];
    const parts = await this.groupState(groupId);
    this.rewritten(parts.values());
    for (const sp of parts.values()) records.push(...this.state.partitionTombstones(groupId, sp));
    this.partitions.delete(groupId);
    this.groups.delete(groupId);
    return (await this.state.write(records)) ? ErrorCode.NONE : ErrorCode.COORDINATOR_NOT_AVAILABLE;
  }

  /** Group configs (IncrementalAlterConfigs on a GROUP resource); null value removes. */
  async setConfigs(groupId: string, changes: Map<string, string | null>): Promise<boolean> {
    const g = this.getOrCreate(groupId);
    for (const [k, v] of changes) {
      if (v === null) g.configs.delete(k);
      else g.configs.set(k, v);
    }
    return await this.state.write([this.state.configsRecord(groupId, Object.fromEntries(g.configs))]);
  }

  /** Topic names a share member of this group is assigned (tests, describe). */
  describeMember(m: Member) {
    return [...m.assignment].map(([name, partitions]) => ({
      topicId: this.deps.topics.get(name)?.id ?? "",
      topicName: name,
      partitions,
    }));
  }
}
