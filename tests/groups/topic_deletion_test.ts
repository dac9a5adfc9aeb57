// Deleting a topic deletes the groups' committed offsets of it (Kafka's onPartitionsDeleted), and
// they stay deleted after a restart. Deleted internal topics come back on the next write.
import { expect, test } from "bun:test";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { DeleteTopics } from "../../src/protocol/messages/20_delete_topics.ts";
import { OffsetCommit } from "../../src/protocol/messages/08_offset_commit.ts";
import { OffsetFetch } from "../../src/protocol/messages/09_offset_fetch.ts";
import { InitProducerId } from "../../src/protocol/messages/22_init_producer_id.ts";
import { initProducerIdRequest } from "../helpers/requests.ts";
import { memoryLogStore } from "../../src/storage/memory.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";

test("offsets of a deleted topic are deleted", async () => {
  const store = memoryLogStore();
  let b = await testBroker({}, { store });
  let c = await WireClient.connect(b.port);
  const create = (name: string) =>
    c.send(CreateTopics, 7, {
      topics: [{ name, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
      validateOnly: false,
    });
  await create("gone");
  await create("kept");
  const commit = await c.send(OffsetCommit, 8, {
    groupId: "g",
    generationIdOrMemberEpoch: -1,
    memberId: "",
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: ["gone", "kept"].map((name) => ({
      name,
      topicId: ZERO_UUID,
      partitions: [0, 1].map((partitionIndex) => ({
        partitionIndex,
        committedOffset: 5n,
        committedLeaderEpoch: -1,
        commitTimestamp: -1n,
        committedMetadata: "",
      })),
    })),
  });
  expect(commit.topics!.flatMap((t) => t.partitions!.map((p) => p.errorCode))).toEqual([0, 0, 0, 0]);
  await c.send(DeleteTopics, 6, {
    topics: [{ name: "gone", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }],
    topicNames: [],
    timeoutMs: 1000,
  });
  const fetchAll = () =>
    c.send(OffsetFetch, 7, { groupId: "g", topics: null, groups: [], requireStable: false }).then((r) =>
      r.topics!.map((t) => t.name)
    );
  expect(await fetchAll()).toEqual(["kept"]);
  c.close();
  await b.close();
  // The deletion is on record in __consumer_offsets: a restart on the same store keeps it.
  b = await testBroker({}, { store });
  c = await WireClient.connect(b.port);
  expect(await fetchAll()).toEqual(["kept"]);
  c.close();
  await b.close();
});

test("deleting __consumer_offsets or __transaction_state: they are created again on the next write, as Kafka does", async () => {
  const b = await testBroker();
  const c = await WireClient.connect(b.port);
  try {
    await c.send(CreateTopics, 7, {
      topics: [{ name: "t", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
      validateOnly: false,
    });
    const del = await c.send(DeleteTopics, 6, {
      topics: [{ name: "__consumer_offsets", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }, {
        name: "__transaction_state",
        topicId: "AAAAAAAAAAAAAAAAAAAAAA",
      }],
      topicNames: [],
      timeoutMs: 1000,
    });
    expect(del.responses!.map((r) => r.errorCode)).toEqual([0, 0]);
    const commit = await c.send(OffsetCommit, 8, {
      groupId: "g2",
      generationIdOrMemberEpoch: -1,
      memberId: "",
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [{
        name: "t",
        topicId: ZERO_UUID,
        partitions: [{
          partitionIndex: 0,
          committedOffset: 3n,
          committedLeaderEpoch: -1,
          commitTimestamp: -1n,
          committedMetadata: "",
        }],
      }],
    });
    expect(commit.topics![0].partitions![0].errorCode).toBe(0);
    expect(b.services.topics.get("__consumer_offsets")).toBeDefined();
    const init = await c.send(InitProducerId, 4, initProducerIdRequest("tx-recreated", 10000));
    expect(init.errorCode).toBe(0);
    expect(b.services.topics.get("__transaction_state")!.partitions[0].logEndOffset).toBeGreaterThan(0);
    expect(b.lines.some((l) => l.startsWith("warn") && l.includes("was deleted; created it again"))).toBe(true);
  } finally {
    c.close();
    await b.close();
  }
});
