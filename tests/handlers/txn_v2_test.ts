// Transactions v2 (KIP-890 part 2, transaction.version 2) over TCP: Produce v12 adds partitions and
// TxnOffsetCommit v5 adds the group without AddPartitionsToTxn / AddOffsetsToTxn; every EndTxn v5
// bumps the epoch, fencing the old one, and a retry with the old epoch answers the new one.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { ApiVersions } from "../../src/protocol/messages/18_api_versions.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { InitProducerId } from "../../src/protocol/messages/22_init_producer_id.ts";
import { initProducerIdRequest } from "../helpers/requests.ts";
import { EndTxn } from "../../src/protocol/messages/26_end_txn.ts";
import { TxnOffsetCommit } from "../../src/protocol/messages/28_txn_offset_commit.ts";
import { OffsetFetch } from "../../src/protocol/messages/09_offset_fetch.ts";
import { ListOffsets } from "../../src/protocol/messages/02_list_offsets.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";

const enc = new TextEncoder();
let broker: Broker;
let c: WireClient;

beforeAll(async () => {
  broker = await testBroker({});
  c = await WireClient.connect(broker.port);
  await c.send(CreateTopics, 7, {
    topics: [{ name: "tv2", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
    validateOnly: false,
  });
});
afterAll(async () => {
  c.close();
  await broker.close();
});

const txnBatch = (value: string, producerId: bigint, producerEpoch: number, baseSequence: number) =>
  buildRecordBatch({
    records: [{ key: null, value: enc.encode(value) }],
    producerId,
    producerEpoch,
    baseSequence,
    transactional: true,
  });

async function produce(version: number, partition: number, records: Uint8Array) {
  const r = await c.send(Produce, version, {
    transactionalId: "t2",
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: "tv2", topicId: ZERO_UUID, partitionData: [{ index: partition, records }] }],
  });
  return r.responses![0].partitionResponses![0];
}

const end = (producerId: bigint, producerEpoch: number, committed: boolean) =>
  c.send(EndTxn, 5, { transactionalId: "t2", producerId, producerEpoch, committed });

async function lso(partition: number) {
  const r = await c.send(ListOffsets, 7, {
    replicaId: -1,
    isolationLevel: 1,
    timeoutMs: 5000,
    topics: [{
      name: "tv2",
      partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }],
    }],
  });
  return r.topics![0].partitions![0].offset;
}

describe("transactions v2", () => {
  test("ApiVersions finalizes transaction.version 2", async () => {
    const r = await c.send(ApiVersions, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" });
    expect(r.finalizedFeatures).toContainEqual({ name: "transaction.version", maxVersionLevel: 2, minVersionLevel: 2 });
    expect(r.apiKeys!.find((k) => k.apiKey === 26)!.maxVersion).toBe(5);
  });

  test("implicit adds, an epoch bump per EndTxn, retries and fencing", async () => {
    const init = await c.send(InitProducerId, 5, initProducerIdRequest("t2", 30000));
    expect(init.errorCode).toBe(ErrorCode.NONE);
    const pid = init.producerId!;
    const e0 = init.producerEpoch!;
    // Produce v11 without AddPartitionsToTxn is still refused (part 1's verification).
    expect((await produce(11, 0, txnBatch("x", pid, e0, 0))).errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
    // v12 adds the partition itself.
    expect((await produce(12, 0, txnBatch("a", pid, e0, 0))).errorCode).toBe(ErrorCode.NONE);
    expect((await produce(12, 1, txnBatch("b", pid, e0, 0))).errorCode).toBe(ErrorCode.NONE);
    // TxnOffsetCommit v5 adds the group itself.
    const oc = await c.send(TxnOffsetCommit, 5, {
      transactionalId: "t2",
      groupId: "g2",
      producerId: pid,
      producerEpoch: e0,
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [{
        name: "tv2",
        partitions: [{ partitionIndex: 0, committedOffset: 7n, committedLeaderEpoch: -1, committedMetadata: "" }],
      }],
    });
    expect(oc.topics![0].partitions![0].errorCode).toBe(ErrorCode.NONE);
    expect(await lso(0)).toBe(0n); // open transaction
    const committed = await end(pid, e0, true);
    expect(committed).toMatchObject({ errorCode: ErrorCode.NONE, producerId: pid, producerEpoch: e0 + 1 });
    expect(await lso(0)).toBe(2n); // record + marker
    const offsets = await c.send(OffsetFetch, 8, {
      groupId: "",
      topics: [],
      groups: [{
        groupId: "g2",
        memberId: null,
        memberEpoch: -1,
        topics: [{ name: "tv2", topicId: ZERO_UUID, partitionIndexes: [0] }],
      }],
      requireStable: true,
    });
    expect(offsets.groups![0].topics![0].partitions![0].committedOffset).toBe(7n);
    // A retry of the same EndTxn with the old epoch answers the new epoch; the opposite outcome does not.
    expect(await end(pid, e0, true)).toMatchObject({ errorCode: ErrorCode.NONE, producerEpoch: e0 + 1 });
    expect((await end(pid, e0, false)).errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
    // The old epoch is fenced on the partitions by the markers.
    expect((await produce(12, 0, txnBatch("zombie", pid, e0, 1))).errorCode).not.toBe(ErrorCode.NONE);
    // The next transaction runs at the new epoch, sequences from 0, and an abort bumps again.
    expect((await produce(12, 0, txnBatch("c", pid, e0 + 1, 0))).errorCode).toBe(ErrorCode.NONE);
    expect(await end(pid, e0 + 1, false)).toMatchObject({ errorCode: ErrorCode.NONE, producerEpoch: e0 + 2 });
    expect((await end(pid, e0, true)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
  });

  test("pipelined Produce v12 requests keep their order while the first adds the partition", async () => {
    const init = await c.send(InitProducerId, 5, initProducerIdRequest("t2-pipe", 30000));
    const pid = init.producerId!;
    const send = (seq: number) =>
      c.send(Produce, 12, {
        transactionalId: "t2-pipe",
        acks: -1,
        timeoutMs: 5000,
        topicData: [{
          name: "tv2",
          topicId: ZERO_UUID,
          partitionData: [{ index: 1, records: txnBatch(`p${seq}`, pid, 0, seq) }],
        }],
      });
    // Not awaited in between: the second arrives while the first waits for the implicit add to be stored.
    const [a, b] = await Promise.all([send(0), send(1)]);
    expect(a.responses![0].partitionResponses![0].errorCode).toBe(ErrorCode.NONE);
    expect(b.responses![0].partitionResponses![0].errorCode).toBe(ErrorCode.NONE);
    expect(b.responses![0].partitionResponses![0].baseOffset).toBe(
      a.responses![0].partitionResponses![0].baseOffset! + 1n,
    );
    expect((await end(pid, 0, true)).errorCode).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING); // "t2" is another id
  });
});
