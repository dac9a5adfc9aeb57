// Online migration between the classic and the consumer protocol (group.consumer.migration.policy),
// driven over the wire like clients would: classic members (JoinGroup/SyncGroup/Heartbeat with
// the embedded consumer protocol) and KIP-848 members (ConsumerGroupHeartbeat v1) in one group.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { decodeVersionedData, encodeVersionedData, ZERO_UUID } from "../../src/protocol/codec.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { OffsetCommit } from "../../src/protocol/messages/08_offset_commit.ts";
import { OffsetFetch } from "../../src/protocol/messages/09_offset_fetch.ts";
import { JoinGroup } from "../../src/protocol/messages/11_join_group.ts";
import type { JoinGroupResponse } from "../../src/protocol/messages/11_join_group.ts";
import { Heartbeat } from "../../src/protocol/messages/12_heartbeat.ts";
import { LeaveGroup } from "../../src/protocol/messages/13_leave_group.ts";
import { SyncGroup } from "../../src/protocol/messages/14_sync_group.ts";
import { DescribeGroups } from "../../src/protocol/messages/15_describe_groups.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { ConsumerGroupHeartbeat } from "../../src/protocol/messages/68_consumer_group_heartbeat.ts";
import type { ConsumerGroupHeartbeatResponse } from "../../src/protocol/messages/68_consumer_group_heartbeat.ts";
import { ConsumerGroupDescribe } from "../../src/protocol/messages/69_consumer_group_describe.ts";
import {
  ConsumerProtocolAssignmentSchema,
  ConsumerProtocolSubscriptionSchema,
} from "../../src/protocol/messages/consumer_protocol.ts";
import { memoryLogStore } from "../../src/storage/memory.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";

const CONFIG = {
  "group.initial.rebalance.delay.ms": 100,
  "group.min.session.timeout.ms": 100,
  "group.consumer.heartbeat.interval.ms": 100,
  "group.consumer.session.timeout.ms": 3000,
};

let broker: Broker;
let c: WireClient;

type Owned = { topic: string; partitions: number[] }[];

/** A classic consumer speaking JoinGroup v9 / SyncGroup v5 / Heartbeat v4 with the "consumer" protocol type. */
class Classic {
  memberId = "";
  generation = -1;
  owned: Owned = [];
  leader = false;
  lastJoin: JoinGroupResponse | null = null;
  constructor(
    readonly group: string,
    readonly topics: string[],
    readonly opts: { cooperative?: boolean; rebalanceMs?: number; instance?: string } = {},
  ) {}

  private metadata(): Uint8Array {
    // Eager clients give up everything before they rejoin; cooperative ones report what they keep.
    const ownedPartitions = this.opts.cooperative ? this.owned : [];
    return encodeVersionedData(ConsumerProtocolSubscriptionSchema, 1, {
      topics: this.topics,
      userData: null,
      ownedPartitions,
      generationId: -1,
      rackId: null,
    });
  }

  async join(): Promise<JoinGroupResponse> {
    if (!this.opts.cooperative) this.owned = [];
    const send = () =>
      c.send(JoinGroup, 9, {
        groupId: this.group,
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: this.opts.rebalanceMs ?? 10_000,
        memberId: this.memberId,
        groupInstanceId: this.opts.instance ?? null,
        protocolType: "consumer",
        protocols: [{ name: this.opts.cooperative ? "cooperative-sticky" : "range", metadata: this.metadata() }],
        reason: null,
      });
    let r = await send();
    if (r.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
      this.memberId = r.memberId!;
      r = await send();
    }
    this.lastJoin = r;
    if (r.errorCode === 0) {
      this.memberId = r.memberId!;
      this.generation = r.generationId!;
      this.leader = r.leader === this.memberId;
    }
    return r;
  }

  /** SyncGroup; a leader proposes `proposal` (member id -> partitions of `topic`). */
  async sync(proposal: Map<string, number[]> = new Map(), topic = this.topics[0]) {
    const assignments = this.leader
      ? [...proposal].map(([memberId, partitions]) => ({
        memberId,
        assignment: encodeVersionedData(ConsumerProtocolAssignmentSchema, 1, {
          assignedPartitions: [{ topic, partitions }],
          userData: null,
        }),
      }))
      : [];
    const r = await c.send(SyncGroup, 5, {
      groupId: this.group,
      generationId: this.generation,
      memberId: this.memberId,
      groupInstanceId: this.opts.instance ?? null,
      protocolType: "consumer",
      protocolName: this.lastJoin!.protocolName ?? null,
      assignments,
    });
    if (r.errorCode === 0) {
      this.owned = r.assignment!.length
        ? decodeVersionedData(ConsumerProtocolAssignmentSchema, r.assignment!).value.assignedPartitions.map((t) => ({
          topic: t.topic,
          partitions: [...t.partitions].sort((a, b) => a - b),
        }))
        : [];
    }
    return r;
  }

  heartbeat(): Promise<number> {
    return c.send(Heartbeat, 4, {
      groupId: this.group,
      generationId: this.generation,
      memberId: this.memberId,
      groupInstanceId: this.opts.instance ?? null,
    }).then((r) => r.errorCode!);
  }

  /** One poll of a real client: heartbeat, and rejoin + sync when told to. */
  async poll(): Promise<number> {
    const code = await this.heartbeat();
    if (code === ErrorCode.REBALANCE_IN_PROGRESS || code === ErrorCode.ILLEGAL_GENERATION) {
      await this.join();
      await this.sync();
    }
    return code;
  }

  count(): number {
    return this.owned.reduce((n, t) => n + t.partitions.length, 0);
  }
}

/** A KIP-848 member on ConsumerGroupHeartbeat v1 (its own member id). */
class Modern {
  memberId = crypto.randomUUID();
  epoch = 0;
  owned: { topicId: string; partitions: number[] }[] = [];
  last: ConsumerGroupHeartbeatResponse | null = null;
  constructor(readonly group: string, readonly topics: string[]) {}

  async beat(epoch = this.epoch): Promise<ConsumerGroupHeartbeatResponse> {
    const joining = epoch === 0;
    const r = await c.send(ConsumerGroupHeartbeat, 1, {
      groupId: this.group,
      memberId: this.memberId,
      memberEpoch: epoch,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: joining ? 5000 : -1,
      subscribedTopicNames: joining ? this.topics : null,
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: joining ? [] : this.owned,
    });
    this.last = r;
    if (r.errorCode === 0 && epoch >= 0) {
      this.epoch = r.memberEpoch!;
      if (r.assignment) {
        this.owned = r.assignment.topicPartitions!.map((t) => ({ topicId: t.topicId!, partitions: t.partitions! }));
      }
    }
    return r;
  }

  count(): number {
    return this.owned.reduce((n, t) => n + t.partitions.length, 0);
  }
}

const consumerDescribe = async (group: string) =>
  (await c.send(ConsumerGroupDescribe, 0, { groupIds: [group], includeAuthorizedOperations: false })).groups![0];
const classicDescribe = async (group: string) =>
  (await c.send(DescribeGroups, 5, { groups: [group], includeAuthorizedOperations: false })).groups![0];

/** Two classic members sharing `topic` (6 partitions) 3/3 in a Stable classic group. */
async function stableClassicPair(group: string, topic: string, opts: { cooperative?: boolean } = {}) {
  const a = new Classic(group, [topic], opts);
  const b = new Classic(group, [topic], opts);
  const ja = a.join();
  const jb = b.join();
  await Promise.all([ja, jb]);
  const [leader, follower] = a.leader ? [a, b] : [b, a];
  const proposal = new Map([[leader.memberId, [0, 1, 2]], [follower.memberId, [3, 4, 5]]]);
  await Promise.all([leader.sync(proposal, topic), follower.sync()]);
  expect(a.count() + b.count()).toBe(6);
  expect((await classicDescribe(group)).groupState).toBe("Stable");
  return [a, b] as const;
}

/** Polls everyone until the consumer group is Stable. */
async function settle(classics: Classic[], moderns: Modern[], group: string, rounds = 30) {
  for (let i = 0; i < rounds; i++) {
    for (const m of moderns) await m.beat();
    for (const k of classics) await k.poll();
    const g = await consumerDescribe(group);
    if (g.errorCode === 0 && g.groupState === "Stable") {
      // Stable on the coordinator's side: every classic member has synced its final assignment.
      const codes = await Promise.all(classics.map((k) => k.heartbeat()));
      if (codes.every((x) => x === 0)) return g;
    }
  }
  return consumerDescribe(group);
}

function allPartitions(classics: Classic[], moderns: Modern[]): number[] {
  const out: number[] = [];
  for (const k of classics) for (const t of k.owned) out.push(...t.partitions);
  for (const m of moderns) for (const t of m.owned) out.push(...t.partitions);
  return out.sort((x, y) => x - y);
}

beforeAll(async () => {
  broker = await testBroker(CONFIG);
  c = await WireClient.connect(broker.port);
  const topics = ["mig1", "mig2", "mig3", "mig4", "mig5", "mig6"].map((name) => ({
    name,
    numPartitions: 6,
    replicationFactor: 1,
    assignments: [],
    configs: [],
  }));
  await c.send(CreateTopics, 7, { topics, timeoutMs: 1000, validateOnly: false });
});
afterAll(async () => {
  c.close();
  await broker.close();
});

describe("online migration", () => {
  test("upgrade: a KIP-848 member joins a Stable classic group; eager classic members keep going inside the consumer group", async () => {
    const [a, b] = await stableClassicPair("g-up", "mig1");
    const generation = a.generation;
    // Committed offsets of the classic group carry over.
    const committed = await c.send(OffsetCommit, 9, {
      groupId: "g-up",
      generationIdOrMemberEpoch: a.generation,
      memberId: a.memberId,
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [{
        name: "mig1",
        topicId: ZERO_UUID,
        partitions: [{
          partitionIndex: 0,
          committedOffset: 42n,
          committedLeaderEpoch: -1,
          commitTimestamp: -1n,
          committedMetadata: "",
        }],
      }],
    });
    expect(committed.topics![0].partitions![0].errorCode).toBe(0);

    const m = new Modern("g-up", ["mig1"]);
    const r = await m.beat();
    expect(r.errorCode).toBe(0);
    expect(m.count()).toBe(0); // every partition is still held by a classic member
    const g = await consumerDescribe("g-up");
    expect(g.errorCode).toBe(0);
    expect(g.groupEpoch).toBe(generation + 1);
    expect(g.members!.length).toBe(3);
    // The classic members' old assignments became their current ones.
    const held = g.members!.filter((x) => x.memberId !== m.memberId).flatMap((x) =>
      x.assignment!.topicPartitions!.flatMap((t) => t.partitions!)
    );
    expect(held.sort()).toEqual([0, 1, 2, 3, 4, 5]);

    // The classic members are told to rejoin; they give up partitions and the new member gets them.
    expect(await a.heartbeat()).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const final = await settle([a, b], [m], "g-up");
    expect(final.groupState).toBe("Stable");
    expect([a.count(), b.count(), m.count()]).toEqual([2, 2, 2]);
    expect(allPartitions([a, b], [m])).toEqual([0, 1, 2, 3, 4, 5]);
    expect(a.generation).toBe(final.groupEpoch!);
    // JoinGroup answers carry no member list: the coordinator assigns, no client leads.
    expect(a.lastJoin!.leader).toBe("");
    expect(a.lastJoin!.members!.length).toBe(0);

    // A classic member commits with its generation; a stale one is ILLEGAL_GENERATION.
    const commit = (gen: number) =>
      c.send(OffsetCommit, 8, {
        groupId: "g-up",
        generationIdOrMemberEpoch: gen,
        memberId: a.memberId,
        groupInstanceId: null,
        retentionTimeMs: -1n,
        topics: [{
          name: "mig1",
          topicId: ZERO_UUID,
          partitions: [{
            partitionIndex: a.owned[0].partitions[0],
            committedOffset: 7n,
            committedLeaderEpoch: -1,
            commitTimestamp: -1n,
            committedMetadata: "",
          }],
        }],
      })
        .then((x) => x.topics![0].partitions![0].errorCode);
    expect(await commit(a.generation)).toBe(0);
    expect(await commit(a.generation - 1)).toBe(ErrorCode.ILLEGAL_GENERATION);
    const fetched = await c.send(OffsetFetch, 7, {
      groupId: "g-up",
      topics: [{ name: "mig1", partitionIndexes: [0] }],
      groups: [],
      requireStable: false,
    });
    expect(fetched.topics![0].partitions![0].committedOffset).toBeGreaterThanOrEqual(7n);

    // DescribeGroups describes the consumer group in the classic shape.
    const d = await classicDescribe("g-up");
    expect(d.protocolType).toBe("consumer");
    expect(d.groupState).toBe("Stable");
    expect(d.members!.length).toBe(3);
    const mine = d.members!.find((x) => x.memberId === a.memberId)!;
    const asg = decodeVersionedData(ConsumerProtocolAssignmentSchema, mine.memberAssignment!).value;
    expect(asg.assignedPartitions[0].partitions.length).toBe(2);
    for (const x of d.members!) {
      expect(decodeVersionedData(ConsumerProtocolSubscriptionSchema, x.memberMetadata!).value.topics).toEqual(["mig1"]);
    }
  });

  test("cooperative classic members revoke first: a partition moves only after its owner rejoins without it", async () => {
    const [a, b] = await stableClassicPair("g-coop", "mig2", { cooperative: true });
    const m = new Modern("g-coop", ["mig2"]);
    await m.beat();
    expect(await a.heartbeat()).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const before = a.count();
    const j = await a.join(); // still reports its 3 partitions as owned
    expect(j.errorCode).toBe(0);
    await a.sync();
    expect(a.count()).toBe(before - 1); // told what to keep; the revoked one is not yet free
    const g = await consumerDescribe("g-coop");
    const revoking = g.members!.find((x) => x.memberId === a.memberId)!;
    expect(revoking.memberEpoch).toBeLessThan(g.groupEpoch!);
    const final = await settle([a, b], [m], "g-coop");
    expect(final.groupState).toBe("Stable");
    expect([a.count(), b.count(), m.count()]).toEqual([2, 2, 2]);
    expect(allPartitions([a, b], [m])).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test("downgrade: the last KIP-848 member leaves and the group becomes a classic group again", async () => {
    const [a, b] = await stableClassicPair("g-down", "mig3");
    const m = new Modern("g-down", ["mig3"]);
    await m.beat();
    await settle([a, b], [m], "g-down");
    expect((await m.beat(-1)).errorCode).toBe(0);
    const d = await classicDescribe("g-down");
    expect(d.groupState).toBe("PreparingRebalance");
    expect((await consumerDescribe("g-down")).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    // The classic members rejoin the classic group; a leader is elected and assigns again.
    const codes = await Promise.all([a.heartbeat(), b.heartbeat()]);
    for (const code of codes) {
      expect<number[]>([ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.ILLEGAL_GENERATION]).toContain(code);
    }
    await Promise.all([a.join(), b.join()]);
    expect(a.generation).toBe(b.generation);
    const [leader, follower] = a.leader ? [a, b] : [b, a];
    expect(leader.lastJoin!.members!.length).toBe(2);
    await Promise.all([
      leader.sync(new Map([[leader.memberId, [0, 1, 2]], [follower.memberId, [3, 4, 5]]]), "mig3"),
      follower.sync(),
    ]);
    expect((await classicDescribe("g-down")).groupState).toBe("Stable");
    expect(a.count() + b.count()).toBe(6);
    expect(await a.heartbeat()).toBe(0);
  });

  test("a classic member that is told to rejoin and never does is removed after its rebalance timeout", async () => {
    const a = new Classic("g-lazy", ["mig4"], { rebalanceMs: 300 });
    await a.join();
    await a.sync(new Map([[a.memberId, [0, 1, 2, 3, 4, 5]]]), "mig4");
    const m = new Modern("g-lazy", ["mig4"]);
    await m.beat();
    expect(await a.heartbeat()).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    for (let i = 0; i < 8; i++) {
      await Bun.sleep(100);
      await m.beat();
      await a.heartbeat();
    }
    expect(await a.heartbeat()).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(m.count()).toBe(6);
    // With only KIP-848 members left the group stays a consumer group.
    expect((await consumerDescribe("g-lazy")).members!.length).toBe(1);
  });

  test("a classic member joins a non-empty consumer group; LeaveGroup removes it", async () => {
    const m = new Modern("g-join", ["mig5"]);
    await m.beat();
    expect(m.count()).toBe(6);
    const k = new Classic("g-join", ["mig5"]);
    const j = await k.join();
    expect(j.errorCode).toBe(0);
    expect(j.protocolType).toBe("consumer");
    expect(j.protocolName).toBe("range");
    await k.sync();
    expect(k.count()).toBe(0); // m has not released anything yet
    const g = await settle([k], [m], "g-join");
    expect(g.groupState).toBe("Stable");
    expect([k.count(), m.count()]).toEqual([3, 3]);
    // Protocol checks for classic members.
    const wrongType = await c.send(JoinGroup, 9, {
      groupId: "g-join",
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: "",
      groupInstanceId: null,
      protocolType: "connect",
      protocols: [{ name: "range", metadata: new Uint8Array(0) }],
      reason: null,
    });
    expect(wrongType.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const staleSync = await c.send(SyncGroup, 5, {
      groupId: "g-join",
      generationId: k.generation - 1,
      memberId: k.memberId,
      groupInstanceId: null,
      protocolType: "consumer",
      protocolName: "range",
      assignments: [],
    });
    expect(staleSync.errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(
      (await c.send(Heartbeat, 4, { groupId: "g-join", generationId: 1, memberId: m.memberId, groupInstanceId: null }))
        .errorCode,
    ).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const leave = await c.send(LeaveGroup, 5, {
      groupId: "g-join",
      memberId: "",
      members: [{ memberId: k.memberId, groupInstanceId: null, reason: null }],
    });
    expect(leave.members![0].errorCode).toBe(0);
    await m.beat();
    await m.beat();
    expect(m.count()).toBe(6);
    expect((await consumerDescribe("g-join")).members!.length).toBe(1);
  });

  test("bad input to a mixed group: unreadable metadata, a classic member's id on ConsumerGroupHeartbeat, static members", async () => {
    const m = new Modern("g-bad", ["mig6"]);
    await m.beat();
    const garbage = await c.send(JoinGroup, 9, {
      groupId: "g-bad",
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: "x-1",
      groupInstanceId: null,
      protocolType: "consumer",
      protocols: [{ name: "range", metadata: new Uint8Array([0, 1, 0xff, 0xff, 0xff]) }],
      reason: null,
    });
    expect(garbage.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const s1 = new Classic("g-bad", ["mig6"], { instance: "inst-1" });
    expect((await s1.join()).errorCode).toBe(0);
    await s1.sync();
    // A KIP-848 heartbeat cannot drive a classic member, nor a classic heartbeat a KIP-848 one.
    const hijack = await c.send(ConsumerGroupHeartbeat, 1, {
      groupId: "g-bad",
      memberId: s1.memberId,
      memberEpoch: s1.generation,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: -1,
      subscribedTopicNames: null,
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: [],
    });
    expect(hijack.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    // The static member restarts under a new id: the old id is fenced, the place is kept.
    const s2 = new Classic("g-bad", ["mig6"], { instance: "inst-1" });
    expect((await s2.join()).errorCode).toBe(0);
    expect(s2.memberId).not.toBe(s1.memberId);
    expect(await s1.heartbeat()).toBe(ErrorCode.FENCED_INSTANCE_ID);
    const g = await consumerDescribe("g-bad");
    expect(g.members!.map((x) => x.instanceId).sort()).toEqual(["inst-1", null].sort() as (string | null)[]);
    // A stale id with the instance id is fenced on join too; a made-up static id is unknown.
    const stale = await c.send(JoinGroup, 9, {
      groupId: "g-bad",
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: s1.memberId,
      groupInstanceId: "inst-1",
      protocolType: "consumer",
      protocols: [{
        name: "range",
        metadata: encodeVersionedData(ConsumerProtocolSubscriptionSchema, 0, {
          topics: ["mig6"],
          userData: null,
          ownedPartitions: [],
          generationId: -1,
          rackId: null,
        }),
      }],
      reason: null,
    });
    expect(stale.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    const ghost = await c.send(JoinGroup, 9, {
      groupId: "g-bad",
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: "ghost",
      groupInstanceId: "inst-9",
      protocolType: "consumer",
      protocols: [{
        name: "range",
        metadata: encodeVersionedData(ConsumerProtocolSubscriptionSchema, 0, {
          topics: ["mig6"],
          userData: null,
          ownedPartitions: [],
          generationId: -1,
          rackId: null,
        }),
      }],
      reason: null,
    });
    expect(ghost.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    // LeaveGroup by instance id removes the static classic member.
    const leave = await c.send(LeaveGroup, 5, {
      groupId: "g-bad",
      memberId: "",
      members: [{ memberId: "", groupInstanceId: "inst-1", reason: null }],
    });
    expect(leave.members![0].errorCode).toBe(0);
    expect((await consumerDescribe("g-bad")).members!.length).toBe(1);
  });

  test("group.consumer.migration.policy=disabled keeps classic groups classic", async () => {
    const b2 = await testBroker({ ...CONFIG, "group.consumer.migration.policy": "disabled" });
    const x = await WireClient.connect(b2.port);
    try {
      await b2.services.topics.create("t6", 6, new Map());
      const r1 = await x.send(JoinGroup, 9, {
        groupId: "g-off",
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 10_000,
        memberId: "m-1",
        groupInstanceId: null,
        protocolType: "consumer",
        protocols: [{
          name: "range",
          metadata: encodeVersionedData(ConsumerProtocolSubscriptionSchema, 0, {
            topics: ["t6"],
            userData: null,
            ownedPartitions: [],
            generationId: -1,
            rackId: null,
          }),
        }],
        reason: null,
      });
      expect(r1.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID); // a made-up id on a new group
      const r2 = await x.send(JoinGroup, 3, {
        groupId: "g-off",
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 10_000,
        memberId: "",
        groupInstanceId: null,
        protocolType: "consumer",
        protocols: [{
          name: "range",
          metadata: encodeVersionedData(ConsumerProtocolSubscriptionSchema, 0, {
            topics: ["t6"],
            userData: null,
            ownedPartitions: [],
            generationId: -1,
            rackId: null,
          }),
        }],
        reason: null,
      });
      expect(r2.errorCode).toBe(0);
      const hb = await x.send(ConsumerGroupHeartbeat, 1, {
        groupId: "g-off",
        memberId: crypto.randomUUID(),
        memberEpoch: 0,
        instanceId: null,
        rackId: null,
        rebalanceTimeoutMs: 5000,
        subscribedTopicNames: ["t6"],
        subscribedTopicRegex: null,
        serverAssignor: null,
        topicPartitions: [],
      });
      expect([hb.errorCode, hb.errorMessage]).toEqual([
        ErrorCode.GROUP_ID_NOT_FOUND,
        "Group g-off is not a consumer group.",
      ]);
    } finally {
      x.close();
      await b2.close();
    }
  });

  test("a consumer group with classic members survives a restart", async () => {
    const store = memoryLogStore();
    let b2 = await testBroker(CONFIG, { store });
    const id = (await b2.services.topics.create("t-r", 4, new Map())).id;
    let x = await WireClient.connect(b2.port);
    const saved = c;
    c = x;
    try {
      const k = new Classic("g-restart", ["t-r"]);
      await k.join();
      await k.sync(new Map([[k.memberId, [0, 1, 2, 3]]]), "t-r");
      const m = new Modern("g-restart", ["t-r"]);
      await m.beat();
      await settle([k], [m], "g-restart");
      expect([k.count(), m.count()]).toEqual([2, 2]);
      x.close();
      await b2.close();
      b2 = await testBroker(CONFIG, { store });
      if (!b2.services.topics.get("t-r")) await b2.services.topics.create("t-r", 4, new Map(), id);
      x = await WireClient.connect(b2.port);
      c = x;
      const g = await consumerDescribe("g-restart");
      expect(g.members!.map((y) => y.memberId).sort()).toEqual([k.memberId, m.memberId].sort());
      // The classic member goes on with its generation; it is still a classic member.
      expect(await k.heartbeat()).toBe(0);
      const s = await k.sync();
      expect(s.errorCode).toBe(0);
      expect(k.count()).toBe(2);
    } finally {
      c = saved;
      x.close();
      await b2.close();
      await store.close();
    }
  });
});
