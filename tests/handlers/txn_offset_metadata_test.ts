// TxnOffsetCommit honours offset.metadata.max.bytes (issue #14.9): a partition whose metadata is
// longer gets OFFSET_METADATA_TOO_LARGE and is not staged, the others are; after EndTxn(commit) only
// those are committed. Raw requests over TCP through the wire client.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { InitProducerId } from "../../src/protocol/messages/22_init_producer_id.ts";
import { initProducerIdRequest } from "../helpers/requests.ts";
import { AddOffsetsToTxn } from "../../src/protocol/messages/25_add_offsets_to_txn.ts";
import { EndTxn } from "../../src/protocol/messages/26_end_txn.ts";
import { TxnOffsetCommit } from "../../src/protocol/messages/28_txn_offset_commit.ts";
import { OffsetFetch } from "../../src/protocol/messages/09_offset_fetch.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";

let broker: Broker;
let c: WireClient;

beforeAll(async () => {
  broker = await testBroker({ "offset.metadata.max.bytes": 100 });
  c = await WireClient.connect(broker.port);
  await c.send(CreateTopics, 7, {
    topics: [{ name: "tom", numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
    validateOnly: false,
  });
});
afterAll(async () => {
  c.close();
  await broker.close();
});

test("metadata over offset.metadata.max.bytes: OFFSET_METADATA_TOO_LARGE for that partition only", async () => {
  for (const version of [0, 3, 4]) {
    const tid = `tom-${version}`;
    const group = `gtom-${version}`;
    const init = await c.send(InitProducerId, 3, initProducerIdRequest(tid, 30000));
    const pid = init.producerId!;
    const epoch = init.producerEpoch!;
    const added = await c.send(AddOffsetsToTxn, 3, {
      transactionalId: tid,
      producerId: pid,
      producerEpoch: epoch,
      groupId: group,
    });
    expect(added.errorCode).toBe(0);
    const r = await c.send(TxnOffsetCommit, version, {
      transactionalId: tid,
      groupId: group,
      producerId: pid,
      producerEpoch: epoch,
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [{
        name: "tom",
        partitions: [
          { partitionIndex: 0, committedOffset: 5n, committedLeaderEpoch: -1, committedMetadata: "x".repeat(101) },
          { partitionIndex: 1, committedOffset: 6n, committedLeaderEpoch: -1, committedMetadata: "x".repeat(100) },
          // 34 characters, 102 UTF-8 bytes: the limit counts bytes, as OffsetCommit does.
          { partitionIndex: 2, committedOffset: 7n, committedLeaderEpoch: -1, committedMetadata: "\u20ac".repeat(34) },
        ],
      }],
    });
    expect(r.topics![0].partitions!.map((p) => p.errorCode)).toEqual([
      ErrorCode.OFFSET_METADATA_TOO_LARGE,
      ErrorCode.NONE,
      ErrorCode.OFFSET_METADATA_TOO_LARGE,
    ]);
    const end = await c.send(EndTxn, 3, {
      transactionalId: tid,
      producerId: pid,
      producerEpoch: epoch,
      committed: true,
    });
    expect(end.errorCode).toBe(0);
    const f = await c.send(OffsetFetch, 7, {
      groupId: group,
      topics: [{ name: "tom", partitionIndexes: [0, 1, 2] }],
      groups: [],
      requireStable: true,
    });
    expect(f.topics![0].partitions!.map((p) => p.committedOffset)).toEqual([-1n, 6n, -1n]);
  }
});

test("kafkajs sendOffsets with metadata over the limit fails with OFFSET_METADATA_TOO_LARGE", async () => {
  const { Kafka, logLevel } = await import("kafkajs");
  const k = new Kafka({ brokers: [`127.0.0.1:${broker.port}`], clientId: "tom-kjs", logLevel: logLevel.NOTHING });
  const producer = k.producer({ transactionalId: "tom-kjs", idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const tx = await producer.transaction();
    const err = await tx.sendOffsets({
      consumerGroupId: "gtom-kjs",
      topics: [{ topic: "tom", partitions: [{ partition: 0, offset: "3", metadata: "y".repeat(200) } as never] }],
    }).then(() => null, (e: { type?: string }) => e);
    expect(err?.type).toBe("OFFSET_METADATA_TOO_LARGE");
    await tx.abort();
    const ok = await producer.transaction();
    await ok.sendOffsets({
      consumerGroupId: "gtom-kjs",
      topics: [{ topic: "tom", partitions: [{ partition: 0, offset: "3" }] }],
    });
    await ok.commit();
    const f = await c.send(OffsetFetch, 7, {
      groupId: "gtom-kjs",
      topics: [{ name: "tom", partitionIndexes: [0] }],
      groups: [],
      requireStable: true,
    });
    expect(f.topics![0].partitions![0].committedOffset).toBe(3n);
  } finally {
    await producer.disconnect();
  }
}, 30_000);
