// Classic group protocol over the wire: the state machine, Kafka's error codes, timeouts,
// static membership, offsets, admin APIs, persistence across a restart, bounded state under churn.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { encodeVersionedData, ZERO_UUID } from "../../src/protocol/codec.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { OffsetCommit } from "../../src/protocol/messages/08_offset_commit.ts";
import { OffsetFetch } from "../../src/protocol/messages/09_offset_fetch.ts";
import { FindCoordinator } from "../../src/protocol/messages/10_find_coordinator.ts";
import { JoinGroup } from "../../src/protocol/messages/11_join_group.ts";
import type { JoinGroupResponse } from "../../src/protocol/messages/11_join_group.ts";
import { Heartbeat } from "../../src/protocol/messages/12_heartbeat.ts";
import { LeaveGroup } from "../../src/protocol/messages/13_leave_group.ts";
import { SyncGroup } from "../../src/protocol/messages/14_sync_group.ts";
import { DescribeGroups } from "../../src/protocol/messages/15_describe_groups.ts";
import { ListGroups } from "../../src/protocol/messages/16_list_groups.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { DeleteGroups } from "../../src/protocol/messages/42_delete_groups.ts";
import { OffsetDelete } from "../../src/protocol/messages/47_offset_delete.ts";
import { Metadata } from "../../src/protocol/messages/03_metadata.ts";
import { ConsumerProtocolSubscriptionSchema } from "../../src/protocol/messages/consumer_protocol.ts";
import { memoryLogStore } from "../../src/storage/memory.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";

const CONFIG = {
  "group.initial.rebalance.delay.ms": 0,
  "group.min.session.timeout.ms": 100,
  "offsets.retention.check.interval.ms": 3_600_000,
};

let broker: Broker;
let c: WireClient;

const sub = (topics: string[]) =>
  encodeVersionedData(ConsumerProtocolSubscriptionSchema, 1, {
    topics,
    userData: null,
    ownedPartitions: [],
    generationId: -1,
    rackId: null,
  });
const protocols = (topics = ["t"], names = ["range"]) => names.map((name) => ({ name, metadata: sub(topics) }));

type JoinOpts = {
  memberId?: string;
  instance?: string | null;
  session?: number;
  rebalance?: number;
  version?: number;
  protocolType?: string;
  protocols?: { name: string; metadata: Uint8Array }[];
};
function join(client: WireClient, group: string, o: JoinOpts = {}): Promise<JoinGroupResponse> {
  return client.send(JoinGroup, o.version ?? 9, {
    groupId: group,
    sessionTimeoutMs: o.session ?? 10_000,
    rebalanceTimeoutMs: o.rebalance ?? 10_000,
    memberId: o.memberId ?? "",
    groupInstanceId: o.instance ?? null,
    protocolType: o.protocolType ?? "consumer",
    protocols: o.protocols ?? protocols(),
    reason: null,
  });
}

/** JoinGroup v4+ handshake: MEMBER_ID_REQUIRED, then the real join. */
async function joinFully(client: WireClient, group: string, o: JoinOpts = {}) {
  const first = await join(client, group, o);
  if (first.errorCode !== ErrorCode.MEMBER_ID_REQUIRED) return first;
  return join(client, group, { ...o, memberId: first.memberId });
}

function sync(
  client: WireClient,
  group: string,
  memberId: string,
  generationId: number,
  assignments: { memberId: string; assignment: Uint8Array }[] = [],
  instance: string | null = null,
) {
  return client.send(SyncGroup, 5, {
    groupId: group,
    generationId,
    memberId,
    groupInstanceId: instance,
    protocolType: "consumer",
    protocolName: "range",
    assignments,
  });
}

const hb = (
  client: WireClient,
  group: string,
  memberId: string,
  generationId: number,
  instance: string | null = null,
) =>
  client.send(Heartbeat, 4, { groupId: group, generationId, memberId, groupInstanceId: instance }).then((r) =>
    r.errorCode
  );

const describeGroup = async (group: string) =>
  (await c.send(DescribeGroups, 5, { groups: [group], includeAuthorizedOperations: true })).groups![0];

function commit(
  client: WireClient,
  group: string,
  gen: number,
  memberId: string,
  offsets: [string, number, bigint][],
  version = 9,
  metadata: string | null = "m",
) {
  const byTopic = new Map<
    string,
    {
      partitionIndex: number;
      committedOffset: bigint;
      committedLeaderEpoch: number;
      commitTimestamp: bigint;
      committedMetadata: string | null;
    }[]
  >();
  for (const [t, p, o] of offsets) {
    if (!byTopic.has(t)) byTopic.set(t, []);
    byTopic.get(t)!.push({
      partitionIndex: p,
      committedOffset: o,
      committedLeaderEpoch: 0,
      commitTimestamp: -1n,
      committedMetadata: metadata,
    });
  }
  return client.send(OffsetCommit, version, {
    groupId: group,
    generationIdOrMemberEpoch: gen,
    memberId,
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [...byTopic].map(([name, partitions]) => ({ name, topicId: ZERO_UUID, partitions })),
  });
}

const codes = (r: { topics?: { partitions?: { errorCode?: number }[] }[] }) =>
  r.topics!.flatMap((t) => t.partitions!.map((p) => p.errorCode));

beforeAll(async () => {
  broker = await testBroker(CONFIG);
  c = await WireClient.connect(broker.port);
  await c.send(CreateTopics, 7, {
    topics: [{
      name: "t",
      numPartitions: 4,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    }, {
      name: "u",
      numPartitions: 2,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    }],
    timeoutMs: 1000,
    validateOnly: false,
  });
});
afterAll(async () => {
  c.close();
  await broker.close();
});

describe("FindCoordinator", () => {
  test("every version answers with this broker; batched keys from v4; unknown key types fail", async () => {
    for (let v = 0; v <= 3; v++) {
      const r = await c.send(FindCoordinator, v, { key: "g", keyType: 0, coordinatorKeys: [] });
      expect(r.errorCode).toBe(0);
      expect(r.port).toBe(broker.port);
      expect(r.nodeId).toBe(0);
    }
    for (let v = 4; v <= 6; v++) {
      const r = await c.send(FindCoordinator, v, { key: "", keyType: 1, coordinatorKeys: ["a", "b"] });
      expect(r.coordinators!.map((x) => [x.key, x.errorCode, x.port])).toEqual([["a", 0, broker.port], [
        "b",
        0,
        broker.port,
      ]]);
    }
    const bad = await c.send(FindCoordinator, 4, { key: "", keyType: 7, coordinatorKeys: ["x"] });
    expect(bad.coordinators![0].errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });

  test("__consumer_offsets exists and is internal in Metadata", async () => {
    const r = await c.send(Metadata, 12, {
      topics: [{ topicId: "AAAAAAAAAAAAAAAAAAAAAA", name: "__consumer_offsets" }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    expect(r.topics![0].errorCode).toBe(0);
    expect(r.topics![0].isInternal).toBe(true);
  });
});

describe("JoinGroup / SyncGroup / Heartbeat", () => {
  test("v4+ requires a member id; a lone member leads generation 1; sync makes it Stable", async () => {
    const first = await join(c, "g-one");
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    expect(first.memberId).toMatch(/^wire-test-/);
    const j = await join(c, "g-one", { memberId: first.memberId });
    expect(j.errorCode).toBe(0);
    expect(j.generationId).toBe(1);
    expect(j.leader).toBe(first.memberId);
    expect(j.protocolName).toBe("range");
    expect(j.members!.length).toBe(1);
    expect((await describeGroup("g-one")).groupState).toBe("CompletingRebalance");
    expect(await hb(c, "g-one", j.memberId!, 1)).toBe(0);
    const s = await sync(c, "g-one", j.memberId!, 1, [{
      memberId: j.memberId!,
      assignment: new Uint8Array([1, 2, 3]),
    }]);
    expect(s.errorCode).toBe(0);
    expect([...s.assignment!]).toEqual([1, 2, 3]);
    const d = await describeGroup("g-one");
    expect(d.groupState).toBe("Stable");
    expect(d.protocolData).toBe("range");
    expect(d.members![0].clientHost).toBe("/127.0.0.1");
    expect([...d.members![0].memberAssignment!]).toEqual([1, 2, 3]);
    expect(await hb(c, "g-one", j.memberId!, 1)).toBe(0);
    expect(await hb(c, "g-one", j.memberId!, 0)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(await hb(c, "g-one", "nobody", 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await hb(c, "no-such-group", "nobody", 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test("v0-3 join without the member id handshake; rebalance parks joins until all rejoin", async () => {
    const c2 = await WireClient.connect(broker.port);
    const a = await join(c, "g-two", { version: 3 });
    expect(a.errorCode).toBe(0);
    await sync(c, "g-two", a.memberId!, a.generationId!, []);
    // A second member joins: the first learns through its heartbeat and rejoins.
    const bJoin = join(c2, "g-two", { version: 3 });
    await Bun.sleep(20);
    expect(await hb(c, "g-two", a.memberId!, 1)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect((await describeGroup("g-two")).groupState).toBe("PreparingRebalance");
    const [ra, rb] = await Promise.all([join(c, "g-two", { version: 3, memberId: a.memberId }), bJoin]);
    expect(ra.generationId).toBe(2);
    expect(rb.generationId).toBe(2);
    expect(ra.leader).toBe(a.memberId);
    expect(ra.members!.length).toBe(2);
    expect(rb.members!.length).toBe(0);
    // Follower syncs first and waits for the leader.
    const fs = sync(c2, "g-two", rb.memberId!, 2);
    await Bun.sleep(20);
    const ls = await sync(c, "g-two", a.memberId!, 2, [{ memberId: a.memberId!, assignment: new Uint8Array([0]) }, {
      memberId: rb.memberId!,
      assignment: new Uint8Array([9]),
    }]);
    expect(ls.errorCode).toBe(0);
    expect([...(await fs).assignment!]).toEqual([9]);
    // Sync with a stale generation; sync while rebalancing.
    expect((await sync(c, "g-two", a.memberId!, 1)).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    // The follower leaves; the leader is told to rejoin.
    const leave = await c2.send(LeaveGroup, 5, {
      groupId: "g-two",
      memberId: "",
      members: [{ memberId: rb.memberId!, groupInstanceId: null, reason: "bye" }, {
        memberId: "ghost",
        groupInstanceId: null,
        reason: null,
      }],
    });
    expect(leave.errorCode).toBe(0);
    expect(leave.members!.map((m) => m.errorCode)).toEqual([0, ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(await hb(c, "g-two", a.memberId!, 2)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect((await sync(c, "g-two", a.memberId!, 2)).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const again = await join(c, "g-two", { version: 3, memberId: a.memberId });
    expect(again.generationId).toBe(3);
    expect(again.members!.length).toBe(1);
    // v0-2 LeaveGroup: the member's error is the top-level error.
    expect((await c.send(LeaveGroup, 1, { groupId: "g-two", memberId: "ghost", members: [] })).errorCode).toBe(
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    expect((await c.send(LeaveGroup, 0, { groupId: "g-two", memberId: a.memberId!, members: [] })).errorCode).toBe(0);
    expect((await describeGroup("g-two")).groupState).toBe("Empty");
    c2.close();
  });

  test("bad input: invalid ids, session timeouts, protocols", async () => {
    expect((await join(c, "")).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect((await join(c, "g-bad", { session: 50 })).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await join(c, "g-bad", { session: 1_800_001 })).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await join(c, "g-bad", { protocols: [] })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await join(c, "g-bad", { protocolType: "" })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await join(c, "g-bad", { memberId: "made-up" })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    // An incompatible protocol against a running group.
    const a = await joinFully(c, "g-proto", { version: 5 });
    expect(a.errorCode).toBe(0);
    expect((await joinFully(c, "g-proto", { protocols: protocols(["t"], ["roundrobin"]) })).errorCode).toBe(
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    );
    expect((await joinFully(c, "g-proto", { protocolType: "connect" })).errorCode).toBe(
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    );
    expect((await sync(c, "g-bad", "x", 1)).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const s = await c.send(SyncGroup, 5, {
      groupId: "g-proto",
      generationId: a.generationId!,
      memberId: a.memberId!,
      groupInstanceId: null,
      protocolType: "connect",
      protocolName: "range",
      assignments: [],
    });
    expect(s.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    // Oversized metadata: the group record cannot be stored, the sync fails, nothing stays stuck.
    const big = new Uint8Array(1_200_000);
    const fat = await joinFully(c, "g-fat", { protocols: [{ name: "range", metadata: big }] });
    expect(fat.errorCode).toBe(0);
    const fs = await sync(c, "g-fat", fat.memberId!, fat.generationId!, []);
    expect(fs.errorCode).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
    expect(
      (await c.send(LeaveGroup, 5, {
        groupId: "g-fat",
        memberId: "",
        members: [{ memberId: fat.memberId!, groupInstanceId: null, reason: null }],
      })).members![0].errorCode,
    ).toBe(0);
  });

  test("protocol selection: the protocol most members prefer among those all support", async () => {
    const c2 = await WireClient.connect(broker.port);
    const c3 = await WireClient.connect(broker.port);
    const p = (names: string[]) => names.map((name) => ({ name, metadata: sub(["t"]) }));
    const [a, b, d] = await Promise.all([
      joinFully(c, "g-vote", { protocols: p(["roundrobin", "range", "sticky"]) }),
      joinFully(c2, "g-vote", { protocols: p(["range", "roundrobin"]) }),
      joinFully(c3, "g-vote", { protocols: p(["range", "roundrobin"]) }),
    ]);
    expect([a.protocolName, b.protocolName, d.protocolName]).toEqual(["range", "range", "range"]);
    c2.close();
    c3.close();
  });
});

describe("timeouts", () => {
  test("session expiry removes a silent member and rebalances the rest", async () => {
    const c2 = await WireClient.connect(broker.port);
    const [a, b] = await Promise.all([
      joinFully(c, "g-exp", { session: 400 }),
      joinFully(c2, "g-exp", { session: 400 }),
    ]);
    const leader = a.leader === a.memberId ? a : b;
    await Promise.all([
      sync(c, "g-exp", a.memberId!, a.generationId!, leader === a ? [] : []),
      sync(c2, "g-exp", b.memberId!, b.generationId!, []),
    ]);
    // Only a heartbeats.
    for (let i = 0; i < 8; i++) {
      await Bun.sleep(100);
      const code = await hb(c, "g-exp", a.memberId!, a.generationId!);
      if (code === ErrorCode.REBALANCE_IN_PROGRESS) break;
    }
    const again = await join(c, "g-exp", { memberId: a.memberId, session: 400 });
    expect(again.errorCode).toBe(0);
    expect(again.members!.map((m) => m.memberId)).toEqual([a.memberId!]);
    expect(await hb(c2, "g-exp", b.memberId!, b.generationId!)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    c2.close();
  });

  test("a member that never syncs is removed after the rebalance timeout", async () => {
    const c2 = await WireClient.connect(broker.port);
    const [a, b] = await Promise.all([
      joinFully(c, "g-nosync", { rebalance: 300 }),
      joinFully(c2, "g-nosync", { rebalance: 300 }),
    ]);
    const leader = a.leader === a.memberId ? a : b;
    const follower = leader === a ? b : a;
    const lc = leader === a ? c : c2;
    // Only the leader syncs.
    expect((await sync(lc, "g-nosync", leader.memberId!, leader.generationId!, [])).errorCode).toBe(0);
    await Bun.sleep(450);
    const d = await describeGroup("g-nosync");
    expect(d.groupState).toBe("PreparingRebalance");
    expect(d.members!.map((m) => m.memberId)).toEqual([leader.memberId!]);
    const rejoin = await join(lc, "g-nosync", { memberId: leader.memberId, rebalance: 300 });
    expect(rejoin.generationId).toBe(leader.generationId! + 1);
    expect(await hb(c, "g-nosync", follower.memberId!, rejoin.generationId!)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    c2.close();
  });

  test("a member that does not rejoin within the rebalance timeout is dropped", async () => {
    const c2 = await WireClient.connect(broker.port);
    const [a, b] = await Promise.all([
      joinFully(c, "g-norejoin", { rebalance: 300 }),
      joinFully(c2, "g-norejoin", { rebalance: 300 }),
    ]);
    await Promise.all([
      sync(c, "g-norejoin", a.memberId!, a.generationId!),
      sync(c2, "g-norejoin", b.memberId!, b.generationId!),
    ]);
    const t0 = Date.now();
    const r = await join(c, "g-norejoin", { memberId: a.memberId, rebalance: 300, protocols: protocols(["t", "u"]) });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(r.members!.map((m) => m.memberId)).toEqual([a.memberId!]);
    c2.close();
  });

  test("group.initial.rebalance.delay.ms gathers members joining an empty group", async () => {
    const b2 = await testBroker({ ...CONFIG, "group.initial.rebalance.delay.ms": 300 });
    const x = await WireClient.connect(b2.port);
    const y = await WireClient.connect(b2.port);
    const t0 = Date.now();
    const first = joinFully(x, "g-delay");
    await Bun.sleep(150);
    const second = joinFully(y, "g-delay");
    const [r1, r2] = await Promise.all([first, second]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(r1.generationId).toBe(1);
    expect(r2.generationId).toBe(1);
    x.close();
    y.close();
    await b2.close();
  });
});

describe("static membership", () => {
  test("a restarted static member takes over without a rebalance; the old id is fenced", async () => {
    const c2 = await WireClient.connect(broker.port);
    const [a, b] = await Promise.all([
      join(c, "g-static", { instance: "i-a" }),
      join(c2, "g-static", { instance: "i-b" }),
    ]);
    expect(a.errorCode).toBe(0); // static members skip MEMBER_ID_REQUIRED
    const leader = a.leader === a.memberId ? a : b;
    const assignments = [{ memberId: a.memberId!, assignment: new Uint8Array([1]) }, {
      memberId: b.memberId!,
      assignment: new Uint8Array([2]),
    }];
    await Promise.all([
      sync(c, "g-static", a.memberId!, a.generationId!, leader === a ? assignments : [], "i-a"),
      sync(c2, "g-static", b.memberId!, b.generationId!, leader === b ? assignments : [], "i-b"),
    ]);
    const follower = leader === a ? b : a;
    const fInst = follower === a ? "i-a" : "i-b";
    const fClient = follower === a ? c : c2;
    // Its metadata differs (a restarted Java consumer sends generation -1, no owned partitions): as in Kafka, only a
    // change of the selected protocol would rebalance a Stable group.
    const re = await join(fClient, "g-static", {
      instance: fInst,
      protocols: [{ name: "range", metadata: sub(["t", "other"]) }],
    });
    expect(re.errorCode).toBe(0);
    expect(re.generationId).toBe(a.generationId);
    expect(re.memberId).not.toBe(follower.memberId);
    expect((await describeGroup("g-static")).groupState).toBe("Stable");
    const s = await sync(fClient, "g-static", re.memberId!, re.generationId!, [], fInst);
    expect([...s.assignment!]).toEqual(follower === a ? [1] : [2]);
    expect(await hb(fClient, "g-static", follower.memberId!, a.generationId!, fInst)).toBe(
      ErrorCode.FENCED_INSTANCE_ID,
    );
    expect(
      (await commit(fClient, "g-static", a.generationId!, follower.memberId!, [["t", 0, 1n]], 7)).topics![0]
        .partitions![0].errorCode,
    ).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    // LeaveGroup by instance id with the wrong member id is fenced; with the right one it leaves.
    const bad = await c.send(LeaveGroup, 4, {
      groupId: "g-static",
      memberId: "",
      members: [{ memberId: follower.memberId!, groupInstanceId: fInst, reason: null }],
    });
    expect(bad.members![0].errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    const ok = await c.send(LeaveGroup, 4, {
      groupId: "g-static",
      memberId: "",
      members: [{ memberId: "", groupInstanceId: fInst, reason: null }],
    });
    expect(ok.members![0].errorCode).toBe(0);
    expect((await describeGroup("g-static")).groupState).toBe("PreparingRebalance");
    c2.close();
  });
});

describe("offsets", () => {
  test("simple commits, metadata kept, fetch at every version, all-partitions fetch", async () => {
    for (let v = 0; v <= 9; v++) {
      const r = await commit(c, `simple-${v}`, -1, "", [["t", 0, BigInt(10 + v)], ["t", 1, 5n]], v, `meta-${v}`);
      expect(codes(r)).toEqual([0, 0]);
    }
    for (let v = 0; v <= 7; v++) {
      const r = await c.send(OffsetFetch, v, {
        groupId: "simple-9",
        topics: [{ name: "t", partitionIndexes: [0, 1, 2] }],
        groups: [],
        requireStable: true,
      });
      const ps = r.topics![0].partitions!;
      expect(ps.map((p) => p.committedOffset)).toEqual([19n, 5n, -1n]);
      expect(ps[0].metadata).toBe("meta-9");
      expect(ps[2].metadata).toBe("");
      if (v >= 5) expect(ps[0].committedLeaderEpoch).toBe(0);
    }
    const all = await c.send(OffsetFetch, 7, { groupId: "simple-3", topics: null, groups: [], requireStable: false });
    expect(all.topics!.map((t) => [t.name, t.partitions!.map((p) => p.committedOffset)])).toEqual([["t", [13n, 5n]]]);
    const multi = await c.send(OffsetFetch, 9, {
      groupId: "",
      topics: [],
      groups: [
        {
          groupId: "simple-1",
          memberId: null,
          memberEpoch: -1,
          topics: [{ name: "t", topicId: ZERO_UUID, partitionIndexes: [0] }],
        },
        { groupId: "simple-2", memberId: null, memberEpoch: -1, topics: null },
        {
          groupId: "nothing-here",
          memberId: null,
          memberEpoch: -1,
          topics: [{ name: "t", topicId: ZERO_UUID, partitionIndexes: [3] }],
        },
      ],
      requireStable: true,
    });
    expect(multi.groups!.map((g) => g.topics!.map((t) => t.partitions!.map((p) => p.committedOffset)))).toEqual([
      [[11n]],
      [[12n, 5n]],
      [[-1n]],
    ]);
  });

  test("commit checks: generation, member, unknown topics, metadata size", async () => {
    expect(codes(await commit(c, "fresh-group", 3, "m", [["t", 0, 1n]]))).toEqual([ErrorCode.ILLEGAL_GENERATION]);
    const j = await joinFully(c, "g-commit");
    expect(codes(await commit(c, "g-commit", j.generationId!, j.memberId!, [["t", 0, 1n]]))).toEqual([
      ErrorCode.REBALANCE_IN_PROGRESS,
    ]);
    await sync(c, "g-commit", j.memberId!, j.generationId!);
    expect(
      codes(await commit(c, "g-commit", j.generationId!, j.memberId!, [["t", 0, 1n], ["nope", 0, 1n], ["t", 99, 1n]])),
    ).toEqual([0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    expect(codes(await commit(c, "g-commit", j.generationId! + 1, j.memberId!, [["t", 0, 1n]]))).toEqual([
      ErrorCode.ILLEGAL_GENERATION,
    ]);
    expect(codes(await commit(c, "g-commit", j.generationId!, "stranger", [["t", 0, 1n]]))).toEqual([
      ErrorCode.UNKNOWN_MEMBER_ID,
    ]);
    expect(codes(await commit(c, "g-commit", -1, "", [["t", 0, 1n]]))).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(codes(await commit(c, "g-commit", j.generationId!, j.memberId!, [["t", 1, 1n]], 9, "x".repeat(4097))))
      .toEqual([ErrorCode.OFFSET_METADATA_TOO_LARGE]);
    expect(codes(await commit(c, "", -1, "", [["t", 1, 1n]]))).toEqual([ErrorCode.INVALID_GROUP_ID]);
  });

  test("OffsetDelete: GROUP_SUBSCRIBED_TO_TOPIC while subscribed, deletes otherwise", async () => {
    const j = await joinFully(c, "g-del", { protocols: protocols(["t"]) });
    await sync(c, "g-del", j.memberId!, j.generationId!);
    expect(codes(await commit(c, "g-del", j.generationId!, j.memberId!, [["t", 0, 7n], ["u", 0, 3n]]))).toEqual([0, 0]);
    const r = await c.send(OffsetDelete, 0, {
      groupId: "g-del",
      topics: [{ name: "t", partitions: [{ partitionIndex: 0 }] }, { name: "u", partitions: [{ partitionIndex: 0 }] }, {
        name: "zz",
        partitions: [{ partitionIndex: 0 }],
      }],
    });
    expect(r.errorCode).toBe(0);
    expect(codes(r)).toEqual([ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    const f = await c.send(OffsetFetch, 8, {
      groupId: "",
      topics: [],
      groups: [{ groupId: "g-del", memberId: null, memberEpoch: -1, topics: null }],
      requireStable: false,
    });
    expect(f.groups![0].topics!.map((t) => t.name)).toEqual(["t"]);
    expect((await c.send(OffsetDelete, 0, { groupId: "no-group", topics: [] })).errorCode).toBe(
      ErrorCode.GROUP_ID_NOT_FOUND,
    );
    // DeleteGroups refuses a group with members.
    const dg = await c.send(DeleteGroups, 2, { groupsNames: ["g-del", "no-group", "simple-0", ""] });
    expect(dg.results!.map((x) => x.errorCode)).toEqual([
      ErrorCode.NON_EMPTY_GROUP,
      ErrorCode.GROUP_ID_NOT_FOUND,
      0,
      ErrorCode.INVALID_GROUP_ID,
    ]);
    const after = await c.send(OffsetFetch, 7, { groupId: "simple-0", topics: null, groups: [], requireStable: false });
    expect(after.topics).toEqual([]);
  });

  test("ListGroups with state and type filters; DescribeGroups of unknown groups", async () => {
    const all = await c.send(ListGroups, 5, { statesFilter: [], typesFilter: [] });
    const ids = all.groups!.map((g) => g.groupId);
    expect(ids).toContain("g-one");
    expect(ids).toContain("simple-5");
    const stable = await c.send(ListGroups, 4, { statesFilter: ["stable"], typesFilter: [] });
    expect(stable.groups!.every((g) => g.groupState === "Stable")).toBe(true);
    expect(stable.groups!.map((g) => g.groupId)).toContain("g-one");
    const consumerType = await c.send(ListGroups, 5, { statesFilter: [], typesFilter: ["consumer"] });
    expect(consumerType.groups!.every((g) => g.groupType === "consumer")).toBe(true);
    const simple = all.groups!.find((g) => g.groupId === "simple-5")!;
    expect([simple.protocolType, simple.groupState, simple.groupType]).toEqual(["", "Empty", "classic"]);
    const d = await describeGroup("never-heard-of");
    expect([d.errorCode, d.groupState]).toEqual([0, "Dead"]);
    expect((await c.send(ListGroups, 0, { statesFilter: [], typesFilter: [] })).groups!.length).toBe(
      all.groups!.length,
    );
  });
});

describe("persistence and bounded state", () => {
  test("committed offsets and group metadata survive a restart on the same store", async () => {
    const store = memoryLogStore();
    const cfg = { ...CONFIG, "group.min.session.timeout.ms": 1000 };
    let b = await testBroker(cfg, { store });
    let x = await WireClient.connect(b.port);
    await x.send(CreateTopics, 7, {
      topics: [{ name: "p", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
      validateOnly: false,
    });
    const j = await joinFully(x, "g-persist", { session: 5000 });
    await sync(x, "g-persist", j.memberId!, j.generationId!, [{
      memberId: j.memberId!,
      assignment: new Uint8Array([4, 2]),
    }]);
    expect(codes(await commit(x, "g-persist", j.generationId!, j.memberId!, [["p", 0, 42n], ["p", 1, 7n]], 9, "kept")))
      .toEqual([0, 0]);
    expect(codes(await commit(x, "g-simple", -1, "", [["p", 0, 3n]]))).toEqual([0]);
    expect(codes(await commit(x, "g-gone", -1, "", [["p", 0, 3n]]))).toEqual([0]);
    expect((await x.send(DeleteGroups, 2, { groupsNames: ["g-gone"] })).results![0].errorCode).toBe(0);
    x.close();
    await b.close();

    b = await testBroker(cfg, { store });
    x = await WireClient.connect(b.port);
    // Topics are not yet persisted by the broker (cluster metadata log); recreate it on the same data.
    await x.send(CreateTopics, 7, {
      topics: [{ name: "p", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
      validateOnly: false,
    });
    const f = await x.send(OffsetFetch, 7, { groupId: "g-persist", topics: null, groups: [], requireStable: false });
    expect(f.topics![0].partitions!.map((p) => [p.committedOffset, p.metadata])).toEqual([[42n, "kept"], [7n, "kept"]]);
    const d = (await x.send(DescribeGroups, 5, { groups: ["g-persist", "g-gone"], includeAuthorizedOperations: false }))
      .groups!;
    expect(d[0].groupState).toBe("Stable");
    expect(d[0].members!.map((m) => m.memberId)).toEqual([j.memberId!]);
    expect([...d[0].members![0].memberAssignment!]).toEqual([4, 2]);
    expect(d[1].groupState).toBe("Dead");
    // The restored member carries on with its generation.
    expect(await hb(x, "g-persist", j.memberId!, j.generationId!)).toBe(0);
    const s = await sync(x, "g-persist", j.memberId!, j.generationId!);
    expect([...s.assignment!]).toEqual([4, 2]);
    expect(
      (await x.send(OffsetFetch, 1, {
        groupId: "g-simple",
        topics: [{ name: "p", partitionIndexes: [0] }],
        groups: [],
        requireStable: false,
      })).topics![0].partitions![0].committedOffset,
    ).toBe(3n);
    x.close();
    await b.close();
    await store.close();
  });

  test("10k groups churning: state stays bounded and expired groups are removed", async () => {
    const b = await testBroker({ ...CONFIG, "offsets.retention.minutes": 0 });
    const x = await WireClient.connect(b.port);
    await x.send(CreateTopics, 7, {
      topics: [{ name: "churn", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
      validateOnly: false,
    });
    const groups = b.services.groups;
    let peak = 0;
    for (let round = 0; round < 20; round++) {
      await Promise.all(Array.from({ length: 500 }, async (_, i) => {
        const g = `churn-${round}-${i}`;
        // Half go through the MEMBER_ID_REQUIRED handshake only and never come back.
        if (i % 2 === 0) {
          await join(x, g, { session: 200 });
          return;
        }
        const j = await join(x, g, { version: 3 });
        await sync(x, g, j.memberId!, j.generationId!);
        await commit(x, g, j.generationId!, j.memberId!, [["churn", 0, 1n]]);
        await x.send(LeaveGroup, 3, {
          groupId: g,
          memberId: "",
          members: [{ memberId: j.memberId!, groupInstanceId: null, reason: null }],
        });
      }));
      await groups.cleanup();
      peak = Math.max(peak, groups.groups.size);
      // Pending member ids live for their 200 ms session: with rounds at least 50 ms apart, at
      // most five rounds' 250 pending groups overlap, whatever the machine's speed.
      await Bun.sleep(50);
    }
    await Bun.sleep(250); // pending member ids expire after their session timeout
    await groups.cleanup();
    expect(peak).toBeLessThanOrEqual(1500);
    expect(groups.groups.size).toBe(0);
    x.close();
    await b.close();
  }, 120_000); // CPU-bound; npm test runs it beside other files
});
