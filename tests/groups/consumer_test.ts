// KIP-848 consumer groups driven like a client would: ConsumerGroupHeartbeat v0 and v1 over the
// wire (join, reconcile with revocation, leave, fencing, expiry, static members, errors,
// client-generated member ids and regex subscriptions from v1), ConsumerGroupDescribe, and
// coexistence with classic groups.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { OffsetCommit } from "../../src/protocol/messages/08_offset_commit.ts";
import { OffsetFetch } from "../../src/protocol/messages/09_offset_fetch.ts";
import { JoinGroup } from "../../src/protocol/messages/11_join_group.ts";
import { ListGroups } from "../../src/protocol/messages/16_list_groups.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { DeleteGroups } from "../../src/protocol/messages/42_delete_groups.ts";
import { OffsetDelete } from "../../src/protocol/messages/47_offset_delete.ts";
import { ConsumerGroupHeartbeat } from "../../src/protocol/messages/68_consumer_group_heartbeat.ts";
import type { ConsumerGroupHeartbeatResponse } from "../../src/protocol/messages/68_consumer_group_heartbeat.ts";
import { ConsumerGroupDescribe } from "../../src/protocol/messages/69_consumer_group_describe.ts";
import { memoryLogStore } from "../../src/storage/memory.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";

const CONFIG = {
  "group.consumer.heartbeat.interval.ms": 100,
  "group.consumer.session.timeout.ms": 600,
  "group.initial.rebalance.delay.ms": 0,
};

let broker: Broker;
let c: WireClient;
let topicId: Record<string, string> = {};

type Owned = { topicId: string; partitions: number[] }[];

/** A minimal KIP-848 client: heartbeats, adopts assignments, reports what it owns. */
class Member {
  memberId = "";
  epoch = 0;
  owned: Owned = [];
  last: ConsumerGroupHeartbeatResponse | null = null;
  constructor(
    readonly client: WireClient,
    readonly group: string,
    readonly topics: string[] | null,
    readonly opts: { instanceId?: string; assignor?: string; version?: number; regex?: string } = {},
  ) {
    // From v1 the member makes up its own id (KIP-1082), as the Java client and @platformatic/kafka do.
    if ((opts.version ?? 0) >= 1) this.memberId = crypto.randomUUID();
  }

  async beat(
    extra: { epoch?: number; topicPartitions?: Owned | null; full?: boolean } = {},
  ): Promise<ConsumerGroupHeartbeatResponse> {
    const joining = this.epoch === 0;
    const r = await this.client.send(ConsumerGroupHeartbeat, this.opts.version ?? 0, {
      groupId: this.group,
      memberId: this.memberId,
      memberEpoch: extra.epoch ?? this.epoch,
      instanceId: this.opts.instanceId ?? null,
      rackId: null,
      rebalanceTimeoutMs: joining || extra.full ? 1000 : -1,
      subscribedTopicNames: joining || extra.full ? this.topics : null,
      subscribedTopicRegex: joining || extra.full ? (this.opts.regex ?? null) : null,
      serverAssignor: joining ? (this.opts.assignor ?? null) : null,
      topicPartitions: extra.topicPartitions !== undefined ? extra.topicPartitions : joining ? [] : this.owned,
    });
    this.last = r;
    if (r.errorCode === 0) {
      this.memberId = r.memberId ?? this.memberId;
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

async function converge(members: Member[], rounds = 20) {
  for (let i = 0; i < rounds; i++) {
    for (const m of members) await m.beat();
    const g = (await describe_(members[0].group)).groups![0];
    if (g.groupState === "Stable") return g;
  }
  return (await describe_(members[0].group)).groups![0];
}

const describe_ = (...groups: string[]) =>
  c.send(ConsumerGroupDescribe, 0, { groupIds: groups, includeAuthorizedOperations: false });

beforeAll(async () => {
  broker = await testBroker(CONFIG);
  c = await WireClient.connect(broker.port);
  await c.send(CreateTopics, 7, {
    topics: [
      { name: "k6", numPartitions: 6, replicationFactor: 1, assignments: [], configs: [] },
      { name: "k2", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] },
      { name: "orders-eu", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] },
      { name: "orders-us", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
    ],
    timeoutMs: 1000,
    validateOnly: false,
  });
  for (const t of ["k6", "k2", "orders-eu", "orders-us"]) topicId[t] = broker.services.topics.get(t)!.id;
});
afterAll(async () => {
  c.close();
  await broker.close();
});

describe("ConsumerGroupHeartbeat", () => {
  test("one member gets every partition; a second one joins and the first revokes half", async () => {
    const a = new Member(c, "cg1", ["k6"]);
    const r = await a.beat();
    expect(r.errorCode).toBe(0);
    expect(r.memberId).toBeTruthy();
    expect(r.memberEpoch).toBe(1);
    expect(r.heartbeatIntervalMs).toBe(100);
    expect(a.count()).toBe(6);
    // Nothing changed: no assignment in the answer.
    expect((await a.beat()).assignment).toBeNull();

    const b = new Member(c, "cg1", ["k6"]);
    await b.beat();
    expect(b.epoch).toBe(2);
    expect(b.count()).toBe(0); // every partition is still owned by a
    // a must revoke: its epoch stays until it reports the partitions gone.
    await a.beat({ topicPartitions: a.owned });
    expect(a.count()).toBe(3);
    expect(a.epoch).toBe(1);
    const mid = (await describe_("cg1")).groups![0];
    expect(mid.groupState).toBe("Reconciling");
    await a.beat();
    expect(a.epoch).toBe(2);
    await b.beat();
    expect(b.count()).toBe(3);
    const g = await converge([a, b]);
    expect(g.groupState).toBe("Stable");
    expect(g.groupEpoch).toBe(2);
    expect(g.assignorName).toBe("uniform");
    expect(g.members!.map((m) => m.assignment!.topicPartitions![0].topicName)).toEqual(["k6", "k6"]);
    const all = [...a.owned[0].partitions, ...b.owned[0].partitions].sort();
    expect(all).toEqual([0, 1, 2, 3, 4, 5]);

    // b leaves: a gets everything back.
    const leave = await b.beat({ epoch: -1 });
    expect([leave.errorCode, leave.memberEpoch]).toEqual([0, -1]);
    await a.beat();
    expect(a.count()).toBe(6);
    expect(a.epoch).toBe(3);
  });

  test("range assignor, several topics, three members", async () => {
    const ms = [0, 1, 2].map(() => new Member(c, "cg-range", ["k6", "k2"], { assignor: "range" }));
    for (const m of ms) await m.beat();
    const g = await converge(ms);
    expect(g.groupState).toBe("Stable");
    expect(g.assignorName).toBe("range");
    const counts = ms.map((m) => m.count()).sort();
    expect(counts).toEqual([2, 3, 3]);
  });

  test("fencing, unknown members, bad requests, unsupported assignors", async () => {
    const a = new Member(c, "cg-err", ["k2"]);
    await a.beat();
    expect((await a.beat({ epoch: a.epoch + 5 })).errorCode).toBe(ErrorCode.FENCED_MEMBER_EPOCH);
    expect((await new Member(c, "cg-err", ["k2"]).beat({ epoch: 3 })).errorCode).toBe(ErrorCode.INVALID_REQUEST); // no member id
    const ghost = new Member(c, "cg-err", ["k2"]);
    ghost.memberId = "ghost";
    ghost.epoch = 1;
    expect((await ghost.beat()).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await new Member(c, "", ["k2"]).beat()).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await new Member(c, "cg-err", null).beat()).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await new Member(c, "cg-err", ["k2"], { assignor: "magic" }).beat()).errorCode).toBe(
      ErrorCode.UNSUPPORTED_ASSIGNOR,
    );
    const r = await new Member(c, "cg-err", ["k2"]).beat({ topicPartitions: null });
    expect([r.errorCode, r.errorMessage]).toEqual([
      ErrorCode.INVALID_REQUEST,
      "TopicPartitions must be empty when (re-)joining.",
    ]);
    // A classic JoinGroup against a non-empty consumer group, and the reverse.
    const j = await c.send(JoinGroup, 9, {
      groupId: "cg-err",
      sessionTimeoutMs: 10000,
      rebalanceTimeoutMs: 1000,
      memberId: "",
      groupInstanceId: null,
      protocolType: "consumer",
      protocols: [{ name: "range", metadata: new Uint8Array(0) }],
      reason: null,
    });
    expect(j.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  test("session expiry removes a silent member; its partitions move", async () => {
    const a = new Member(c, "cg-exp", ["k2"]);
    const b = new Member(c, "cg-exp", ["k2"]);
    await a.beat();
    await b.beat();
    await converge([a, b]);
    expect(a.count() + b.count()).toBe(2);
    for (let i = 0; i < 10; i++) {
      await Bun.sleep(100);
      await a.beat();
    }
    expect(a.count()).toBe(2);
    expect((await b.beat()).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test("a member that does not revoke within its rebalance timeout is fenced", async () => {
    const a = new Member(c, "cg-revoke", ["k2"]);
    await a.beat();
    const b = new Member(c, "cg-revoke", ["k2"]);
    await b.beat();
    // a is told to revoke but keeps reporting the partitions.
    const keep = a.owned;
    await a.beat({ topicPartitions: keep });
    for (let i = 0; i < 15; i++) {
      await Bun.sleep(100);
      const r = await a.beat({ topicPartitions: keep });
      if (r.errorCode !== 0) break;
      await b.beat();
    }
    expect(a.last!.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    await b.beat();
    await b.beat();
    expect(b.count()).toBe(2);
  });

  test("static members: epoch -2 keeps the assignment for a rejoin; a duplicate instance is refused", async () => {
    const a = new Member(c, "cg-static", ["k6"], { instanceId: "inst-a" });
    const b = new Member(c, "cg-static", ["k6"], { instanceId: "inst-b" });
    await a.beat();
    await b.beat();
    await converge([a, b]);
    const before = JSON.stringify(a.owned);
    expect((await new Member(c, "cg-static", ["k6"], { instanceId: "inst-a" }).beat()).errorCode).toBe(
      ErrorCode.UNRELEASED_INSTANCE_ID,
    );
    expect((await a.beat({ epoch: -2 })).memberEpoch).toBe(-2);
    const a2 = new Member(c, "cg-static", ["k6"], { instanceId: "inst-a" });
    const r = await a2.beat();
    expect(r.errorCode).toBe(0);
    expect(r.memberId).not.toBe(a.memberId);
    expect(JSON.stringify(a2.owned)).toBe(before);
    const g = (await describe_("cg-static")).groups![0];
    expect(g.members!.map((m) => m.instanceId).sort()).toEqual(["inst-a", "inst-b"]);
  });

  test("offsets: member epochs checked; OffsetDelete refuses subscribed topics; coexistence in ListGroups", async () => {
    const a = new Member(c, "cg-off", ["k2"]);
    await a.beat();
    const commit = (epoch: number, memberId: string) =>
      c.send(OffsetCommit, 9, {
        groupId: "cg-off",
        generationIdOrMemberEpoch: epoch,
        memberId,
        groupInstanceId: null,
        retentionTimeMs: -1n,
        topics: [{
          name: "k2",
          topicId: ZERO_UUID,
          partitions: [{
            partitionIndex: 0,
            committedOffset: 5n,
            committedLeaderEpoch: -1,
            commitTimestamp: -1n,
            committedMetadata: null,
          }],
        }],
      })
        .then((r) => r.topics![0].partitions![0].errorCode);
    expect(await commit(a.epoch, a.memberId)).toBe(0);
    expect(await commit(a.epoch + 1, a.memberId)).toBe(ErrorCode.STALE_MEMBER_EPOCH);
    expect(await commit(a.epoch, "nobody")).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await commit(-1, "")).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const fetch = (memberId: string | null, memberEpoch: number) =>
      c.send(OffsetFetch, 9, {
        groupId: "",
        topics: [],
        groups: [{ groupId: "cg-off", memberId, memberEpoch, topics: null }],
        requireStable: true,
      }).then((r) => r.groups![0]);
    expect((await fetch(a.memberId, a.epoch)).topics![0].partitions![0].committedOffset).toBe(5n);
    expect((await fetch(a.memberId, a.epoch + 3)).errorCode).toBe(ErrorCode.STALE_MEMBER_EPOCH);
    expect((await fetch(null, -1)).errorCode).toBe(0);
    const od = await c.send(OffsetDelete, 0, {
      groupId: "cg-off",
      topics: [{ name: "k2", partitions: [{ partitionIndex: 0 }] }],
    });
    expect(od.topics![0].partitions![0].errorCode).toBe(ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
    const types = await c.send(ListGroups, 5, { statesFilter: [], typesFilter: ["consumer"] });
    expect(types.groups!.find((g) => g.groupId === "cg-off")).toMatchObject({
      protocolType: "consumer",
      groupType: "consumer",
    });
    expect((await c.send(DeleteGroups, 2, { groupsNames: ["cg-off"] })).results![0].errorCode).toBe(
      ErrorCode.NON_EMPTY_GROUP,
    );
    await a.beat({ epoch: -1 });
    expect(await commit(-1, "")).toBe(0);
    expect((await c.send(DeleteGroups, 2, { groupsNames: ["cg-off"] })).results![0].errorCode).toBe(0);
    const d = (await describe_("cg-off", "nope")).groups!;
    expect(d.map((g) => g.errorCode)).toEqual([ErrorCode.GROUP_ID_NOT_FOUND, ErrorCode.GROUP_ID_NOT_FOUND]);
  });

  test("v1: regex subscriptions over the wire pick up new topics and partitions; invalid regex is refused", async () => {
    const names = (m: Member) => m.owned.map((t) => broker.services.topics.byId(t.topicId)!.name).sort();
    const bad = await new Member(c, "cg-regex", [], { version: 1, regex: "orders-(" }).beat();
    expect([bad.errorCode, bad.errorMessage]).toEqual([
      ErrorCode.INVALID_REGULAR_EXPRESSION,
      "SubscribedTopicRegex `orders-(` is not a valid regular expression.",
    ]);
    const a = new Member(c, "cg-regex", [], { version: 1, regex: "orders-.*" });
    const id = a.memberId;
    const r = await a.beat();
    expect(r.errorCode).toBe(0);
    expect(r.memberId).toBe(id); // the member's own id is kept (KIP-1082)
    expect(names(a)).toEqual(["orders-eu", "orders-us"]);
    // The regex matches whole names only, and never internal topics.
    const none = new Member(c, "cg-regex-none", [], { version: 1, regex: "orders" });
    await none.beat();
    expect(none.count()).toBe(0);
    const internal = new Member(c, "cg-regex-internal", [], { version: 1, regex: "__.*" });
    await internal.beat();
    expect(internal.count()).toBe(0);
    // A topic created later joins the subscription with a new group epoch.
    await c.send(CreateTopics, 7, {
      topics: [{ name: "orders-asia", numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
      validateOnly: false,
    });
    const epoch = a.epoch;
    await a.beat();
    expect(a.epoch).toBeGreaterThan(epoch);
    expect(names(a)).toEqual(["orders-asia", "orders-eu", "orders-us"]);
    expect(a.count()).toBe(6);
    // A second member with the same regex shares the partitions once a revokes.
    const b = new Member(c, "cg-regex", [], { version: 1, regex: "orders-.*" });
    await b.beat();
    const g = await converge([a, b]);
    expect(g.groupState).toBe("Stable");
    expect([a.count(), b.count()].sort()).toEqual([3, 3]);
    expect(g.members!.map((m) => m.subscribedTopicRegex)).toEqual(["orders-.*", "orders-.*"]);
    // Changing the regex (v1 sends it again) moves the subscription.
    const changed = await a.beat({ full: true, topicPartitions: a.owned });
    expect(changed.errorCode).toBe(0);
    await b.client.send(ConsumerGroupHeartbeat, 1, {
      groupId: "cg-regex",
      memberId: b.memberId,
      memberEpoch: b.epoch,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: -1,
      subscribedTopicNames: null,
      subscribedTopicRegex: "orders-us",
      serverAssignor: null,
      topicPartitions: b.owned,
    });
    const g2 = await converge([a, b]);
    expect(g2.members!.map((m) => m.subscribedTopicRegex).sort()).toEqual(["orders-.*", "orders-us"]);
    expect(a.count() + b.count()).toBe(6);
    for (const m of [a, b, none, internal]) expect((await m.beat({ epoch: -1 })).errorCode).toBe(0);
  });

  test("v1: an empty member id is INVALID_REQUEST even when joining; v0 still lets the coordinator pick one", async () => {
    const v1 = new Member(c, "cg-v1", ["k2"], { version: 1 });
    v1.memberId = "";
    const r = await v1.beat();
    expect([r.errorCode, r.errorMessage]).toEqual([ErrorCode.INVALID_REQUEST, "MemberId can't be empty."]);
    const own = new Member(c, "cg-v1", ["k2"], { version: 1 });
    const ok = await own.beat();
    expect([ok.errorCode, ok.memberId, ok.memberEpoch]).toEqual([0, own.memberId, 1]);
    // The same join sent again (a lost response) does not make a second member.
    const again = await c.send(ConsumerGroupHeartbeat, 1, {
      groupId: "cg-v1",
      memberId: own.memberId,
      memberEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: 1000,
      subscribedTopicNames: ["k2"],
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: [],
    });
    expect(again.errorCode).toBe(0);
    expect((await describe_("cg-v1")).groups![0].members!.length).toBe(1);
    const v0 = await new Member(c, "cg-v1", ["k2"]).beat();
    expect(v0.errorCode).toBe(0);
    expect(v0.memberId).toBeTruthy();
    expect((await describe_("cg-v1")).groups![0].members!.length).toBe(2);
  });

  test("consumer groups survive a restart", async () => {
    const store = memoryLogStore();
    let b = await testBroker(CONFIG, { store });
    let x = await WireClient.connect(b.port);
    const topics = [{ name: "r3", numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }];
    await x.send(CreateTopics, 7, { topics, timeoutMs: 1000, validateOnly: false });
    const id = b.services.topics.get("r3")!.id;
    const a = new Member(x, "cg-restart", ["r3"]);
    await a.beat();
    expect(a.count()).toBe(3);
    x.close();
    await b.close();
    b = await testBroker(CONFIG, { store });
    // Recreate the topic with its old id (topics are not persisted by the broker yet).
    await b.services.topics.create("r3", 3, new Map(), id);
    x = await WireClient.connect(b.port);
    const g = (await x.send(ConsumerGroupDescribe, 0, { groupIds: ["cg-restart"], includeAuthorizedOperations: false }))
      .groups![0];
    expect(g.errorCode).toBe(0);
    expect(g.members!.map((m) => m.memberId)).toEqual([a.memberId]);
    const again = new Member(x, "cg-restart", ["r3"]);
    again.memberId = a.memberId;
    again.epoch = a.epoch;
    again.owned = a.owned;
    const r = await again.beat();
    expect(r.errorCode).toBe(0);
    expect(r.memberEpoch).toBe(a.epoch);
    x.close();
    await b.close();
    await store.close();
  });
});
