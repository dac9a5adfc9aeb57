// Share groups (KIP-932) and transactions over TCP: with the group config share.isolation.level=read_committed
// a share group never delivers an aborted transaction's records nor anything at or past the last stable
// offset (an open transaction holds back the records after it too, until it ends); read_uncommitted
// delivers every data record. Control records are never delivered.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { InitProducerId } from "../../src/protocol/messages/22_init_producer_id.ts";
import { initProducerIdRequest } from "../helpers/requests.ts";
import { AddPartitionsToTxn } from "../../src/protocol/messages/24_add_partitions_to_txn.ts";
import { EndTxn } from "../../src/protocol/messages/26_end_txn.ts";
import { IncrementalAlterConfigs } from "../../src/protocol/messages/44_incremental_alter_configs.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import { testBroker } from "../helpers/broker.ts";
import { acquired, enableShare, produceValues, shareFetch, shareHeartbeat } from "../helpers/share.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";

const enc = new TextEncoder();
let broker: Broker;
let c: WireClient;
let topicId = "";

beforeAll(async () => {
  broker = await testBroker();
  c = await WireClient.connect(broker.port);
  expect((await enableShare(c)).errorCode).toBe(ErrorCode.NONE);
  const r = await c.send(CreateTopics, 7, {
    topics: [{ name: "iso", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  topicId = r.topics![0].topicId!;
  for (const [group, level] of [["sg-rc", "read_committed"], ["sg-ru", "read_uncommitted"]]) {
    const a = await c.send(IncrementalAlterConfigs, 1, {
      resources: [{
        resourceType: 32,
        resourceName: group,
        configs: [
          { name: "share.auto.offset.reset", configOperation: 0, value: "earliest" },
          { name: "share.isolation.level", configOperation: 0, value: level },
        ],
      }],
      validateOnly: false,
    });
    expect(a.responses![0].errorCode).toBe(ErrorCode.NONE);
    expect((await shareHeartbeat(c, group, "M", 0, ["iso"])).errorCode).toBe(ErrorCode.NONE);
  }
});
afterAll(async () => {
  c.close();
  await broker.close();
});

/** A transaction of `values` on iso-0; resolves with a function that ends it (commit or abort). */
async function transaction(tid: string, values: string[]) {
  const init = await c.send(InitProducerId, 3, initProducerIdRequest(tid, 60000));
  const producerId = init.producerId!, producerEpoch = init.producerEpoch!;
  const add = await c.send(AddPartitionsToTxn, 3, {
    transactions: [],
    v3AndBelowTransactionalId: tid,
    v3AndBelowProducerId: producerId,
    v3AndBelowProducerEpoch: producerEpoch,
    v3AndBelowTopics: [{ name: "iso", partitions: [0] }],
  });
  expect(add.resultsByTopicV3AndBelow![0].resultsByPartition![0].partitionErrorCode).toBe(ErrorCode.NONE);
  const p = await c.send(Produce, 9, {
    transactionalId: tid,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{
      name: "iso",
      topicId: ZERO_UUID,
      partitionData: [{
        index: 0,
        records: buildRecordBatch({
          records: values.map((v) => ({ key: null, value: enc.encode(v) })),
          producerId,
          producerEpoch,
          baseSequence: 0,
          transactional: true,
        }),
      }],
    }],
  });
  expect(p.responses![0].partitionResponses![0].errorCode).toBe(ErrorCode.NONE);
  return async (committed: boolean) => {
    const e = await c.send(EndTxn, 3, { transactionalId: tid, producerId, producerEpoch, committed });
    expect(e.errorCode).toBe(ErrorCode.NONE);
  };
}

test("read_committed share groups skip aborted records and stop at the last stable offset", async () => {
  await produceValues(c, "iso", ["p0"]); // 0
  await (await transaction("t-abort", ["a1", "a2"]))(false); // 1-2, abort marker 3
  await produceValues(c, "iso", ["p1"]); // 4
  await (await transaction("t-commit", ["c1"]))(true); // 5, commit marker 6
  const open = await transaction("t-open", ["o1"]); // 7, open: the LSO stays at 7
  await produceValues(c, "iso", ["p2"]); // 8, past the LSO

  let epoch = 0;
  expect(acquired(await shareFetch(c, "sg-rc", "M", epoch++, topicId))).toEqual(["0-0x1", "4-5x1"]);
  expect(acquired(await shareFetch(c, "sg-rc", "M", epoch++, topicId))).toEqual([]);
  await open(true); // commit marker 9: the LSO moves to 10
  expect(acquired(await shareFetch(c, "sg-rc", "M", epoch++, topicId))).toEqual(["7-8x1"]);

  // read_uncommitted: every data record, the aborted ones too; never the markers.
  expect(acquired(await shareFetch(c, "sg-ru", "M", 0, topicId))).toEqual(["0-2x1", "4-5x1", "7-8x1"]);
});
