// KIP-848 consumer groups: the coordinator assigns, members reconcile through heartbeats.
//
// Epochs as in Kafka: the group epoch moves when membership, a subscription or the metadata of a
// subscribed topic changes; the target assignment is recomputed for it (assignment epoch). A member
// moves to the target epoch only once it no longer owns partitions it must give up: first it is
// told to revoke (assignment without them, epoch unchanged) and must report, by its owned
// topicPartitions, that it did so within its rebalance timeout, else it is fenced. Partitions of
// its target still owned by another member (being revoked there) are added once released.
// Members expire after group.consumer.session.timeout.ms without a heartbeat. Static members
// (instanceId) that leave with epoch -2 keep their assignment for a rejoin under a new member id.
//
// Classic members (online migration, see migration.ts) live in the same group and the same
// reconciliation: JoinGroup reports what the member still owns (ConsumerProtocolSubscription's
// ownedPartitions; an eager client owns nothing when it rejoins), SyncGroup hands out its current
// assignment, and Heartbeat answers REBALANCE_IN_PROGRESS while that assignment is not its target.
// They keep their own session timeout, must rejoin within their rebalance timeout once told to,
// and must SyncGroup within it after a join.
import { ErrorCode } from "../../protocol/errors.ts";
import type { Assignor } from "./assignors.ts";
import type { JoinRequest, JoinResult, Protocol, SyncResult } from "./classic.ts";
import { joinFailure, syncFailure } from "./classic.ts";
import type { Subscription } from "./migration.ts";
import { encodeAssignment } from "./migration.ts";
import type {
  ClassicMemberInfo,
  ClassicMemberSnapshot,
  CommittedOffset,
  ConsumerSnapshot,
  TopicPartitions,
} from "./records.ts";

export type ConsumerState = "Empty" | "Assigning" | "Reconciling" | "Stable" | "Dead";

/** topic id -> partitions */
export type TpMap = Map<string, Set<number>>;

export type TopicInfo = { id: string; name: string; partitions: number; internal: boolean };

export type ConsumerHost = {
  now(): number;
  sessionTimeoutMs(): number;
  heartbeatIntervalMs(): number;
  /** Configured assignors, the default first. */
  assignors(): readonly string[];
  assignor(name: string): Assignor | undefined;
  /** All topics (regex subscriptions skip internal ones) and lookups by name. */
  topics(): Iterable<TopicInfo>;
  topic(name: string): TopicInfo | undefined;
  topicName(id: string): string | undefined;
  /** Writes the group's record; resolves NONE, or the error code of the failed write. */
  persist(group: ConsumerGroup): Promise<number>;
  maybeForget(group: ConsumerGroup): void;
  /** A member using the consumer protocol is gone: the group may go back to the classic protocol. */
  maybeDowngrade(group: ConsumerGroup): void;
  newMemberId(): string;
  log(level: "debug" | "info" | "warn" | "error", message: string): void;
};

export type HeartbeatRequest = {
  memberId: string;
  memberEpoch: number;
  instanceId: string | null;
  rackId: string | null;
  rebalanceTimeoutMs: number;
  subscribedTopicNames: string[] | null;
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  topicPartitions: { topicId: string; partitions: number[] }[] | null;
  clientId: string;
  clientHost: string;
  /** Whether the member's principal may describe a topic (ACLs): regexes match only such topics. */
  mayDescribe?: (topic: string) => boolean;
};

export type HeartbeatResult = {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  assignment: { topicPartitions: TopicPartitions[] } | null;
};

export const LEAVE_EPOCH = -1;
export const STATIC_LEAVE_EPOCH = -2;

/** What a member speaking the classic protocol inside a consumer group sent in its JoinGroup. */
export type ClassicInfo = ClassicMemberInfo;

/** A classic JoinGroup, with the subscription its protocol metadata carries. */
export type ClassicJoinInput = Omit<JoinRequest, "protocolType" | "version"> & {
  subscription: Subscription;
  maxSize: number;
};

export class ConsumerMember {
  memberId: string;
  instanceId: string | null;
  rackId: string | null = null;
  clientId = "";
  clientHost = "";
  subscribedTopicNames: string[] = [];
  subscribedTopicRegex: string | null = null;
  regex: RegExp | null = null;
  /** From the member's last heartbeat: what its principal may describe (Kafka resolves regexes with it). */
  mayDescribe: (topic: string) => boolean = () => true;
  serverAssignor: string | null = null;
  rebalanceTimeoutMs = 300000;
  memberEpoch = 0;
  previousMemberEpoch = -1;
  /** Left with epoch -2 (static member): keeps its assignment until it rejoins or its session ends. */
  leftStatic = false;
  assigned: TpMap = new Map();
  revoking: TpMap = new Map();
  revokeDeadline = 0;
  lastHeartbeat = 0;
  /** Signature of the assignment last sent; null forces a send. */
  lastSent: string | null = null;
  timer: ReturnType<typeof setTimeout> | null = null;
  /** Set while the member speaks the classic protocol (JoinGroup/SyncGroup/Heartbeat). */
  classic: ClassicInfo | null = null;
  /** Classic members: the JoinGroup ("join", after REBALANCE_IN_PROGRESS) or SyncGroup ("sync") due by classicDeadline. */
  classicAwaiting: "join" | "sync" | null = null;
  classicDeadline = 0;

  constructor(memberId: string, instanceId: string | null) {
    this.memberId = memberId;
    this.instanceId = instanceId;
  }
}

export function compileRegex(source: string): RegExp | null {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch {
    return null;
  }
}

function copyTp(m: TpMap): TpMap {
  const out: TpMap = new Map();
  for (const [t, ps] of m) out.set(t, new Set(ps));
  return out;
}

function tpHas(m: TpMap, topic: string, p: number): boolean {
  return m.get(topic)?.has(p) ?? false;
}

function tpAdd(m: TpMap, topic: string, p: number) {
  let s = m.get(topic);
  if (!s) m.set(topic, s = new Set());
  s.add(p);
}

function tpSize(m: TpMap): number {
  let n = 0;
  for (const s of m.values()) n += s.size;
  return n;
}

export function tpList(m: TpMap): TopicPartitions[] {
  const out: TopicPartitions[] = [];
  for (const [topicId, ps] of m) if (ps.size > 0) out.push({ topicId, partitions: [...ps].sort((a, b) => a - b) });
  return out.sort((a, b) => (a.topicId < b.topicId ? -1 : a.topicId > b.topicId ? 1 : 0));
}

function tpFromList(l: readonly TopicPartitions[]): TpMap {
  const out: TpMap = new Map();
  for (const t of l) for (const p of t.partitions) tpAdd(out, t.topicId, p);
  return out;
}

function signature(m: TpMap): string {
  return tpList(m).map((t) => `${t.topicId}:${t.partitions.join(",")}`).join(";");
}

export class ConsumerGroup {
  readonly kind = "consumer";
  readonly groupId: string;
  groupEpoch = 0;
  assignmentEpoch = 0;
  stateTimestamp: number;
  dead = false;
  /** Something worth persisting changed since the last write. */
  dirty = false;
  readonly members = new Map<string, ConsumerMember>();
  readonly staticMembers = new Map<string, string>();
  target = new Map<string, TpMap>();
  readonly offsets = new Map<string, CommittedOffset>();
  /** Subscribed topics and their partition counts when the target was last computed. */
  private metadataSignature = "";
  private readonly host: ConsumerHost;

  constructor(groupId: string, host: ConsumerHost) {
    this.groupId = groupId;
    this.host = host;
    this.stateTimestamp = host.now();
  }

  get state(): ConsumerState {
    if (this.dead) return "Dead";
    if (this.members.size === 0) return "Empty";
    if (this.groupEpoch > this.assignmentEpoch) return "Assigning";
    for (const m of this.members.values()) {
      if (m.memberEpoch !== this.assignmentEpoch || m.revoking.size > 0) return "Reconciling";
      if (signature(m.assigned) !== signature(this.target.get(m.memberId) ?? new Map())) return "Reconciling";
    }
    return "Stable";
  }

  isEmpty(): boolean {
    return this.members.size === 0;
  }

  /** Topic ids the member is subscribed to: by name, and by regex over non-internal topics it may describe. */
  subscribedTopics(m: ConsumerMember): Set<string> {
    const out = new Set<string>();
    for (const name of m.subscribedTopicNames) {
      const t = this.host.topic(name);
      if (t) out.add(t.id);
    }
    if (m.regex) {
      for (const t of this.host.topics()) {
        if (!t.internal && m.regex.test(t.name) && m.mayDescribe(t.name)) out.add(t.id);
      }
    }
    return out;
  }

  /** Topic names some member is subscribed to (OffsetDelete's GROUP_SUBSCRIBED_TO_TOPIC). */
  isSubscribedTo(topicName: string): boolean {
    for (const m of this.members.values()) {
      if (m.subscribedTopicNames.includes(topicName)) return true;
      if (m.regex && m.regex.test(topicName)) return true;
    }
    return false;
  }

  private computeMetadataSignature(): string {
    const ids = new Set<string>();
    for (const m of this.members.values()) for (const id of this.subscribedTopics(m)) ids.add(id);
    const parts: string[] = [];
    for (const t of this.host.topics()) if (ids.has(t.id)) parts.push(`${t.id}/${t.partitions}`);
    return parts.sort().join(",");
  }

  private bumpEpoch(reason: string) {
    this.groupEpoch++;
    this.host.log("debug", `consumer group ${this.groupId}: epoch ${this.groupEpoch}: ${reason}`);
  }

  private chooseAssignor(): string {
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      if (m.serverAssignor) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1);
    }
    let best: string | null = null;
    for (const [name, n] of votes) if (best === null || n > votes.get(best)!) best = name;
    return best ?? this.host.assignors()[0];
  }

  assignorName(): string {
    return this.members.size ? this.chooseAssignor() : this.host.assignors()[0];
  }

  /** Recomputes the target assignment when the group epoch moved past it. */
  private maybeComputeTarget() {
    const sig = this.computeMetadataSignature();
    if (sig !== this.metadataSignature) {
      if (this.groupEpoch <= this.assignmentEpoch) this.bumpEpoch("subscribed topic metadata changed");
      this.metadataSignature = sig;
    }
    if (this.groupEpoch <= this.assignmentEpoch) return;
    const members = [...this.members.values()].map((m) => ({ memberId: m.memberId, topics: this.subscribedTopics(m) }));
    const wanted = new Set<string>();
    for (const m of members) for (const id of m.topics) wanted.add(id);
    const counts = new Map<string, number>();
    for (const t of this.host.topics()) if (wanted.has(t.id)) counts.set(t.id, t.partitions);
    const previous = new Map<string, Map<string, number[]>>();
    for (const [id, tp] of this.target) previous.set(id, new Map([...tp].map(([t, ps]) => [t, [...ps]])));
    const assignor = this.host.assignor(this.chooseAssignor())!;
    const result = assignor(members, counts, previous);
    this.target = new Map();
    for (const [memberId, byTopic] of result) {
      const tp: TpMap = new Map();
      for (const [t, ps] of byTopic) tp.set(t, new Set(ps));
      this.target.set(memberId, tp);
    }
    this.assignmentEpoch = this.groupEpoch;
  }

  /** Partitions owned (assigned or still being revoked) by members other than `except`. */
  private ownedByOthers(except: ConsumerMember): TpMap {
    const out: TpMap = new Map();
    for (const m of this.members.values()) {
      if (m === except) continue;
      for (const [t, ps] of m.assigned) for (const p of ps) tpAdd(out, t, p);
      for (const [t, ps] of m.revoking) for (const p of ps) tpAdd(out, t, p);
    }
    return out;
  }

  /** The member reported what it owns, and none of the partitions it must revoke are among them. */
  private released(m: ConsumerMember, owned: TpMap | null): boolean {
    if (owned === null) return false;
    for (const [t, ps] of m.revoking) for (const p of ps) if (tpHas(owned, t, p)) return false;
    return true;
  }

  /**
   * Moves a member toward its target; `owned` is what the member reported (null: not sent).
   * Partitions to give up are revoked first; they count as released once `owned` lacks them.
   */
  private reconcile(m: ConsumerMember, owned: TpMap | null) {
    if (m.revoking.size > 0) {
      if (!this.released(m, owned)) return;
      m.revoking = new Map();
    }
    const target = this.target.get(m.memberId) ?? new Map<string, Set<number>>();
    if (m.memberEpoch !== this.assignmentEpoch) {
      const revoke: TpMap = new Map();
      for (const [t, ps] of m.assigned) for (const p of ps) if (!tpHas(target, t, p)) tpAdd(revoke, t, p);
      if (tpSize(revoke) > 0) {
        const keep: TpMap = new Map();
        for (const [t, ps] of m.assigned) for (const p of ps) if (tpHas(target, t, p)) tpAdd(keep, t, p);
        m.assigned = keep;
        m.revoking = revoke;
        if (!this.released(m, owned)) {
          m.revokeDeadline = this.host.now() + m.rebalanceTimeoutMs;
          this.rearm(m);
          return;
        }
        m.revoking = new Map();
      }
      m.previousMemberEpoch = m.memberEpoch;
      m.memberEpoch = this.assignmentEpoch;
    }
    let others: TpMap | null = null;
    for (const [t, ps] of target) {
      for (const p of ps) {
        if (tpHas(m.assigned, t, p)) continue;
        others ??= this.ownedByOthers(m);
        if (!tpHas(others, t, p)) tpAdd(m.assigned, t, p);
      }
    }
  }

  heartbeat(req: HeartbeatRequest): HeartbeatResult {
    const interval = this.host.heartbeatIntervalMs();
    const fail = (errorCode: number, errorMessage: string | null = null): HeartbeatResult => ({
      errorCode,
      errorMessage,
      memberId: req.memberId || null,
      memberEpoch: req.memberEpoch,
      heartbeatIntervalMs: 0,
      assignment: null,
    });
    if (req.memberEpoch === LEAVE_EPOCH || req.memberEpoch === STATIC_LEAVE_EPOCH) {
      let m = this.members.get(req.memberId);
      if (!m && req.instanceId !== null) {
        const id = this.staticMembers.get(req.instanceId);
        if (id !== undefined) m = this.members.get(id);
      }
      if (!m || m.classic) {
        return fail(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${req.memberId} is not a member of group ${this.groupId}.`);
      }
      if (req.memberEpoch === STATIC_LEAVE_EPOCH && m.instanceId !== null) {
        m.leftStatic = true;
        m.lastHeartbeat = this.host.now();
        this.rearm(m);
      } else {
        this.removeMember(m, "left the group");
      }
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        memberId: req.memberId,
        memberEpoch: req.memberEpoch,
        heartbeatIntervalMs: 0,
        assignment: null,
      };
    }

    let m: ConsumerMember | undefined;
    let joined = false;
    if (req.memberEpoch === 0) {
      if (req.instanceId !== null) {
        const oldId = this.staticMembers.get(req.instanceId);
        const old = oldId === undefined ? undefined : this.members.get(oldId);
        if (old && !old.leftStatic && old.memberId !== req.memberId) {
          return fail(
            ErrorCode.UNRELEASED_INSTANCE_ID,
            `Static member ${req.instanceId} is still active in group ${this.groupId}.`,
          );
        }
        if (old) {
          // The static member returns under a new id and takes its assignment back without a rebalance.
          const memberId = req.memberId || this.host.newMemberId();
          this.renameStatic(old, memberId);
          old.lastSent = null;
          old.classic = null;
          old.classicAwaiting = null;
          m = old;
        }
      }
      if (!m) {
        const existing = req.memberId ? this.members.get(req.memberId) : undefined;
        if (existing) this.removeMember(existing, "rejoined with epoch 0", false);
        m = new ConsumerMember(req.memberId || this.host.newMemberId(), req.instanceId);
        this.members.set(m.memberId, m);
        if (m.instanceId !== null) this.staticMembers.set(m.instanceId, m.memberId);
        joined = true;
      }
      m.lastSent = null;
    } else {
      m = this.members.get(req.memberId);
      if (m?.leftStatic || m?.classic) m = undefined;
      if (!m) {
        return fail(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${req.memberId} is not a member of group ${this.groupId}.`);
      }
      if (req.instanceId !== null && m.instanceId !== req.instanceId) return fail(ErrorCode.FENCED_INSTANCE_ID);
      if (req.memberEpoch > m.memberEpoch) {
        return fail(
          ErrorCode.FENCED_MEMBER_EPOCH,
          `The consumer group member has a greater member epoch (${req.memberEpoch}) than the one known by the group coordinator (${m.memberEpoch}).`,
        );
      }
      if (req.memberEpoch < m.memberEpoch) {
        let ok = req.memberEpoch === m.previousMemberEpoch && req.topicPartitions !== null;
        if (ok) {
          for (const t of req.topicPartitions!) {
            for (const p of t.partitions) if (!tpHas(m.assigned, t.topicId, p)) ok = false;
          }
        }
        if (!ok) {
          return fail(
            ErrorCode.FENCED_MEMBER_EPOCH,
            `The consumer group member has a smaller member epoch (${req.memberEpoch}) than the one known by the group coordinator (${m.memberEpoch}).`,
          );
        }
      }
    }

    // Apply what the request changes.
    const before = `${this.groupEpoch}/${m.memberEpoch}/${signature(m.assigned)}/${m.revoking.size}`;
    let subscriptionChanged = joined;
    m.clientId = req.clientId;
    m.clientHost = req.clientHost;
    if (req.mayDescribe) m.mayDescribe = req.mayDescribe;
    if (req.rackId !== null) m.rackId = req.rackId;
    if (req.rebalanceTimeoutMs !== -1) m.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    if (req.subscribedTopicNames !== null) {
      const next = [...new Set(req.subscribedTopicNames)].sort();
      if (next.join("\u0000") !== m.subscribedTopicNames.join("\u0000")) subscriptionChanged = true;
      m.subscribedTopicNames = next;
    }
    if (req.subscribedTopicRegex !== null) {
      const source = req.subscribedTopicRegex === "" ? null : req.subscribedTopicRegex;
      if (source !== m.subscribedTopicRegex) {
        m.subscribedTopicRegex = source;
        m.regex = source === null ? null : compileRegex(source);
        subscriptionChanged = true;
      }
    }
    if (req.serverAssignor !== null && req.serverAssignor !== m.serverAssignor) {
      m.serverAssignor = req.serverAssignor;
      subscriptionChanged = true;
    }
    if (subscriptionChanged) {
      this.bumpEpoch(joined ? `member ${m.memberId} joined` : `member ${m.memberId} changed its subscription`);
    }
    this.maybeComputeTarget();
    const owned = req.topicPartitions === null ? null : tpFromList(req.topicPartitions);
    this.reconcile(m, owned);
    m.lastHeartbeat = this.host.now();
    this.rearm(m);

    const sig = signature(m.assigned);
    if (joined || before !== `${this.groupEpoch}/${m.memberEpoch}/${sig}/${m.revoking.size}`) this.dirty = true;
    const send = m.lastSent !== sig || (owned !== null && signature(owned) !== sig);
    m.lastSent = sig;
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: m.memberId,
      memberEpoch: m.memberEpoch,
      heartbeatIntervalMs: interval,
      assignment: send ? { topicPartitions: tpList(m.assigned) } : null,
    };
  }

  /** A static member back under a new id takes over its old place, epoch, partitions and target. */
  private renameStatic(old: ConsumerMember, memberId: string) {
    this.stopTimer(old);
    this.members.delete(old.memberId);
    const target = this.target.get(old.memberId);
    this.target.delete(old.memberId);
    old.memberId = memberId;
    old.leftStatic = false;
    this.members.set(memberId, old);
    if (target) this.target.set(memberId, target);
    this.staticMembers.set(old.instanceId!, memberId);
  }

  /** Removes a member (leave, expiry, fencing) and starts a new group epoch. */
  removeMember(m: ConsumerMember, reason: string, recompute = true) {
    this.stopTimer(m);
    this.members.delete(m.memberId);
    this.target.delete(m.memberId);
    if (m.instanceId !== null && this.staticMembers.get(m.instanceId) === m.memberId) {
      this.staticMembers.delete(m.instanceId);
    }
    this.host.log("info", `consumer group ${this.groupId}: member ${m.memberId} ${reason}`);
    this.bumpEpoch(`member ${m.memberId} ${reason}`);
    if (this.members.size === 0) this.stateTimestamp = this.host.now();
    if (recompute) {
      this.maybeComputeTarget();
      void this.host.persist(this);
      if (this.members.size === 0) this.host.maybeForget(this);
      else if (!m.classic) this.host.maybeDowngrade(this);
    }
  }

  /** Every member speaks the classic protocol (a downgrade may turn the group into a classic one). */
  onlyClassicMembers(): boolean {
    if (this.members.size === 0) return false;
    for (const m of this.members.values()) if (!m.classic) return false;
    return true;
  }

  // ---- classic members (online migration)

  /** Resolves a classic member by id (and instance id) or gives the error code. */
  private classicMember(memberId: string, instanceId: string | null): ConsumerMember | number {
    if (instanceId !== null) {
      const id = this.staticMembers.get(instanceId);
      if (id === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (id !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    const m = this.members.get(memberId);
    if (!m || !m.classic || m.leftStatic) return ErrorCode.UNKNOWN_MEMBER_ID;
    return m;
  }

  /** Protocol names every classic member other than `except` supports (null: there are none). */
  private classicCandidates(except: string | null): Set<string> | null {
    let out: Set<string> | null = null;
    for (const m of this.members.values()) {
      if (!m.classic || m.memberId === except) continue;
      const names = new Set<string>(m.classic.protocols.map((p) => p.name));
      const prev: Set<string> | null = out;
      out = prev === null ? names : new Set<string>([...prev].filter((n: string) => names.has(n)));
    }
    return out;
  }

  /** A protocol all classic members support, as a classic group would select it (for a downgrade). */
  commonClassicProtocol(): string | null {
    const candidates = this.classicCandidates(null);
    if (candidates === null) return null;
    for (const m of this.members.values()) {
      const choice = m.classic?.protocols.find((p) => candidates.has(p.name));
      if (choice) return choice.name;
    }
    return null;
  }

  private ownedFromNames(owned: Subscription["owned"]): TpMap {
    const out: TpMap = new Map();
    for (const t of owned) {
      const info = this.host.topic(t.topic);
      if (info) { for (const p of t.partitions) tpAdd(out, info.id, p); }
    }
    return out;
  }

  /** The member's assignment as names, for ConsumerProtocolAssignment. */
  namedAssignment(m: ConsumerMember): { topic: string; partitions: number[] }[] {
    const out: { topic: string; partitions: number[] }[] = [];
    for (const t of tpList(m.assigned)) {
      const topic = this.host.topicName(t.topicId);
      if (topic !== undefined) out.push({ topic, partitions: t.partitions });
    }
    return out;
  }

  /** JoinGroup from a member speaking the classic protocol. */
  classicJoin(req: ClassicJoinInput): JoinResult {
    const candidates = this.classicCandidates(req.memberId);
    if (candidates !== null && !req.protocols.some((p) => candidates.has(p.name))) {
      return joinFailure(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, req.memberId);
    }
    const unknown = req.memberId === "";
    const memberId = unknown ? this.host.newMemberId() : req.memberId;
    let m: ConsumerMember | undefined;
    let joined = false;
    const add = (): ConsumerMember | null => {
      if (this.members.size >= req.maxSize) return null;
      const x = new ConsumerMember(memberId, req.groupInstanceId);
      this.members.set(memberId, x);
      if (x.instanceId !== null) this.staticMembers.set(x.instanceId, memberId);
      joined = true;
      return x;
    };
    if (req.groupInstanceId === null) {
      if (unknown && req.requireKnownMemberId) return joinFailure(ErrorCode.MEMBER_ID_REQUIRED, memberId);
      m = this.members.get(memberId);
      if (m && !m.classic) return joinFailure(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId);
      if (!m) m = add() ?? undefined;
    } else {
      const oldId = this.staticMembers.get(req.groupInstanceId);
      const old = oldId === undefined ? undefined : this.members.get(oldId);
      if (!old) {
        if (!unknown) return joinFailure(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId);
        m = add() ?? undefined;
      } else if (unknown) {
        this.host.log(
          "info",
          `consumer group ${this.groupId}: static member ${req.groupInstanceId} rejoined as ${memberId}, fencing ${old.memberId}`,
        );
        this.renameStatic(old, memberId);
        m = old;
      } else if (old.memberId !== memberId) {
        return joinFailure(ErrorCode.FENCED_INSTANCE_ID, req.memberId);
      } else {
        m = old;
      }
    }
    if (!m) return joinFailure(ErrorCode.GROUP_MAX_SIZE_REACHED, req.memberId);

    const topics = [...new Set(req.subscription.topics)].sort();
    const changed = joined || m.subscribedTopicRegex !== null ||
      topics.join("\u0000") !== m.subscribedTopicNames.join("\u0000");
    const wasClassic = m.classic !== null;
    m.classic = {
      sessionTimeoutMs: req.sessionTimeoutMs,
      protocols: req.protocols,
      subscriptionVersion: req.subscription.version,
    };
    m.clientId = req.clientId;
    m.clientHost = req.clientHost;
    if (req.subscription.rackId !== null) m.rackId = req.subscription.rackId;
    m.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    m.subscribedTopicNames = topics;
    m.subscribedTopicRegex = null;
    m.regex = null;
    if (changed) {
      this.bumpEpoch(
        joined ? `classic member ${m.memberId} joined` : `classic member ${m.memberId} changed its subscription`,
      );
    }
    this.maybeComputeTarget();
    this.reconcile(m, this.ownedFromNames(req.subscription.owned));
    const now = this.host.now();
    m.lastHeartbeat = now;
    m.classicAwaiting = "sync";
    m.classicDeadline = now + m.rebalanceTimeoutMs;
    this.rearm(m);
    this.dirty = true;
    if (!wasClassic && !joined) {
      this.host.log("info", `consumer group ${this.groupId}: member ${m.memberId} now speaks the classic protocol`);
    }
    return {
      errorCode: ErrorCode.NONE,
      generationId: m.memberEpoch,
      protocolType: "consumer",
      protocolName: req.protocols[0].name,
      leader: "",
      skipAssignment: false,
      memberId: m.memberId,
      members: [],
    };
  }

  /** SyncGroup from a classic member: its current assignment (the coordinator assigns; the leader's proposal is ignored). */
  classicSync(
    memberId: string,
    instanceId: string | null,
    generationId: number,
    protocolType: string | null,
    protocolName: string | null,
  ): SyncResult {
    const m = this.classicMember(memberId, instanceId);
    if (typeof m === "number") return syncFailure(m);
    if (generationId !== m.memberEpoch) return syncFailure(ErrorCode.ILLEGAL_GENERATION);
    const name = m.classic!.protocols[0].name;
    if ((protocolType !== null && protocolType !== "consumer") || (protocolName !== null && protocolName !== name)) {
      return syncFailure(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    if (m.classicAwaiting === "sync") {
      m.classicAwaiting = null;
      m.classicDeadline = 0;
    }
    m.lastHeartbeat = this.host.now();
    m.lastSent = signature(m.assigned);
    this.rearm(m);
    return {
      errorCode: ErrorCode.NONE,
      protocolType: "consumer",
      protocolName: name,
      assignment: encodeAssignment(this.namedAssignment(m), m.classic!.subscriptionVersion),
    };
  }

  /** Heartbeat from a classic member: REBALANCE_IN_PROGRESS while its assignment is not its target. */
  classicHeartbeat(memberId: string, instanceId: string | null, generationId: number): number {
    const m = this.classicMember(memberId, instanceId);
    if (typeof m === "number") return m;
    if (generationId !== m.memberEpoch) return ErrorCode.ILLEGAL_GENERATION;
    const now = this.host.now();
    m.lastHeartbeat = now;
    const epoch = this.groupEpoch;
    this.maybeComputeTarget();
    if (this.groupEpoch !== epoch) this.dirty = true;
    let code: number = ErrorCode.NONE;
    if (m.classicAwaiting !== "sync") {
      const target = this.target.get(m.memberId) ?? new Map<string, Set<number>>();
      if (
        m.memberEpoch !== this.assignmentEpoch || m.revoking.size > 0 || signature(m.assigned) !== signature(target)
      ) {
        code = ErrorCode.REBALANCE_IN_PROGRESS;
        if (m.classicAwaiting !== "join") {
          m.classicAwaiting = "join";
          m.classicDeadline = now + m.rebalanceTimeoutMs;
        }
      }
    }
    this.rearm(m);
    return code;
  }

  /** One member of a LeaveGroup. */
  classicLeave(memberId: string, instanceId: string | null): number {
    if (instanceId !== null) {
      const id = this.staticMembers.get(instanceId);
      if (id === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (memberId !== "" && memberId !== id) return ErrorCode.FENCED_INSTANCE_ID;
      memberId = id;
    }
    const m = this.members.get(memberId);
    if (!m || !m.classic) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMember(m, "left the group (LeaveGroup)");
    return ErrorCode.NONE;
  }

  /** Upgrade: takes over a classic group's members at its generation, each keeping its partitions. */
  adoptClassicMembers(
    generationId: number,
    members: {
      snapshot: ClassicMemberSnapshot;
      protocols: Protocol[];
      subscription: Subscription;
      assigned: Subscription["owned"];
    }[],
  ) {
    this.groupEpoch = generationId;
    this.assignmentEpoch = generationId;
    const taken: TpMap = new Map();
    for (const x of members) {
      const s = x.snapshot;
      const m = new ConsumerMember(s.memberId, s.groupInstanceId);
      m.classic = {
        sessionTimeoutMs: s.sessionTimeoutMs,
        protocols: x.protocols,
        subscriptionVersion: x.subscription.version,
      };
      m.clientId = s.clientId;
      m.clientHost = s.clientHost;
      m.rackId = x.subscription.rackId;
      m.rebalanceTimeoutMs = s.rebalanceTimeoutMs;
      m.subscribedTopicNames = [...new Set(x.subscription.topics)].sort();
      m.memberEpoch = generationId;
      for (const [t, ps] of this.ownedFromNames(x.assigned)) {
        for (const p of ps) {
          if (tpHas(taken, t, p)) continue; // a partition two members claim stays with the first
          tpAdd(taken, t, p);
          tpAdd(m.assigned, t, p);
        }
      }
      this.members.set(m.memberId, m);
      if (m.instanceId !== null) this.staticMembers.set(m.instanceId, m.memberId);
      this.target.set(m.memberId, copyTp(m.assigned));
    }
    this.metadataSignature = this.computeMetadataSignature();
    this.startSessions();
  }

  private sessionTimeoutOf(m: ConsumerMember): number {
    return m.classic ? m.classic.sessionTimeoutMs : this.host.sessionTimeoutMs();
  }

  private rearm(m: ConsumerMember) {
    this.stopTimer(m);
    const now = this.host.now();
    let deadline = m.lastHeartbeat + this.sessionTimeoutOf(m);
    if (m.revoking.size > 0) deadline = Math.min(deadline, m.revokeDeadline);
    if (m.classicAwaiting !== null) deadline = Math.min(deadline, m.classicDeadline);
    m.timer = setTimeout(() => this.expire(m), Math.max(deadline - now, 0) + 1);
  }

  private expire(m: ConsumerMember) {
    m.timer = null;
    if (this.members.get(m.memberId) !== m) return;
    const now = this.host.now();
    if (m.revoking.size > 0 && now >= m.revokeDeadline) {
      this.removeMember(m, `did not revoke its partitions within ${m.rebalanceTimeoutMs} ms; fenced`);
      return;
    }
    if (m.classicAwaiting !== null && now >= m.classicDeadline) {
      this.removeMember(
        m,
        `did not ${
          m.classicAwaiting === "join" ? "rejoin" : "SyncGroup"
        } within its rebalance timeout (${m.rebalanceTimeoutMs} ms)`,
      );
      return;
    }
    if (now >= m.lastHeartbeat + this.sessionTimeoutOf(m)) {
      this.removeMember(m, `session timed out`);
      return;
    }
    this.rearm(m);
  }

  private stopTimer(m: ConsumerMember) {
    if (m.timer !== null) clearTimeout(m.timer);
    m.timer = null;
  }

  /** Re-checks subscribed topic metadata (topics created or deleted). */
  refreshMetadata() {
    const before = this.groupEpoch;
    this.maybeComputeTarget();
    if (this.groupEpoch !== before) void this.host.persist(this);
  }

  /** Stops all timers (a consumer group parks no requests, so there is nothing to answer). */
  shutdown(_errorCode?: number) {
    for (const m of this.members.values()) this.stopTimer(m);
  }

  markDead() {
    this.shutdown();
    this.members.clear();
    this.staticMembers.clear();
    this.dead = true;
  }

  snapshot(): ConsumerSnapshot {
    return {
      type: "consumer",
      groupEpoch: this.groupEpoch,
      assignmentEpoch: this.assignmentEpoch,
      stateTimestamp: this.stateTimestamp,
      metadataSignature: this.metadataSignature,
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        rackId: m.rackId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: m.subscribedTopicNames,
        subscribedTopicRegex: m.subscribedTopicRegex,
        serverAssignor: m.serverAssignor,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        memberEpoch: m.memberEpoch,
        previousMemberEpoch: m.previousMemberEpoch,
        assigned: tpList(m.assigned),
        revoking: tpList(m.revoking),
        target: tpList(this.target.get(m.memberId) ?? new Map()),
        classic: m.classic,
      })),
    };
  }

  restore(s: ConsumerSnapshot) {
    this.shutdown();
    this.groupEpoch = s.groupEpoch;
    this.assignmentEpoch = s.assignmentEpoch;
    this.stateTimestamp = s.stateTimestamp;
    this.metadataSignature = s.metadataSignature;
    this.members.clear();
    this.staticMembers.clear();
    this.target = new Map();
    for (const sm of s.members) {
      const m = new ConsumerMember(sm.memberId, sm.instanceId);
      m.rackId = sm.rackId;
      m.clientId = sm.clientId;
      m.clientHost = sm.clientHost;
      m.subscribedTopicNames = sm.subscribedTopicNames;
      m.subscribedTopicRegex = sm.subscribedTopicRegex;
      m.regex = sm.subscribedTopicRegex === null ? null : compileRegex(sm.subscribedTopicRegex);
      m.serverAssignor = sm.serverAssignor;
      m.rebalanceTimeoutMs = sm.rebalanceTimeoutMs;
      m.memberEpoch = sm.memberEpoch;
      m.previousMemberEpoch = sm.previousMemberEpoch;
      m.assigned = tpFromList(sm.assigned);
      m.revoking = tpFromList(sm.revoking);
      m.classic = sm.classic;
      this.members.set(m.memberId, m);
      if (m.instanceId !== null) this.staticMembers.set(m.instanceId, m.memberId);
      this.target.set(m.memberId, tpFromList(sm.target));
    }
  }

  startSessions() {
    const now = this.host.now();
    for (const m of this.members.values()) {
      m.lastHeartbeat = now;
      m.revokeDeadline = now + m.rebalanceTimeoutMs;
      this.rearm(m);
    }
  }

  /** For ConsumerGroupDescribe. */
  targetOf(memberId: string): TpMap {
    return this.target.get(memberId) ?? new Map();
  }

  /** Copy of a member's current assignment. */
  assignedOf(m: ConsumerMember): TpMap {
    return copyTp(m.assigned);
  }
}
