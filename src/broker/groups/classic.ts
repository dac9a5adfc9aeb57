// The classic group protocol (JoinGroup/SyncGroup/Heartbeat/LeaveGroup): Kafka's state machine
//
//   Empty ──join──► PreparingRebalance ──all joined / rebalance timeout──► CompletingRebalance
//     ▲                 ▲      │ (no members left)                              │ leader's SyncGroup
//     └─────────────────┼──────┘                                                ▼
//                       └──────────── join, leave, expiry, unsynced ───────── Stable
//   Dead: deleted (DeleteGroups, offsets expired); a Dead group object is never reused.
//
// Follows Kafka's GroupCoordinator: members joining a new (Empty) group wait
// group.initial.rebalance.delay.ms, extended while new members keep arriving, up to the rebalance
// timeout; otherwise a rebalance completes as soon as every known member has rejoined, or at the
// rebalance timeout, when members that did not rejoin are removed. After a join completes every
// member must SyncGroup within the rebalance timeout or it is removed and a new rebalance starts.
// A member with a parked JoinGroup or SyncGroup is kept alive; others expire after their session
// timeout without a heartbeat. Static members (group.instance.id) keep their assignment across
// restarts: a rejoin with a new member id fences the old id (FENCED_INSTANCE_ID) and, when the
// group is Stable and the protocols did not change, gets the current assignment without a rebalance.
import { ErrorCode } from "../../protocol/errors.ts";
import type { ClassicSnapshot } from "./records.ts";
import type { CommittedOffset } from "./records.ts";

export type ClassicState = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable" | "Dead";

export type Protocol = { name: string; metadata: Uint8Array };

export type JoinResult = {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  members: { memberId: string; groupInstanceId: string | null; metadata: Uint8Array }[];
};

export type SyncResult = {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Uint8Array;
};

/** What a group needs from its coordinator. */
export type ClassicHost = {
  now(): number;
  initialRebalanceDelayMs(): number;
  /** Writes the group's metadata record; resolves NONE, or the error code of the failed write. */
  persist(group: ClassicGroup): Promise<number>;
  /** Called when a group may have become removable (Empty, no offsets). */
  maybeForget(group: ClassicGroup): void;
  newMemberId(prefix: string): string;
  log(level: "debug" | "info" | "warn" | "error", message: string): void;
};

const EMPTY = new Uint8Array(0);

/** A JoinGroup answer carrying only an error (no generation, leader or members). */
export function joinFailure(errorCode: number, memberId: string): JoinResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: "",
    skipAssignment: false,
    memberId,
    members: [],
  };
}

/** A SyncGroup answer carrying only an error (no protocol, empty assignment). */
export function syncFailure(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
}

export class ClassicMember {
  memberId: string;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
  assignment: Uint8Array = EMPTY;
  joinWaiter: ((r: JoinResult) => void) | null = null;
  syncWaiter: ((r: SyncResult) => void) | null = null;
  joinVersion = 0;
  lastHeartbeat = 0;
  isNew = false;
  timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    memberId: string,
    groupInstanceId: string | null,
    clientId: string,
    clientHost: string,
    sessionTimeoutMs: number,
    rebalanceTimeoutMs: number,
    protocolType: string,
    protocols: Protocol[],
  ) {
    this.memberId = memberId;
    this.groupInstanceId = groupInstanceId;
    this.clientId = clientId;
    this.clientHost = clientHost;
    this.sessionTimeoutMs = sessionTimeoutMs;
    this.rebalanceTimeoutMs = rebalanceTimeoutMs;
    this.protocolType = protocolType;
    this.protocols = protocols;
  }

  metadataFor(protocol: string | null): Uint8Array {
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY;
  }
}

export type JoinRequest = {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
  /** JoinGroup v4+: a new dynamic member first gets MEMBER_ID_REQUIRED. */
  requireKnownMemberId: boolean;
  /** v9+ knows skipAssignment. */
  version: number;
};

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameProtocols(a: Protocol[], b: Protocol[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i].name && sameBytes(p.metadata, b[i].metadata));
}

export class ClassicGroup {
  readonly kind = "classic";
  readonly groupId: string;
  state: ClassicState = "Empty";
  stateTimestamp: number;
  protocolType: string | null = null;
  protocolName: string | null = null;
  generationId = 0;
  leaderId: string | null = null;
  readonly members = new Map<string, ClassicMember>();
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, each with its expiry timer. */
  readonly pendingMembers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Members that must still SyncGroup in this generation. */
  readonly pendingSync = new Set<string>();
  readonly offsets = new Map<string, CommittedOffset>();
  private joinTimer: ReturnType<typeof setTimeout> | null = null;
  private syncTimer: ReturnType<typeof setTimeout> | null = null;
  private newMemberAdded = false;
  private delayRemaining = 0;
  /** group.initial.rebalance.delay.ms is running: the join phase does not complete early. */
  private initialDelayActive = false;
  private readonly host: ClassicHost;

  constructor(groupId: string, host: ClassicHost) {
    this.groupId = groupId;
    this.host = host;
    this.stateTimestamp = host.now();
  }

  private transition(state: ClassicState) {
    this.state = state;
    this.stateTimestamp = this.host.now();
  }

  isEmpty(): boolean {
    return this.members.size === 0 && this.pendingMembers.size === 0;
  }

  /** Protocol names every member supports, in no particular order. */
  private candidateProtocols(): Set<string> {
    let out: Set<string> | null = null;
    for (const m of this.members.values()) {
      const names = new Set<string>(m.protocols.map((p) => p.name));
      const prev: Set<string> | null = out;
      out = prev === null ? names : new Set<string>([...prev].filter((n: string) => names.has(n)));
    }
    return out ?? new Set<string>();
  }

  private supportsProtocols(protocolType: string, protocols: Protocol[]): boolean {
    if (this.state === "Empty" || this.members.size === 0) return protocolType.length > 0 && protocols.length > 0;
    if (this.protocolType !== protocolType) return false;
    const candidates = this.candidateProtocols();
    return protocols.some((p) => candidates.has(p.name));
  }

  /** Each member votes for its most preferred candidate protocol; the most votes win. */
  private selectProtocol(): string | null {
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.protocols.find((p) => candidates.has(p.name));
      if (choice) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
    }
    let best: string | null = null;
    for (const [name, n] of votes) if (best === null || n > votes.get(best)!) best = name;
    return best;
  }

  private rebalanceTimeoutMs(): number {
    let t = 0;
    for (const m of this.members.values()) t = Math.max(t, m.rebalanceTimeoutMs);
    return t;
  }

  private result(errorCode: number, memberId: string, extra: Partial<JoinResult> = {}): JoinResult {
    return { ...joinFailure(errorCode, memberId), ...extra };
  }

  private currentMembers() {
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadataFor(this.protocolName),
    }));
  }

  private generationResult(memberId: string, asLeader: boolean, skipAssignment = false): JoinResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leader: this.leaderId ?? "",
      skipAssignment,
      memberId,
      members: asLeader ? this.currentMembers() : [],
    };
  }

  // ---- JoinGroup

  join(req: JoinRequest, maxSize: number): JoinResult | Promise<JoinResult> {
    if (this.state === "Dead") return this.result(ErrorCode.COORDINATOR_NOT_AVAILABLE, req.memberId);
    if (!this.supportsProtocols(req.protocolType, req.protocols)) {
      return this.result(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, req.memberId);
    }
    if (req.memberId === "") {
      const knownStatic = req.groupInstanceId !== null && this.staticMembers.has(req.groupInstanceId);
      if (!knownStatic && this.members.size + this.pendingMembers.size >= maxSize) {
        return this.result(ErrorCode.GROUP_MAX_SIZE_REACHED, "");
      }
      const memberId = this.host.newMemberId(req.groupInstanceId ?? req.clientId);
      if (req.groupInstanceId !== null) {
        if (knownStatic) return this.replaceStaticMember(memberId, req);
        return this.addMemberAndRebalance(memberId, req);
      }
      if (req.requireKnownMemberId) {
        this.pendingMembers.set(memberId, setTimeout(() => this.expirePending(memberId), req.sessionTimeoutMs));
        return this.result(ErrorCode.MEMBER_ID_REQUIRED, memberId);
      }
      return this.addMemberAndRebalance(memberId, req);
    }
    // A known (or pending) member id.
    const pending = this.pendingMembers.get(req.memberId);
    if (pending !== undefined) {
      clearTimeout(pending);
      this.pendingMembers.delete(req.memberId);
      return this.addMemberAndRebalance(req.memberId, req);
    }
    const fence = this.validateMember(req.memberId, req.groupInstanceId);
    if (fence !== ErrorCode.NONE) return this.result(fence, req.memberId);
    const member = this.members.get(req.memberId)!;
    switch (this.state) {
      case "PreparingRebalance":
        return this.updateMemberAndRebalance(member, req);
      case "CompletingRebalance":
        if (sameProtocols(member.protocols, req.protocols)) {
          this.touch(member);
          return this.generationResult(member.memberId, member.memberId === this.leaderId);
        }
        return this.updateMemberAndRebalance(member, req);
      case "Stable":
        if (member.memberId === this.leaderId || !sameProtocols(member.protocols, req.protocols)) {
          return this.updateMemberAndRebalance(member, req);
        }
        this.touch(member);
        return this.generationResult(member.memberId, false);
      default:
        return this.result(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId);
    }
  }

  /** UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID unless `memberId` (with its instance id) is a member. */
  validateMember(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
      return ErrorCode.NONE;
    }
    return this.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  private park(member: ClassicMember, version: number): Promise<JoinResult> {
    if (member.joinWaiter) member.joinWaiter(this.result(ErrorCode.REBALANCE_IN_PROGRESS, member.memberId));
    member.joinVersion = version;
    return new Promise((resolve) => {
      member.joinWaiter = resolve;
    });
  }

  private addMemberAndRebalance(memberId: string, req: JoinRequest): Promise<JoinResult> {
    const m = new ClassicMember(
      memberId,
      req.groupInstanceId,
      req.clientId,
      req.clientHost,
      req.sessionTimeoutMs,
      req.rebalanceTimeoutMs,
      req.protocolType,
      req.protocols,
    );
    m.isNew = true;
    this.members.set(memberId, m);
    if (m.groupInstanceId !== null) this.staticMembers.set(m.groupInstanceId, memberId);
    if (this.members.size === 1) this.protocolType = req.protocolType;
    if (this.leaderId === null) this.leaderId = memberId;
    this.newMemberAdded = true;
    const p = this.park(m, req.version);
    this.touch(m);
    if (this.state === "PreparingRebalance") this.maybeCompleteJoin();
    else this.prepareRebalance(`member ${memberId} joined`);
    return p;
  }

  private updateMemberAndRebalance(member: ClassicMember, req: JoinRequest): Promise<JoinResult> {
    member.protocols = req.protocols;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    const p = this.park(member, req.version);
    this.touch(member);
    if (this.state === "PreparingRebalance") this.maybeCompleteJoin();
    else this.prepareRebalance(`member ${member.memberId} rejoined`);
    return p;
  }

  private replaceStaticMember(newId: string, req: JoinRequest): JoinResult | Promise<JoinResult> {
    const oldId = this.staticMembers.get(req.groupInstanceId!)!;
    const old = this.members.get(oldId)!;
    const m = new ClassicMember(
      newId,
      req.groupInstanceId,
      req.clientId,
      req.clientHost,
      req.sessionTimeoutMs,
      req.rebalanceTimeoutMs,
      req.protocolType,
      old.protocols,
    );
    m.assignment = old.assignment;
    this.stopTimer(old);
    old.joinWaiter?.(this.result(ErrorCode.FENCED_INSTANCE_ID, oldId));
    old.syncWaiter?.(syncFailure(ErrorCode.FENCED_INSTANCE_ID));
    // Keep the member's place (insertion order decides the next leader).
    const entries = [...this.members.entries()].map((
      [id, x],
    ) => (id === oldId ? [newId, m] as const : [id, x] as const));
    this.members.clear();
    for (const [id, x] of entries) this.members.set(id, x);
    this.staticMembers.set(req.groupInstanceId!, newId);
    if (this.leaderId === oldId) this.leaderId = newId;
    if (this.pendingSync.delete(oldId)) this.pendingSync.add(newId);
    this.host.log(
      "info",
      `group ${this.groupId}: static member ${req.groupInstanceId} rejoined as ${newId}, fencing ${oldId}`,
    );
    switch (this.state) {
      case "Stable": {
        // As Kafka: no rebalance unless the protocol the group would select next changes. The metadata itself may
        // differ (a restarted Java consumer sends generation -1 and no owned partitions); a leader is told to
        // skip the assignment and rebalances itself if its subscription changed (KIP-814).
        m.protocols = req.protocols;
        if (this.selectProtocol() === this.protocolName) {
          this.touch(m);
          void this.host.persist(this);
          const isLeader = newId === this.leaderId;
          return this.generationResult(newId, isLeader, isLeader && req.version >= 9);
        }
        return this.updateMemberAndRebalance(m, req);
      }
      case "CompletingRebalance":
      case "PreparingRebalance":
        return this.updateMemberAndRebalance(m, req);
      default:
        return this.result(ErrorCode.UNKNOWN_MEMBER_ID, newId);
    }
  }

  private expirePending(memberId: string) {
    if (!this.pendingMembers.delete(memberId)) return;
    if (this.state === "PreparingRebalance") this.maybeCompleteJoin();
    else if (this.state === "Empty") this.host.maybeForget(this);
  }

  // ---- rebalance

  prepareRebalance(reason: string) {
    if (this.state === "Dead") return;
    if (this.state === "CompletingRebalance") {
      for (const m of this.members.values()) {
        m.assignment = EMPTY;
        if (m.syncWaiter) {
          const w = m.syncWaiter;
          m.syncWaiter = null;
          w(syncFailure(ErrorCode.REBALANCE_IN_PROGRESS));
        }
      }
    }
    this.clearSyncTimer();
    this.pendingSync.clear();
    const wasEmpty = this.state === "Empty";
    this.transition("PreparingRebalance");
    this.host.log("debug", `group ${this.groupId}: preparing rebalance (generation ${this.generationId}): ${reason}`);
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    const timeout = this.rebalanceTimeoutMs();
    if (wasEmpty) {
      const delay = Math.min(this.host.initialRebalanceDelayMs(), timeout);
      this.newMemberAdded = false;
      this.initialDelayActive = true;
      this.delayRemaining = Math.max(timeout - delay, 0);
      this.joinTimer = setTimeout(() => this.initialDelayExpired(), delay);
    } else {
      this.joinTimer = setTimeout(() => this.completeJoin(), timeout);
      this.maybeCompleteJoin();
    }
  }

  private initialDelayExpired() {
    this.joinTimer = null;
    if (this.state !== "PreparingRebalance") return;
    if (this.newMemberAdded && this.delayRemaining > 0) {
      this.newMemberAdded = false;
      const delay = Math.min(this.host.initialRebalanceDelayMs(), this.delayRemaining);
      this.delayRemaining -= delay;
      this.joinTimer = setTimeout(() => this.initialDelayExpired(), delay);
      return;
    }
    this.completeJoin();
  }

  /** Completes the join phase early when every member has rejoined (not during the initial delay). */
  maybeCompleteJoin() {
    if (this.state !== "PreparingRebalance") return;
    if (this.initialDelayActive) return;
    for (const m of this.members.values()) if (!m.joinWaiter) return;
    if (this.pendingMembers.size > 0) return;
    this.completeJoin();
  }

  private completeJoin() {
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    this.joinTimer = null;
    this.delayRemaining = 0;
    this.initialDelayActive = false;
    if (this.state !== "PreparingRebalance") return;
    for (const m of [...this.members.values()]) {
      if (!m.joinWaiter) {
        this.host.log("info", `group ${this.groupId}: member ${m.memberId} did not rejoin in time; removing it`);
        this.removeMember(m);
      }
    }
    this.generationId++;
    if (this.members.size === 0) {
      this.protocolName = null;
      this.leaderId = null;
      this.transition("Empty");
      void this.host.persist(this);
      this.host.maybeForget(this);
      return;
    }
    this.protocolName = this.selectProtocol();
    if (this.leaderId === null || !this.members.has(this.leaderId)) this.leaderId = this.members.keys().next().value!;
    this.transition("CompletingRebalance");
    this.host.log(
      "debug",
      `group ${this.groupId}: generation ${this.generationId} with ${this.members.size} member(s), protocol ${this.protocolName}`,
    );
    const allMembers = this.currentMembers();
    for (const m of this.members.values()) {
      const w = m.joinWaiter!;
      m.joinWaiter = null;
      m.isNew = false;
      this.pendingSync.add(m.memberId);
      this.touch(m);
      const isLeader = m.memberId === this.leaderId;
      w({ ...this.generationResult(m.memberId, false), members: isLeader ? allMembers : [] });
    }
    this.clearSyncTimer();
    this.syncTimer = setTimeout(() => this.expirePendingSync(), this.rebalanceTimeoutMs());
  }

  private clearSyncTimer() {
    if (this.syncTimer !== null) clearTimeout(this.syncTimer);
    this.syncTimer = null;
  }

  private expirePendingSync() {
    this.syncTimer = null;
    if (this.pendingSync.size === 0) return;
    if (this.state !== "CompletingRebalance" && this.state !== "Stable") return;
    for (const id of [...this.pendingSync]) {
      const m = this.members.get(id);
      this.host.log(
        "info",
        `group ${this.groupId}: member ${id} did not SyncGroup within the rebalance timeout; removing it`,
      );
      if (m) this.removeMember(m);
    }
    this.pendingSync.clear();
    this.prepareRebalance("members failed to sync");
  }

  // ---- SyncGroup

  sync(
    memberId: string,
    groupInstanceId: string | null,
    generationId: number,
    protocolType: string | null,
    protocolName: string | null,
    assignments: { memberId: string; assignment: Uint8Array }[],
  ): SyncResult | Promise<SyncResult> {
    if (this.state === "Dead") return syncFailure(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const invalid = this.validateMember(memberId, groupInstanceId);
    if (invalid !== ErrorCode.NONE) return syncFailure(invalid);
    if (generationId !== this.generationId) return syncFailure(ErrorCode.ILLEGAL_GENERATION);
    if (
      (protocolType !== null && protocolType !== this.protocolType) ||
      (protocolName !== null && protocolName !== this.protocolName)
    ) {
      return syncFailure(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    const member = this.members.get(memberId)!;
    const ok = (assignment: Uint8Array): SyncResult => ({
      errorCode: ErrorCode.NONE,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      assignment,
    });
    switch (this.state) {
      case "Empty":
        return syncFailure(ErrorCode.UNKNOWN_MEMBER_ID);
      case "PreparingRebalance":
        return syncFailure(ErrorCode.REBALANCE_IN_PROGRESS);
      case "Stable":
        this.pendingSync.delete(memberId);
        if (this.pendingSync.size === 0) this.clearSyncTimer();
        this.touch(member);
        return ok(member.assignment);
      case "CompletingRebalance": {
        this.pendingSync.delete(memberId);
        this.touch(member);
        if (member.syncWaiter) member.syncWaiter(syncFailure(ErrorCode.REBALANCE_IN_PROGRESS));
        const p = new Promise<SyncResult>((resolve) => {
          member.syncWaiter = resolve;
        });
        if (memberId === this.leaderId) {
          const given = new Map(assignments.map((a) => [a.memberId, a.assignment]));
          for (const m of this.members.values()) m.assignment = given.get(m.memberId) ?? EMPTY;
          const generation = this.generationId;
          // The SyncGroups waiting now (the leader's included) are answered when the assignment is stored.
          const waiting = [...this.members.values()].filter((m) => m.syncWaiter).map((m) => [m, m.syncWaiter] as const);
          this.transition("Stable");
          if (this.pendingSync.size === 0) this.clearSyncTimer();
          this.host.persist(this).then((code) => {
            if (this.generationId !== generation || this.state !== "Stable") {
              // A member joined while the assignment was being written: as Kafka, the waiting members are told
              // REBALANCE_IN_PROGRESS and rejoin (they were left waiting until their request timed out).
              for (const [m, w] of waiting) {
                if (m.syncWaiter !== w) continue;
                m.syncWaiter = null;
                w!(syncFailure(ErrorCode.REBALANCE_IN_PROGRESS));
              }
              return;
            }
            // Kafka's mapping: a storage error NOT_COORDINATOR, a missing log COORDINATOR_NOT_AVAILABLE,
            // a record too large UNKNOWN_SERVER_ERROR.
            const error = code === ErrorCode.RECORD_LIST_TOO_LARGE ? ErrorCode.UNKNOWN_SERVER_ERROR : code;
            for (const m of this.members.values()) {
              if (!m.syncWaiter) continue;
              const w = m.syncWaiter;
              m.syncWaiter = null;
              w(code === ErrorCode.NONE ? ok(m.assignment) : syncFailure(error));
            }
            if (code !== ErrorCode.NONE) this.prepareRebalance("the group's metadata could not be stored");
          });
        }
        return p;
      }
    }
    return syncFailure(ErrorCode.UNKNOWN_MEMBER_ID);
  }

  // ---- Heartbeat, LeaveGroup, expiry

  heartbeat(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.state === "Dead") return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const invalid = this.validateMember(memberId, groupInstanceId);
    if (invalid !== ErrorCode.NONE) return invalid;
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    const member = this.members.get(memberId)!;
    this.touch(member);
    return this.state === "PreparingRebalance" ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  /** One member of a LeaveGroup; returns its error code. */
  leave(memberId: string, groupInstanceId: string | null): number {
    if (this.state === "Dead") return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (memberId !== "" && memberId !== current) return ErrorCode.FENCED_INSTANCE_ID;
      memberId = current;
    } else {
      const pending = this.pendingMembers.get(memberId);
      if (pending !== undefined) {
        clearTimeout(pending);
        this.pendingMembers.delete(memberId);
        if (this.state === "PreparingRebalance") this.maybeCompleteJoin();
        return ErrorCode.NONE;
      }
    }
    const m = this.members.get(memberId);
    if (!m) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.host.log("debug", `group ${this.groupId}: member ${memberId} left`);
    this.removeMemberAndUpdate(m, `member ${memberId} left`);
    return ErrorCode.NONE;
  }

  private removeMember(m: ClassicMember) {
    this.stopTimer(m);
    this.members.delete(m.memberId);
    if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) === m.memberId) {
      this.staticMembers.delete(m.groupInstanceId);
    }
    this.pendingSync.delete(m.memberId);
    if (m.joinWaiter) {
      const w = m.joinWaiter;
      m.joinWaiter = null;
      w(this.result(ErrorCode.UNKNOWN_MEMBER_ID, m.memberId));
    }
    if (m.syncWaiter) {
      const w = m.syncWaiter;
      m.syncWaiter = null;
      w(syncFailure(ErrorCode.UNKNOWN_MEMBER_ID));
    }
    if (this.leaderId === m.memberId) {
      this.leaderId = null;
      for (const x of this.members.values()) {
        if (this.state !== "PreparingRebalance" || x.joinWaiter) {
          this.leaderId = x.memberId;
          break;
        }
      }
    }
  }

  private removeMemberAndUpdate(m: ClassicMember, reason: string) {
    this.removeMember(m);
    switch (this.state) {
      case "Stable":
      case "CompletingRebalance":
        this.prepareRebalance(reason);
        break;
      case "PreparingRebalance":
        this.maybeCompleteJoin();
        break;
    }
  }

  /** Records a sign of life and (re)arms the session timer. */
  private touch(m: ClassicMember) {
    m.lastHeartbeat = this.host.now();
    if (m.timer === null) this.armTimer(m, m.sessionTimeoutMs);
  }

  private armTimer(m: ClassicMember, ms: number) {
    m.timer = setTimeout(() => {
      m.timer = null;
      if (this.members.get(m.memberId) !== m) return;
      const left = m.lastHeartbeat + m.sessionTimeoutMs - this.host.now();
      if (left > 0 || m.joinWaiter || m.syncWaiter) {
        this.armTimer(m, Math.max(left, m.sessionTimeoutMs / 4, 10));
        return;
      }
      this.host.log(
        "info",
        `group ${this.groupId}: member ${m.memberId} session timed out after ${m.sessionTimeoutMs} ms`,
      );
      this.removeMemberAndUpdate(m, `member ${m.memberId} session expired`);
    }, ms);
  }

  private stopTimer(m: ClassicMember) {
    if (m.timer !== null) clearTimeout(m.timer);
    m.timer = null;
  }

  /** Answers every parked request with `errorCode` and stops all timers (shutdown, deletion). */
  shutdown(errorCode: number) {
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    this.joinTimer = null;
    this.clearSyncTimer();
    for (const t of this.pendingMembers.values()) clearTimeout(t);
    for (const m of this.members.values()) {
      this.stopTimer(m);
      if (m.joinWaiter) {
        const w = m.joinWaiter;
        m.joinWaiter = null;
        w(this.result(errorCode, m.memberId));
      }
      if (m.syncWaiter) {
        const w = m.syncWaiter;
        m.syncWaiter = null;
        w(syncFailure(errorCode));
      }
    }
  }

  markDead() {
    this.shutdown(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    this.members.clear();
    this.staticMembers.clear();
    this.pendingMembers.clear();
    this.transition("Dead");
  }

  // ---- persistence

  snapshot(): ClassicSnapshot {
    return {
      type: "classic",
      protocolType: this.protocolType,
      generationId: this.generationId,
      protocolName: this.protocolName,
      leaderId: this.leaderId,
      stateTimestamp: this.stateTimestamp,
      members: this.state === "Stable" || this.state === "CompletingRebalance"
        ? [...this.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          rebalanceTimeoutMs: m.rebalanceTimeoutMs,
          sessionTimeoutMs: m.sessionTimeoutMs,
          metadata: m.metadataFor(this.protocolName),
          assignment: m.assignment,
        }))
        : [],
    };
  }

  /** Rebuilds a group from its stored record: Stable with its members (whose sessions restart now), or Empty. */
  restore(s: ClassicSnapshot) {
    this.protocolType = s.protocolType;
    this.generationId = s.generationId;
    this.protocolName = s.protocolName;
    this.leaderId = s.leaderId;
    this.stateTimestamp = s.stateTimestamp;
    for (const m of this.members.values()) this.stopTimer(m);
    this.members.clear();
    this.staticMembers.clear();
    for (const sm of s.members) {
      const m = new ClassicMember(
        sm.memberId,
        sm.groupInstanceId,
        sm.clientId,
        sm.clientHost,
        sm.sessionTimeoutMs,
        sm.rebalanceTimeoutMs,
        s.protocolType ?? "",
        s.protocolName === null ? [] : [{ name: s.protocolName, metadata: sm.metadata }],
      );
      m.assignment = sm.assignment;
      this.members.set(m.memberId, m);
      if (m.groupInstanceId !== null) this.staticMembers.set(m.groupInstanceId, m.memberId);
    }
    this.state = this.members.size > 0 ? "Stable" : "Empty";
  }

  /** Starts session timers of restored members (after replay, so the clock starts at load time). */
  startSessions() {
    for (const m of this.members.values()) this.touch(m);
  }
}
