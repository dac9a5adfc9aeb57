// CreatePartitions, DescribeCluster, DescribeTopicPartitions, OffsetForLeaderEpoch, log dirs,
// elections, reassignments, features and client quotas at the protocol level.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { ApiVersions } from "../../src/protocol/messages/18_api_versions.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { OffsetForLeaderEpoch } from "../../src/protocol/messages/23_offset_for_leader_epoch.ts";
import { AlterReplicaLogDirs } from "../../src/protocol/messages/34_alter_replica_log_dirs.ts";
import { DescribeLogDirs } from "../../src/protocol/messages/35_describe_log_dirs.ts";
import { CreatePartitions } from "../../src/protocol/messages/37_create_partitions.ts";
import { ElectLeaders } from "../../src/protocol/messages/43_elect_leaders.ts";
import { AlterPartitionReassignments } from "../../src/protocol/messages/45_alter_partition_reassignments.ts";
import { ListPartitionReassignments } from "../../src/protocol/messages/46_list_partition_reassignments.ts";
import { DescribeClientQuotas } from "../../src/protocol/messages/48_describe_client_quotas.ts";
import { AlterClientQuotas } from "../../src/protocol/messages/49_alter_client_quotas.ts";
import { UpdateFeatures } from "../../src/protocol/messages/57_update_features.ts";
import { DescribeCluster } from "../../src/protocol/messages/60_describe_cluster.ts";
import { DescribeTopicPartitions } from "../../src/protocol/messages/75_describe_topic_partitions.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";

let broker: Broker;
let c: WireClient;
const enc = new TextEncoder();

async function create(name: string, numPartitions: number) {
  const r = await c.send(CreateTopics, 7, {
    topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  expect(r.topics![0].errorCode).toBe(0);
}

beforeAll(async () => {
  broker = await testBroker();
  c = await WireClient.connect(broker.port);
  await create("a-three", 3);
  await create("b-two", 2);
  await create("c-one", 1);
  const records = buildRecordBatch({
    records: [0, 1, 2, 3, 4].map((i) => ({ key: null, value: enc.encode(`v${i}`), timestamp: 1000 + i })),
  });
  const p = await c.send(Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 1000,
    topicData: [{ name: "c-one", topicId: ZERO_UUID, partitionData: [{ index: 0, records }] }],
  });
  expect(p.responses![0].partitionResponses![0].errorCode).toBe(0);
});
afterAll(async () => {
  c.close();
  await broker.close();
});

describe("CreatePartitions", () => {
  const cp = (
    topics: { name: string; count: number; assignments: { brokerIds: number[] }[] | null }[],
    validateOnly = false,
    v = 3,
  ) => c.send(CreatePartitions, v, { topics, timeoutMs: 1000, validateOnly });
  test("increases, with and without assignments; validateOnly changes nothing", async () => {
    await create("grow", 1);
    let r = await cp([{ name: "grow", count: 4, assignments: null }], true);
    expect(r.results![0].errorCode).toBe(0);
    expect(broker.services.topics.get("grow")!.partitions.length).toBe(1);
    r = await cp([{ name: "grow", count: 2, assignments: null }], false, 0);
    expect(r.results).toEqual([{ name: "grow", errorCode: 0, errorMessage: null }]);
    r = await cp([{ name: "grow", count: 4, assignments: [{ brokerIds: [0] }, { brokerIds: [0] }] }]);
    expect(r.results![0].errorCode).toBe(0);
    expect(broker.services.topics.get("grow")!.partitions.length).toBe(4);
  });
  test("bad input: same or lower count, wrong assignments, unknown topic, duplicates, too many", async () => {
    const r = await cp([
      { name: "grow", count: 4, assignments: null },
      { name: "a-three", count: 2, assignments: null },
      { name: "b-two", count: 4, assignments: [{ brokerIds: [0] }] },
      { name: "c-one", count: 2, assignments: [{ brokerIds: [1] }] },
      { name: "nope", count: 2, assignments: null },
      { name: "dup", count: 2, assignments: null },
      { name: "dup", count: 3, assignments: null },
      { name: "grow", count: 2_000_000_000, assignments: null },
    ]);
    expect(r.results!.map((x) => x.errorCode)).toEqual([
      ErrorCode.INVALID_REQUEST, // "grow" is named twice
      ErrorCode.INVALID_PARTITIONS,
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
    ]);
    const one = await cp([{ name: "grow", count: 4, assignments: null }]);
    expect(one.results![0]).toEqual({
      name: "grow",
      errorCode: ErrorCode.INVALID_PARTITIONS,
      errorMessage: "Topic already has 4 partition(s).",
    });
    const lower = await cp([{ name: "a-three", count: 2, assignments: null }]);
    expect(lower.results![0].errorMessage).toBe(
      "The topic a-three currently has 3 partition(s); 2 would not be an increase.",
    );
    const big = await cp([{ name: "c-one", count: 2_000_000_000, assignments: null }]);
    expect(big.results![0].errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
  });
});

describe("DescribeCluster", () => {
  test("v0 and v1", async () => {
    for (const v of [0, 1]) {
      const r = await c.send(DescribeCluster, v, {
        includeClusterAuthorizedOperations: true,
        includeFencedBrokers: false,
        endpointType: 1,
      });
      expect(r.errorCode).toBe(0);
      expect(r.clusterId).toBe(broker.services.clusterId);
      expect(r.controllerId).toBe(0);
      expect(r.brokers).toEqual([{ brokerId: 0, host: "127.0.0.1", port: broker.port, rack: null, isFenced: false }]);
      expect(r.clusterAuthorizedOperations).toBeGreaterThan(0);
    }
    const ctl = await c.send(DescribeCluster, 1, {
      includeClusterAuthorizedOperations: false,
      includeFencedBrokers: false,
      endpointType: 2,
    });
    expect(ctl.errorCode).toBe(ErrorCode.MISMATCHED_ENDPOINT_TYPE);
    const bad = await c.send(DescribeCluster, 1, {
      includeClusterAuthorizedOperations: false,
      includeFencedBrokers: false,
      endpointType: 9,
    });
    expect(bad.errorCode).toBe(ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);
  });
});

describe("DescribeTopicPartitions", () => {
  const dtp = (names: string[], limit: number, cursor: { topicName: string; partitionIndex: number } | null = null) =>
    c.send(DescribeTopicPartitions, 0, {
      topics: names.map((name) => ({ name })),
      responsePartitionLimit: limit,
      cursor,
    });
  test("pages through named topics with the cursor", async () => {
    const names = ["c-one", "a-three", "b-two"];
    const seen: string[] = [];
    let cursor: { topicName: string; partitionIndex: number } | null = null;
    for (let i = 0; i < 10; i++) {
      const r = await dtp(names, 2, cursor);
      for (const t of r.topics!) for (const p of t.partitions!) seen.push(`${t.name}-${p.partitionIndex}`);
      cursor = r.nextCursor
        ? { topicName: r.nextCursor.topicName!, partitionIndex: r.nextCursor.partitionIndex! }
        : null;
      if (!cursor) break;
    }
    expect(seen).toEqual(["a-three-0", "a-three-1", "a-three-2", "b-two-0", "b-two-1", "c-one-0"]);
  });
  test("a page ending at a topic's end points at the next topic's partition 0", async () => {
    const r = await dtp(["a-three", "b-two"], 3);
    expect(r.topics!.map((t) => t.name)).toEqual(["a-three"]);
    expect(r.nextCursor).toEqual({ topicName: "b-two", partitionIndex: 0 });
  });
  test("all topics, ids and unknown names", async () => {
    const r = await dtp([], 2000);
    const byName = new Map(r.topics!.map((t) => [t.name, t]));
    expect(byName.get("b-two")!.topicId).toBe(broker.services.topics.get("b-two")!.id);
    expect(byName.get("b-two")!.partitions![0]).toEqual(
      expect.objectContaining({
        leaderId: 0,
        leaderEpoch: 0,
        replicaNodes: [0],
        isrNodes: [0],
        eligibleLeaderReplicas: [],
        lastKnownElr: [],
      }),
    );
    expect(r.nextCursor).toBe(null);
    const u = await dtp(["missing", "bad/name"], 10);
    expect(u.topics!.map((t) => [t.name, t.errorCode])).toEqual([["bad/name", ErrorCode.INVALID_TOPIC_EXCEPTION], [
      "missing",
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]]);
    const bad = await dtp(["a-three"], 10, { topicName: "b-two", partitionIndex: 0 });
    expect(bad.topics!.map((t) => t.errorCode)).toEqual([ErrorCode.INVALID_REQUEST]);
  });
});

describe("OffsetForLeaderEpoch", () => {
  test("epoch 0 ends at the log end offset; later epochs are undefined; current epoch is checked", async () => {
    for (const v of [0, 1, 2, 3, 4]) {
      const r = await c.send(OffsetForLeaderEpoch, v, {
        replicaId: -1,
        topics: [{
          topic: "c-one",
          partitions: [
            { partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 },
            { partition: 0, currentLeaderEpoch: -1, leaderEpoch: 3 },
            { partition: 0, currentLeaderEpoch: -1, leaderEpoch: -1 },
            { partition: 7, currentLeaderEpoch: -1, leaderEpoch: 0 },
          ],
        }, { topic: "unknown", partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }],
      });
      const ps = r.topics![0].partitions!;
      expect([ps[0].errorCode, ps[0].endOffset]).toEqual([0, 5n]);
      expect([ps[1].errorCode, ps[1].endOffset]).toEqual([0, -1n]);
      expect(ps[2].endOffset).toBe(-1n);
      expect(ps[3].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      expect(r.topics![1].partitions![0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      if (v >= 1) {
        expect(ps[0].leaderEpoch).toBe(0);
        expect(ps[1].leaderEpoch).toBe(-1);
      }
    }
    const fenced = await c.send(OffsetForLeaderEpoch, 4, {
      replicaId: -1,
      topics: [{ topic: "c-one", partitions: [{ partition: 0, currentLeaderEpoch: 1, leaderEpoch: 0 }] }],
    });
    expect(fenced.topics![0].partitions![0].errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
  });
});

describe("log dirs", () => {
  test("DescribeLogDirs: partition sizes", async () => {
    for (const v of [0, 1, 2, 3, 4]) {
      const r = await c.send(DescribeLogDirs, v, { topics: null });
      expect(r.results!.length).toBe(1);
      const dir = r.results![0];
      expect(dir.errorCode).toBe(0);
      const one = dir.topics!.find((t) => t.name === "c-one")!;
      expect(one.partitions![0].partitionSize).toBeGreaterThan(0n);
      expect(one.partitions![0].partitionSize).toBe(
        BigInt(broker.services.topics.get("c-one")!.partitions[0].sizeInBytes),
      );
    }
    const some = await c.send(DescribeLogDirs, 4, {
      topics: [{ topic: "a-three", partitions: [1, 9] }, { topic: "nope", partitions: [0] }],
    });
    expect(some.results![0].topics).toEqual([{
      name: "a-three",
      partitions: [{ partitionIndex: 1, partitionSize: 0n, offsetLag: 0n, isFutureKey: false }],
    }]);
  });
  test("AlterReplicaLogDirs: our dir is a no-op, others are LOG_DIR_NOT_FOUND", async () => {
    const dir = (await c.send(DescribeLogDirs, 1, { topics: [] })).results![0].logDir!;
    const r = await c.send(AlterReplicaLogDirs, 2, {
      dirs: [
        { path: dir, topics: [{ name: "a-three", partitions: [0, 5] }] },
        { path: "/elsewhere", topics: [{ name: "b-two", partitions: [0] }] },
      ],
    });
    expect(r.results).toEqual([
      {
        topicName: "a-three",
        partitions: [{ partitionIndex: 0, errorCode: 0 }, {
          partitionIndex: 5,
          errorCode: ErrorCode.REPLICA_NOT_AVAILABLE,
        }],
      },
      { topicName: "b-two", partitions: [{ partitionIndex: 0, errorCode: ErrorCode.LOG_DIR_NOT_FOUND }] },
    ]);
  });
});

describe("elections and reassignments", () => {
  test("ElectLeaders: not needed on one node", async () => {
    for (const v of [0, 1, 2]) {
      const r = await c.send(ElectLeaders, v, {
        electionType: 0,
        topicPartitions: [{ topic: "a-three", partitions: [0, 9] }],
        timeoutMs: 1000,
      });
      expect(r.replicaElectionResults![0].partitionResult!.map((p) => p.errorCode)).toEqual([
        ErrorCode.ELECTION_NOT_NEEDED,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ]);
    }
    const all = await c.send(ElectLeaders, 2, { electionType: 1, topicPartitions: null, timeoutMs: 1000 });
    expect([all.errorCode, all.replicaElectionResults]).toEqual([0, []]);
  });
  test("AlterPartitionReassignments / ListPartitionReassignments", async () => {
    const r = await c.send(AlterPartitionReassignments, 0, {
      timeoutMs: 1000,
      allowReplicationFactorChange: true,
      topics: [{
        name: "a-three",
        partitions: [
          { partitionIndex: 0, replicas: [0] },
          { partitionIndex: 1, replicas: [0, 1] },
          { partitionIndex: 2, replicas: null },
          { partitionIndex: 7, replicas: [0] },
        ],
      }],
    });
    expect(r.errorCode).toBe(0);
    expect(r.responses![0].partitions!.map((p) => p.errorCode)).toEqual([
      0,
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
    const l = await c.send(ListPartitionReassignments, 0, { timeoutMs: 1000, topics: null });
    expect([l.errorCode, l.topics]).toEqual([0, []]);
  });
});

describe("features", () => {
  test("ApiVersions v3 lists supported and finalized features; UpdateFeatures changes them", async () => {
    const av = () => c.send(ApiVersions, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" });
    let r = await av();
    expect(r.supportedFeatures).toContainEqual({ name: "group.version", minVersion: 0, maxVersion: 1 });
    expect(r.supportedFeatures).toContainEqual({ name: "transaction.version", minVersion: 0, maxVersion: 2 });
    expect(r.finalizedFeatures).toEqual([{ name: "group.version", maxVersionLevel: 1, minVersionLevel: 1 }, {
      name: "transaction.version",
      maxVersionLevel: 2,
      minVersionLevel: 2,
    }]);
    const epoch = r.finalizedFeaturesEpoch!;
    let u = await c.send(UpdateFeatures, 1, {
      timeoutMs: 1000,
      featureUpdates: [{ feature: "group.version", maxVersionLevel: 0, allowDowngrade: false, upgradeType: 1 }],
      validateOnly: false,
    });
    expect(u.errorCode).toBe(ErrorCode.INVALID_UPDATE_VERSION);
    expect(u.results![0].errorMessage).toContain("Invalid update version 0 for feature group.version.");
    u = await c.send(UpdateFeatures, 0, {
      timeoutMs: 1000,
      featureUpdates: [{ feature: "group.version", maxVersionLevel: 0, allowDowngrade: true, upgradeType: 1 }],
      validateOnly: false,
    });
    expect(u.errorCode).toBe(0);
    r = await av();
    expect(r.finalizedFeatures).toEqual([{ name: "transaction.version", maxVersionLevel: 2, minVersionLevel: 2 }]);
    expect(r.finalizedFeaturesEpoch).toBe(epoch + 1n);
    u = await c.send(UpdateFeatures, 2, {
      timeoutMs: 1000,
      featureUpdates: [{ feature: "group.version", maxVersionLevel: 1, allowDowngrade: false, upgradeType: 1 }],
      validateOnly: false,
    });
    expect(u.errorCode).toBe(0);
    u = await c.send(UpdateFeatures, 2, {
      timeoutMs: 1000,
      featureUpdates: [{ feature: "no.such.feature", maxVersionLevel: 1, allowDowngrade: false, upgradeType: 1 }],
      validateOnly: false,
    });
    expect(u.errorCode).toBe(ErrorCode.INVALID_UPDATE_VERSION);
    u = await c.send(UpdateFeatures, 1, {
      timeoutMs: 1000,
      featureUpdates: [{ feature: "transaction.version", maxVersionLevel: 3, allowDowngrade: false, upgradeType: 1 }],
      validateOnly: true,
    });
    expect(u.errorCode).toBe(ErrorCode.INVALID_UPDATE_VERSION);
    expect((await av()).finalizedFeatures).toEqual([{ name: "group.version", maxVersionLevel: 1, minVersionLevel: 1 }, {
      name: "transaction.version",
      maxVersionLevel: 2,
      minVersionLevel: 2,
    }]);
  });
});

describe("client quotas", () => {
  test("alter, describe with filters, remove", async () => {
    const alter = (
      entity: { entityType: string; entityName: string | null }[],
      ops: { key: string; value: number; remove: boolean }[],
      validateOnly = false,
    ) => c.send(AlterClientQuotas, 1, { entries: [{ entity, ops }], validateOnly });
    expect(
      (await alter([{ entityType: "user", entityName: "alice" }], [{
        key: "producer_byte_rate",
        value: 1024,
        remove: false,
      }])).entries![0].errorCode,
    ).toBe(0);
    expect(
      (await alter([{ entityType: "user", entityName: null }, { entityType: "client-id", entityName: "app" }], [{
        key: "request_percentage",
        value: 12.5,
        remove: false,
      }])).entries![0].errorCode,
    ).toBe(0);
    expect(
      (await alter([{ entityType: "ip", entityName: "10.0.0.1" }], [{
        key: "connection_creation_rate",
        value: 5,
        remove: false,
      }])).entries![0].errorCode,
    ).toBe(0);
    expect(
      (await alter([{ entityType: "user", entityName: "bob" }], [{
        key: "consumer_byte_rate",
        value: 1,
        remove: false,
      }], true)).entries![0].errorCode,
    ).toBe(0);

    const describe = (components: { entityType: string; matchType: number; match: string | null }[], strict = false) =>
      c.send(DescribeClientQuotas, 0, { components, strict });
    let d = await describe([{ entityType: "user", matchType: 0, match: "alice" }]);
    expect(d.entries).toEqual([{
      entity: [{ entityType: "user", entityName: "alice" }],
      values: [{ key: "producer_byte_rate", value: 1024 }],
    }]);
    d = await describe([{ entityType: "user", matchType: 1, match: null }]);
    expect(d.entries!.length).toBe(1);
    d = await describe([{ entityType: "user", matchType: 1, match: null }], true);
    expect(d.entries).toEqual([]);
    d = await describe([]);
    expect(d.entries!.length).toBe(3);
    d = await describe([{ entityType: "user", matchType: 2, match: null }]);
    expect(d.entries!.map((e) => e.entity![0].entityName)).toEqual(["alice"]);

    const bad = await c.send(AlterClientQuotas, 0, {
      entries: [
        { entity: [], ops: [] },
        { entity: [{ entityType: "ip", entityName: "1.2.3.4" }, { entityType: "user", entityName: "x" }], ops: [] },
        { entity: [{ entityType: "user", entityName: "x" }], ops: [{ key: "nonsense", value: 1, remove: false }] },
        {
          entity: [{ entityType: "user", entityName: "x" }],
          ops: [{ key: "producer_byte_rate", value: 1.5, remove: false }],
        },
        { entity: [{ entityType: "ip", entityName: "not-an-ip" }], ops: [] },
        { entity: [{ entityType: "group", entityName: "x" }], ops: [] },
      ],
      validateOnly: false,
    });
    expect(bad.entries!.map((e) => e.errorCode)).toEqual([
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.UNSUPPORTED_VERSION,
    ]);
    for (const e of bad.entries!) expect(e.errorMessage).toBeTruthy();
    const badFilter = await describe([{ entityType: "user", matchType: 0, match: null }]);
    expect([badFilter.errorCode, badFilter.entries]).toEqual([ErrorCode.INVALID_REQUEST, null]);

    expect(
      (await alter([{ entityType: "user", entityName: "alice" }], [{
        key: "producer_byte_rate",
        value: 0,
        remove: true,
      }])).entries![0].errorCode,
    ).toBe(0);
    d = await describe([{ entityType: "user", matchType: 0, match: "alice" }]);
    expect(d.entries).toEqual([]);
  });
});

describe("reserved and illegal topic names", () => {
  test("CreateTopics: __cluster_metadata is reserved; illegal and over-long names are INVALID_TOPIC_EXCEPTION", async () => {
    const r = await c.send(CreateTopics, 7, {
      topics: ["__cluster_metadata", "has space", "x".repeat(250), ".."].map((name) => ({
        name,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      })),
      timeoutMs: 1000,
      validateOnly: false,
    });
    expect(r.topics!.map((t) => [t.errorCode, t.errorMessage])).toEqual([
      [ErrorCode.INVALID_REQUEST, "Creation of internal topic __cluster_metadata is prohibited."],
      [
        ErrorCode.INVALID_TOPIC_EXCEPTION,
        "Topic name has space is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'",
      ],
      [
        ErrorCode.INVALID_TOPIC_EXCEPTION,
        `Topic name is illegal, it can't be longer than 249 characters, topic name: ${"x".repeat(250)}`,
      ],
      [ErrorCode.INVALID_TOPIC_EXCEPTION, 'Topic name cannot be "." or ".."'],
    ]);
  });
});
