// A member of a classic consumer group (JoinGroup/SyncGroup/Heartbeat/OffsetCommit/LeaveGroup) for
// `chronik consume -G`: subscribes to topics, and as leader assigns partitions with the range
// strategy, as kcat's balanced consumer does. A rebalance is noticed by Heartbeat; the caller
// commits and joins again.
import { decodeVersionedData, encodeVersionedData } from "../protocol/codec.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { OffsetCommit } from "../protocol/messages/08_offset_commit.ts";
import { JoinGroup } from "../protocol/messages/11_join_group.ts";
import { Heartbeat } from "../protocol/messages/12_heartbeat.ts";
import { LeaveGroup } from "../protocol/messages/13_leave_group.ts";
import { SyncGroup } from "../protocol/messages/14_sync_group.ts";
import {
  ConsumerProtocolAssignmentSchema,
  ConsumerProtocolSubscriptionSchema,
} from "../protocol/messages/consumer_protocol.ts";
import type { KafkaClient } from "./client.ts";
import type { KafkaConnection } from "./connection.ts";
import { check } from "./errors.ts";

const SESSION_TIMEOUT_MS = 10_000;
const HEARTBEAT_MS = 3_000;

/** Kafka's RangeAssignor for one topic: consecutive partitions, the first members get one more. */
export function rangeAssign(members: string[], partitions: number[]): Map<string, number[]> {
  const sorted = [...members].sort();
  const ps = [...partitions].sort((a, b) => a - b);
  const out = new Map<string, number[]>();
  const per = Math.floor(ps.length / sorted.length);
  const extra = ps.length % sorted.length;
  let at = 0;
  sorted.forEach((m, i) => {
    const n = per + (i < extra ? 1 : 0);
    out.set(m, ps.slice(at, at + n));
    at += n;
  });
  return out;
}

export class GroupMember {
  private readonly client: KafkaClient;
  readonly group: string;
  private readonly topic: string;
  private readonly partitions: number[];
  private coordinator: KafkaConnection | null = null;
  memberId = "";
  generation = -1;
  /** Set when the coordinator asks for a rebalance (or the member was fenced): join again. */
  rejoinNeeded = false;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(client: KafkaClient, group: string, topic: string, partitions: number[]) {
    this.client = client;
    this.group = group;
    this.topic = topic;
    this.partitions = partitions;
  }

  /** Joins (or rejoins) the group; resolves with this member's partitions. */
  async join(): Promise<number[]> {
    this.stopHeartbeats();
    this.coordinator = await this.client.coordinator(this.group, 0);
    const c = this.coordinator;
    const metadata = encodeVersionedData(ConsumerProtocolSubscriptionSchema, 0, {
      topics: [this.topic],
      userData: null,
      ownedPartitions: [],
      generationId: -1,
      rackId: null,
    });
    for (let attempt = 0; attempt < 5; attempt++) {
      const j = await c.request(JoinGroup, {
        groupId: this.group,
        sessionTimeoutMs: SESSION_TIMEOUT_MS,
        rebalanceTimeoutMs: SESSION_TIMEOUT_MS,
        memberId: this.memberId,
        groupInstanceId: null,
        protocolType: "consumer",
        protocols: [{ name: "range", metadata }],
        reason: null,
      });
      if (j.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
        this.memberId = j.memberId ?? "";
        continue;
      }
      if (j.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
        this.memberId = "";
        continue;
      }
      check(j.errorCode ?? 0, null, `joining group ${this.group}`);
      this.memberId = j.memberId ?? this.memberId;
      this.generation = j.generationId ?? -1;
      let assignments: { memberId: string; assignment: Uint8Array }[] = [];
      if (j.leader === this.memberId) {
        const members = (j.members ?? []).map((m) => m.memberId ?? "");
        const plan = rangeAssign(members, this.partitions);
        assignments = members.map((m) => ({
          memberId: m,
          assignment: encodeVersionedData(ConsumerProtocolAssignmentSchema, 0, {
            assignedPartitions: [{ topic: this.topic, partitions: plan.get(m) ?? [] }],
            userData: null,
          }),
        }));
      }
      const s = await c.request(SyncGroup, {
        groupId: this.group,
        generationId: this.generation,
        memberId: this.memberId,
        groupInstanceId: null,
        protocolType: "consumer",
        protocolName: "range",
        assignments,
      });
      if (s.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) continue;
      check(s.errorCode ?? 0, null, `syncing group ${this.group}`);
      this.rejoinNeeded = false;
      this.startHeartbeats();
      const bytes = s.assignment ?? new Uint8Array(0);
      if (bytes.length === 0) return [];
      const a = decodeVersionedData(ConsumerProtocolAssignmentSchema, bytes).value;
      return a.assignedPartitions.filter((tp) => tp.topic === this.topic).flatMap((tp) => tp.partitions).sort((
        x,
        y,
      ) => x - y);
    }
    throw new Error(`could not join group ${this.group}: it kept rebalancing`);
  }

  private startHeartbeats(): void {
    this.timer = setInterval(() => {
      const c = this.coordinator;
      if (!c) return;
      c.request(Heartbeat, {
        groupId: this.group,
        generationId: this.generation,
        memberId: this.memberId,
        groupInstanceId: null,
      }).then((r) => {
        if ((r.errorCode ?? 0) !== 0) this.rejoinNeeded = true;
      }, () => {
        this.rejoinNeeded = true;
      });
    }, HEARTBEAT_MS);
  }

  private stopHeartbeats(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Commits the next offsets to read (Kafka's convention: the offset after the last record processed). */
  async commit(offsets: Map<number, bigint>): Promise<void> {
    if (!this.coordinator || offsets.size === 0) return;
    const r = await this.coordinator.request(OffsetCommit, {
      groupId: this.group,
      generationIdOrMemberEpoch: this.generation,
      memberId: this.memberId,
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [{
        name: this.topic,
        partitions: [...offsets].map(([partitionIndex, committedOffset]) => ({
          partitionIndex,
          committedOffset,
          committedLeaderEpoch: -1,
          commitTimestamp: -1n,
          committedMetadata: "",
        })),
      }],
    }, 9); // v10+ name topics by id only
    for (const t of r.topics ?? []) {
      for (const p of t.partitions ?? []) {
        if (p.errorCode === ErrorCode.REBALANCE_IN_PROGRESS || p.errorCode === ErrorCode.ILLEGAL_GENERATION) {
          this.rejoinNeeded = true;
          continue;
        }
        check(p.errorCode ?? 0, null, `committing ${t.name}-${p.partitionIndex}`);
      }
    }
  }

  /** Leaves the group (its partitions go to the others at once). */
  async leave(): Promise<void> {
    this.stopHeartbeats();
    if (!this.coordinator || this.memberId === "") return;
    await this.coordinator.request(LeaveGroup, {
      groupId: this.group,
      memberId: this.memberId,
      members: [{ memberId: this.memberId, groupInstanceId: null, reason: "chronik consume finished" }],
    }).catch(() => {});
  }
}
