// Share groups (KIP-932) over TCP, the member's life around its records: a member whose session times
// out leaves the group but keeps its share session (as in Kafka), one whose connection drops gives its
// records back to the others at once; DeleteGroups and the
// share offsets APIs on share groups (NON_EMPTY_GROUP while members remain); a share group's id refused
// by JoinGroup, ConsumerGroupHeartbeat, Heartbeat, SyncGroup, LeaveGroup and OffsetCommit as Kafka's
// GroupMetadataManager refuses a group of another type; and the share-partition state stored as
// snapshots plus deltas (__share_group_state) rebuilt exactly after a restart.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Broker } from "../../src/broker/broker.ts";
import { forEachRecord } from "../../src/broker/log_scan.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";
import { OffsetCommit } from "../../src/protocol/messages/08_offset_commit.ts";
import { OffsetFetch } from "../../src/protocol/messages/09_offset_fetch.ts";
import { JoinGroup } from "../../src/protocol/messages/11_join_group.ts";
import { Heartbeat } from "../../src/protocol/messages/12_heartbeat.ts";
import { LeaveGroup } from "../../src/protocol/messages/13_leave_group.ts";
import { SyncGroup } from "../../src/protocol/messages/14_sync_group.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { DeleteGroups } from "../../src/protocol/messages/42_delete_groups.ts";
import { DescribeConfigs } from "../../src/protocol/messages/32_describe_configs.ts";
import { IncrementalAlterConfigs } from "../../src/protocol/messages/44_incremental_alter_configs.ts";
import { ConsumerGroupHeartbeat } from "../../src/protocol/messages/68_consumer_group_heartbeat.ts";
import { ShareGroupDescribe } from "../../src/protocol/messages/77_share_group_describe.ts";
import { DescribeShareGroupOffsets } from "../../src/protocol/messages/90_describe_share_group_offsets.ts";
import { DeleteShareGroupOffsets } from "../../src/protocol/messages/92_delete_share_group_offsets.ts";
import { testBroker } from "../helpers/broker.ts";
import {
  ACCEPT,
  ack,
  acquired,
  enableShare,
  produceValues,
  REJECT,
  RELEASE,
  shareAck,
  shareFetch,
  shareHeartbeat,
} from "../helpers/share.ts";
import { WireClient } from "../helpers/wire_client.ts";

let dir: string;
let broker: Broker;
let c: WireClient;
const ids = new Map<string, string>();
// Locks outlast every test: a record comes back only through what each test exercises.
const config = {
  "group.share.record.lock.duration.ms": 60000,
  "group.share.min.session.timeout.ms": 100,
  "share.coordinator.snapshot.update.records.per.snapshot": 3,
};

async function topic(name: string, records: number) {
  const r = await c.send(CreateTopics, 7, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  ids.set(name, r.topics![0].topicId!);
  await produceValues(c, name, [...Array(records)].map((_, i) => `m${i}`));
}

async function groupConfigs(group: string, configs: Record<string, string>) {
  const r = await c.send(IncrementalAlterConfigs, 1, {
    resources: [{
      resourceType: 32,
      resourceName: group,
      configs: Object.entries(configs).map(([name, value]) => ({ name, configOperation: 0, value })),
    }],
    validateOnly: false,
  });
  expect(r.responses![0].errorCode).toBe(ErrorCode.NONE);
}

/** Fetches as `member` (heartbeating too) until it acquires something; bounded, not timed. */
async function fetchUntilAcquired(group: string, member: string, topicName: string, epoch: { session: number }) {
  let memberEpoch = -1;
  for (let i = 0; i < 200; i++) {
    const hb = await shareHeartbeat(c, group, member, memberEpoch < 0 ? 0 : memberEpoch, [topicName]);
    expect(hb.errorCode).toBe(ErrorCode.NONE);
    memberEpoch = hb.memberEpoch!;
    const f = await shareFetch(c, group, member, epoch.session++, ids.get(topicName)!, { maxWaitMs: 100 });
    expect(f.errorCode).toBe(ErrorCode.NONE);
    if (acquired(f).length > 0) return acquired(f);
  }
  throw new Error(`${member} never acquired anything`);
}

const members = async (group: string) =>
  (await c.send(ShareGroupDescribe, 1, { groupIds: [group], includeAuthorizedOperations: false })).groups![0]
    .members!.map((m) => m.memberId).sort();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "chronik-share-life-"));
  broker = await testBroker({ dataDir: dir, ...config });
  c = await WireClient.connect(broker.port);
  expect((await enableShare(c)).errorCode).toBe(ErrorCode.NONE);
});
afterAll(async () => {
  c.close();
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("share group members", () => {
  test("a member whose session times out leaves the group but keeps its share session, as in Kafka", async () => {
    await topic("life-t", 5);
    // Long enough for A's heartbeat and fetch to land within it on a loaded machine (npm test runs files in parallel).
    await groupConfigs("sg-t", { "share.auto.offset.reset": "earliest", "share.session.timeout.ms": "2000" });
    expect((await shareHeartbeat(c, "sg-t", "A", 0, ["life-t"])).errorCode).toBe(ErrorCode.NONE);
    expect(acquired(await shareFetch(c, "sg-t", "A", 0, ids.get("life-t")!))).toEqual(["0-4x1"]);
    // A goes silent; B keeps heartbeating until A is out of the group (bounded, not timed).
    let memberEpoch = 0;
    for (let i = 0; i < 100; i++) {
      const hb = await shareHeartbeat(c, "sg-t", "B", memberEpoch, ["life-t"]);
      expect(hb.errorCode).toBe(ErrorCode.NONE);
      memberEpoch = hb.memberEpoch!;
      if ((await members("sg-t")).join() === "B") break;
      await Bun.sleep(100);
    }
    expect(await members("sg-t")).toEqual(["B"]);
    // A's records were not taken from it: through its share session it still accepts three and releases two
    // (Kafka's share-partition leaders know nothing of group membership; records go back at lock expiry, at
    // the session's close or with its connection).
    const acks = await shareAck(c, "sg-t", "A", 1, ids.get("life-t")!, [ack(0, 2, ACCEPT), ack(3, 4, RELEASE)]);
    expect(acks.errorCode).toBe(ErrorCode.NONE);
    expect(acks.responses![0].partitions![0].errorCode).toBe(ErrorCode.NONE);
    expect(await fetchUntilAcquired("sg-t", "B", "life-t", { session: 0 })).toEqual(["3-4x2"]);
  });

  test("a consumer whose connection drops gives its records back at once", async () => {
    await topic("life-k", 5);
    await groupConfigs("sg-k", { "share.auto.offset.reset": "earliest" });
    const k = await WireClient.connect(broker.port);
    expect((await shareHeartbeat(k, "sg-k", "K", 0, ["life-k"])).errorCode).toBe(ErrorCode.NONE);
    expect(acquired(await shareFetch(k, "sg-k", "K", 0, ids.get("life-k")!))).toEqual(["0-4x1"]);
    // A second ShareFetch waits (nothing left to acquire) when the connection drops: the release must not
    // wake it into taking the records back for the dead member.
    void shareFetch(k, "sg-k", "K", 1, ids.get("life-k")!, { maxWaitMs: 600_000 }).catch(() => {});
    await shareHeartbeat(c, "sg-k", "B", 0, ["life-k"]); // a round trip elsewhere: the fetch above is parked
    k.close(); // killed: the TCP connection drops, no leave, no close of the share session
    await k.closed;
    expect(await fetchUntilAcquired("sg-k", "B", "life-k", { session: 0 })).toEqual(["0-4x2"]);
    // K is still a member (its session timeout is 45 s): the records came back with the connection.
    expect(await members("sg-k")).toEqual(["B", "K"]);
  });

  test("a ShareFetch whose session ended while it acquired gives back what it took, not what the new session took", async () => {
    await topic("life-s0", 1);
    await topic("life-s1", 1);
    await groupConfigs("sg-s", { "share.auto.offset.reset": "earliest" });
    expect((await shareHeartbeat(c, "sg-s", "M", 0, ["life-s0", "life-s1"])).errorCode).toBe(ErrorCode.NONE);
    const share = broker.services.share;
    const [t0, t1] = [ids.get("life-s0")!, ids.get("life-s1")!];
    const p0 = { topicId: t0, partition: 0 };
    const p1 = { topicId: t1, partition: 0 };
    // M's first session acquires from life-s1, whose read is held back until the session has been replaced.
    const log1 = broker.services.topics.get("life-s1")!.partitions[0];
    const read = log1.read.bind(log1);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => open = resolve);
    log1.read = async (...args: Parameters<typeof read>) => {
      await gate;
      return read(...args);
    };
    const s1 = await share.session("sg-s", "M", 0, [p0, p1], [], 9001);
    if ("errorCode" in s1) throw new Error(s1.errorMessage ?? "no session");
    const first = share.acquire("sg-s", "M", [p1], 10, 1 << 20, s1);
    // Its connection drops; the consumer comes back with a new session, which acquires from life-s0.
    share.connectionClosed(9001);
    const s2 = await share.session("sg-s", "M", 0, [p0], [], 9002);
    if ("errorCode" in s2) throw new Error(s2.errorMessage ?? "no session");
    const second = await share.acquire("sg-s", "M", [p0], 10, 1 << 20, s2);
    expect(second[0].acquired).toEqual([{ firstOffset: 0, lastOffset: 0, deliveryCount: 1 }]);
    open();
    expect((await first)[0].acquired).toEqual([]); // the dead session's records go back...
    delete (log1 as { read?: unknown }).read;
    // ...but the new session still holds what it acquired: M can acknowledge it.
    const acked = await share.acknowledge("sg-s", "M", [{
      topicId: t0,
      partitions: [{
        partitionIndex: 0,
        acknowledgementBatches: [{ firstOffset: 0n, lastOffset: 0n, acknowledgeTypes: [ACCEPT] }],
      }],
    }]);
    expect(acked.get(`${t0}:0`)).toBe(ErrorCode.NONE);
    // And what the dead session took from life-s1 is available again (delivered once already).
    const again = await share.acquire("sg-s", "M", [p1], 10, 1 << 20, s2);
    expect(again[0].acquired).toEqual([{ firstOffset: 0, lastOffset: 0, deliveryCount: 2 }]);
  });

  test("members fetching at once never acquire the same record", async () => {
    await topic("life-c", 0);
    for (let i = 0; i < 20; i++) await produceValues(c, "life-c", [`a${i}`, `b${i}`]); // 20 batches: reads await
    await groupConfigs("sg-c", { "share.auto.offset.reset": "earliest" });
    const other = await WireClient.connect(broker.port);
    await shareHeartbeat(c, "sg-c", "X", 0, ["life-c"]);
    await shareHeartbeat(c, "sg-c", "Y", 0, ["life-c"]);
    const t = ids.get("life-c")!;
    const [x, y] = await Promise.all([
      shareFetch(c, "sg-c", "X", 0, t, { maxRecords: 25 }),
      shareFetch(other, "sg-c", "Y", 0, t, { maxRecords: 25 }),
    ]);
    other.close();
    const offsets = [x, y].flatMap((r) =>
      (r.responses?.[0]?.partitions?.[0]?.acquiredRecords ?? []).flatMap((a) =>
        [...Array(Number(a.lastOffset! - a.firstOffset!) + 1)].map((_, i) => Number(a.firstOffset) + i)
      )
    );
    expect(offsets.sort((a, b) => a - b)).toEqual([...Array(40).keys()]);
  });

  test("a waiting ShareFetch wakes when another member releases records", async () => {
    await topic("life-w", 3);
    await groupConfigs("sg-w", { "share.auto.offset.reset": "earliest" });
    const t = ids.get("life-w")!;
    const other = await WireClient.connect(broker.port);
    await shareHeartbeat(c, "sg-w", "A", 0, ["life-w"]);
    await shareHeartbeat(c, "sg-w", "B", 0, ["life-w"]);
    expect(acquired(await shareFetch(c, "sg-w", "A", 0, t))).toEqual(["0-2x1"]);
    // B waits far longer than the test may run: only the release can answer it.
    const waiting = shareFetch(other, "sg-w", "B", 0, t, { maxWaitMs: 600_000 });
    await shareAck(c, "sg-w", "A", 1, t, [ack(0, 2, RELEASE)]);
    expect(acquired(await waiting)).toEqual(["0-2x2"]);
    other.close();
  });

  test("Kafka 4.2's group configs share.delivery.count.limit and share.partition.max.record.locks", async () => {
    await topic("life-g", 6);
    const alter = (name: string, value: string) =>
      c.send(IncrementalAlterConfigs, 1, {
        resources: [{ resourceType: 32, resourceName: "sg-g", configs: [{ name, configOperation: 0, value }] }],
        validateOnly: false,
      });
    // Within the range of their broker configs: 2-10 deliveries, at least one lock.
    for (
      const [name, value] of [["share.delivery.count.limit", "1"], ["share.delivery.count.limit", "11"], [
        "share.partition.max.record.locks",
        "0",
      ]]
    ) expect((await alter(name, value)).responses![0].errorCode).toBe(ErrorCode.INVALID_CONFIG);
    await groupConfigs("sg-g", {
      "share.auto.offset.reset": "earliest",
      "share.delivery.count.limit": "2",
      "share.partition.max.record.locks": "3",
    });
    const d = await c.send(DescribeConfigs, 4, {
      resources: [{ resourceType: 32, resourceName: "sg-g", configurationKeys: null }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const value = (name: string) => d.results![0].configs!.find((x) => x.name === name)?.value;
    expect([value("share.delivery.count.limit"), value("share.partition.max.record.locks")]).toEqual(["2", "3"]);
    const t = ids.get("life-g")!;
    expect((await shareHeartbeat(c, "sg-g", "A", 0, ["life-g"])).errorCode).toBe(ErrorCode.NONE);
    // Three locks: three records in flight at most (the broker's limit is 2000).
    expect(acquired(await shareFetch(c, "sg-g", "A", 0, t))).toEqual(["0-2x1"]);
    expect(acquired(await shareFetch(c, "sg-g", "A", 1, t, { acks: [ack(0, 2, RELEASE)] }))).toEqual(["0-2x2"]);
    // Released after their second delivery (the group's limit; the broker's is 5): archived, never delivered again.
    expect(acquired(await shareFetch(c, "sg-g", "A", 2, t, { acks: [ack(0, 2, RELEASE)] }))).toEqual(["3-5x1"]);
  });

  test("the classic-group APIs, ConsumerGroupHeartbeat and OffsetCommit refuse a share group's id", async () => {
    const join = await c.send(JoinGroup, 9, {
      groupId: "sg-k",
      sessionTimeoutMs: 10000,
      rebalanceTimeoutMs: 10000,
      memberId: "",
      groupInstanceId: null,
      protocolType: "consumer",
      protocols: [{ name: "range", metadata: new Uint8Array() }],
      reason: null,
    });
    expect(join.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect(join.memberId).toBe("");
    const hb = await c.send(ConsumerGroupHeartbeat, 1, {
      groupId: "sg-k",
      memberId: "C",
      memberEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: 10000,
      subscribedTopicNames: ["life-k"],
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: [],
    });
    expect(hb.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    expect(hb.errorMessage).toBe("Group sg-k is not a consumer group.");
    // Kafka's classicGroupHeartbeat / classicGroupSync / classicGroupLeave: "Group sg-k not found." (UNKNOWN_MEMBER_ID).
    const beat = await c.send(Heartbeat, 4, { groupId: "sg-k", generationId: 1, memberId: "K", groupInstanceId: null });
    expect(beat.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const sync = await c.send(SyncGroup, 5, {
      groupId: "sg-k",
      generationId: 1,
      memberId: "K",
      groupInstanceId: null,
      protocolType: "consumer",
      protocolName: "range",
      assignments: [],
    });
    expect(sync.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const leave = await c.send(LeaveGroup, 5, {
      groupId: "sg-k",
      memberId: "",
      members: [{ memberId: "K", groupInstanceId: null, reason: null }],
    });
    expect(leave.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    // OffsetCommit, even a "simple" one (generation -1): GROUP_ID_NOT_FOUND, nothing stored under the share group's id.
    for (const [generation, member] of [[-1, ""], [1, "K"]] as const) {
      const commit = await c.send(OffsetCommit, 9, {
        groupId: "sg-k",
        generationIdOrMemberEpoch: generation,
        memberId: member,
        groupInstanceId: null,
        retentionTimeMs: -1n,
        topics: [{
          name: "life-k",
          topicId: ZERO_UUID,
          partitions: [{
            partitionIndex: 0,
            committedOffset: 3n,
            committedLeaderEpoch: -1,
            commitTimestamp: -1n,
            committedMetadata: null,
          }],
        }],
      });
      expect(commit.topics![0].partitions![0].errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    }
    const fetched = await c.send(OffsetFetch, 7, {
      groupId: "sg-k",
      topics: [{ name: "life-k", partitionIndexes: [0] }],
      groups: [],
      requireStable: false,
    });
    expect(fetched.topics![0].partitions![0].committedOffset).toBe(-1n);
    // The share group carries on.
    expect(await members("sg-k")).toEqual(["B", "K"]);
  });

  test("DeleteGroups and the share offsets APIs: refused while members remain, then state and group go", async () => {
    const describe = async (topics: { topicName: string; partitions: number[] }[] | null = null) =>
      (await c.send(DescribeShareGroupOffsets, 0, { groups: [{ groupId: "sg-k", topics }] })).groups![0];
    const deleteOffsets = (groupId: string, names: string[]) =>
      c.send(DeleteShareGroupOffsets, 0, { groupId, topics: names.map((topicName) => ({ topicName })) });
    const deleteGroups = async (names: string[]) =>
      (await c.send(DeleteGroups, 2, { groupsNames: names })).results!.map((r) => r.errorCode);

    expect(await deleteGroups(["sg-k"])).toEqual([ErrorCode.NON_EMPTY_GROUP]);
    expect((await deleteOffsets("sg-k", ["life-k"])).errorCode).toBe(ErrorCode.NON_EMPTY_GROUP);
    for (const m of ["B", "K"]) expect((await shareHeartbeat(c, "sg-k", m, -1, null)).errorCode).toBe(ErrorCode.NONE);
    // B held 0-4 when it left: released, the start offset stays at 0.
    const before = await describe();
    expect(before.errorCode).toBe(ErrorCode.NONE);
    expect(before.topics!.map((t) => [t.topicName, t.partitions![0].startOffset])).toEqual([["life-k", 0n]]);

    const del = await deleteOffsets("sg-k", ["life-k", "no-such-topic"]);
    expect(del.errorCode).toBe(ErrorCode.NONE);
    expect(del.responses!.map((r) => r.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    expect((await describe()).topics).toEqual([]);
    expect((await describe([{ topicName: "life-k", partitions: [0] }])).topics![0].partitions![0].startOffset)
      .toBe(-1n);

    expect(await deleteGroups(["sg-k", "sg-never"])).toEqual([ErrorCode.NONE, ErrorCode.GROUP_ID_NOT_FOUND]);
    expect((await describe()).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    expect((await deleteOffsets("sg-k", ["life-k"])).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
  });
});

describe("share-partition state storage", () => {
  test("in-flight states and delivery counts survive a restart (snapshots and deltas replayed)", async () => {
    await topic("life-r", 12);
    await groupConfigs("sg-r", { "share.auto.offset.reset": "earliest" });
    const t = ids.get("life-r")!;
    await shareHeartbeat(c, "sg-r", "A", 0, ["life-r"]);
    await shareHeartbeat(c, "sg-r", "B", 0, ["life-r"]);
    expect(acquired(await shareFetch(c, "sg-r", "A", 0, t, { maxRecords: 6 }))).toEqual(["0-5x1"]);
    expect(acquired(await shareFetch(c, "sg-r", "B", 0, t))).toEqual(["6-11x1"]);
    // More writes than share.coordinator.snapshot.update.records.per.snapshot (3): deltas, a new
    // snapshot, deltas again.
    const ok = (r: Awaited<ReturnType<typeof shareAck>>) =>
      expect(r.responses![0].partitions![0].errorCode).toBe(ErrorCode.NONE);
    ok(await shareAck(c, "sg-r", "A", 1, t, [ack(0, 2, ACCEPT, RELEASE, REJECT)]));
    ok(await shareAck(c, "sg-r", "B", 1, t, [ack(6, 6, RELEASE), ack(7, 7, ACCEPT), ack(9, 9, ACCEPT)]));
    const f = await shareFetch(c, "sg-r", "A", 2, t, { acks: [ack(3, 3, ACCEPT)] });
    expect(acquired(f)).toEqual(["1-1x2", "6-6x2"]);
    ok(await shareAck(c, "sg-r", "A", 3, t, [ack(1, 1, RELEASE)]));
    ok(await shareAck(c, "sg-r", "B", 2, t, [ack(8, 8, ACCEPT)]));
    ok(await shareAck(c, "sg-r", "A", 4, t, [ack(4, 4, RELEASE)]));
    ok(await shareAck(c, "sg-r", "A", 5, t, [ack(5, 5, REJECT)]));
    const before = broker.services.share.stateOf("sg-r", t, 0);
    // Held: A has 6 (x2), B has 10-11 (x1); 1 and 4 are available (x2, x1); 0 2 3 5 7 8 9 are done.
    expect(before).toEqual({
      startOffset: 1,
      endOffset: 12,
      runs: [[1, 1, 0, 2], [2, 2, 4, 1], [3, 3, 2, 1], [4, 4, 0, 1], [5, 5, 4, 1], [6, 6, 0, 2], [7, 9, 2, 1], [
        10,
        11,
        0,
        1,
      ]],
    });

    // What was stored: two snapshot rounds (the first write and after three deltas), deltas after each.
    const kinds: string[] = [];
    await forEachRecord(broker.services.topics.get("__share_group_state")!.partitions[0], (r) => {
      const key = new TextDecoder().decode(r.key!);
      if (key.includes("\u0000sg-r\u0000") && key[0] !== "g") kinds.push(key[0]);
    }, (e) => {
      throw e;
    });
    expect(kinds.join("")).toBe("puuupuu");

    c.close();
    await broker.close();
    broker = await testBroker({ dataDir: dir, ...config });
    c = await WireClient.connect(broker.port);
    expect(broker.services.share.stateOf("sg-r", t, 0)).toEqual(before);
    // Held records came back available, each delivered once more now.
    expect((await shareHeartbeat(c, "sg-r", "A", 0, ["life-r"])).errorCode).toBe(ErrorCode.NONE);
    expect(acquired(await shareFetch(c, "sg-r", "A", 0, t))).toEqual(["1-1x3", "4-4x2", "6-6x3", "10-11x2"]);
  });
});
